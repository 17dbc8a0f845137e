// Package iam is the table of the AWS calls each function makes, which is what its role
// in template.yaml must allow and nothing more: TestPolicies checks the transformed
// template against it, and Guard enforces it on the wire in the tests, so a function
// that makes a call its role does not allow fails locally as it would on AWS.
package iam

import (
	"path"
	"slices"
)

// Resources a grant names.
const (
	Table = "table" // the TokensTable
	Key   = "key"   // the PepperKey
	SES   = "ses"   // SES identities (sending as NOTIFICATION_SENDER)
	// SESConfigurationSet is the EmailConfigurationSet every mail is sent through.
	SESConfigurationSet = "ses-configuration-set"
	Index               = "index/" // + index name
)

// Grant is one allowed action on one resource; Keys are the dynamodb:LeadingKeys
// patterns the partition keys must match (nil: any, as for an index or a service).
type Grant struct {
	Action   string
	Resource string
	Keys     []string
}

func grants(actions []string, resource string, keys ...string) []Grant {
	out := make([]Grant, 0, len(actions))
	for _, a := range actions {
		out = append(out, Grant{Action: a, Resource: resource, Keys: keys})
	}
	return out
}

func join(gs ...[]Grant) []Grant { return slices.Concat(gs...) }

var (
	// pepper: read the sealed pepper versions at cold start and decrypt them; nothing
	// at run time creates one (the bootstrap command does, with its own credentials).
	pepper = join(grants([]string{"dynamodb:Query"}, Table, "PEPPER"), grants([]string{"kms:Decrypt"}, Key))
	// write: a token change is a TransactWriteItems of an UpdateItem of the token and a
	// PutItem of its audit record; the rules read the token and principals.
	write = join(
		grants([]string{"dynamodb:GetItem"}, Table, "TOKEN#*", "PRINCIPAL#*"),
		grants([]string{"dynamodb:UpdateItem"}, Table, "TOKEN#*"),
		grants([]string{"dynamodb:PutItem"}, Table, "AUDIT#*"),
	)
	principalWrite = grants([]string{"dynamodb:GetItem", "dynamodb:PutItem"}, Table, "PRINCIPAL#*")
	// enrollment: a principal (created here or already there) is sent a one-time secret,
	// stored only as a keyed hash (ENROLL#), made the principal's current one (ENROLLFOR#)
	// with its audit record, in one transaction.
	enrollment = join(
		grants([]string{"dynamodb:GetItem"}, Table, "PRINCIPAL#*", "ENROLL#*", "ENROLLFOR#*", "AUDIT#*"),
		grants([]string{"dynamodb:PutItem"}, Table, "PRINCIPAL#*", "ENROLL#*", "ENROLLFOR#*", "AUDIT#*"),
		pepper, sendMail)
	sendMail = join(grants([]string{"ses:SendEmail"}, SES), grants([]string{"ses:SendEmail"}, SESConfigurationSet))
)

// Calls are the calls of every function of template.yaml, by logical id.
var Calls = map[string][]Grant{
	"AuthorizerFunction": join(
		grants([]string{"dynamodb:GetItem", "dynamodb:BatchGetItem"}, Table, "TOKEN#*", "PRINCIPAL#*"),
		grants([]string{"dynamodb:UpdateItem"}, Table, "TOKEN#*", "RATE#*"),
		pepper),
	// A new token is one TransactWriteItems: a PutItem of the token (only if its id is
	// new), a ConditionCheck that its owner principal is unchanged, and a PutItem of its
	// audit record. The owner is read only for a token of another principal, or after it
	// changed.
	"CreateTokenFunction": join(
		grants([]string{"dynamodb:GetItem", "dynamodb:ConditionCheckItem"}, Table, "PRINCIPAL#*"),
		grants([]string{"dynamodb:PutItem"}, Table, "TOKEN#*", "AUDIT#*"),
		pepper),
	"RotateTokenFunction":  join(write, pepper),
	"UpdateTokenFunction":  write,
	"DisableTokenFunction": write,
	"EnableTokenFunction":  write,
	"RevokeTokenFunction":  write,
	"ApproveTokenFunction": write,
	"RejectTokenFunction":  write,
	"EmergencyOnFunction":  write,
	"EmergencyOffFunction": write,
	"ListTokensFunction": join(
		grants([]string{"dynamodb:Query"}, Index+"byOwner"), grants([]string{"dynamodb:Query"}, Index+"byCreated"),
		grants([]string{"dynamodb:GetItem"}, Table, "PRINCIPAL#*")),
	"SelfTokenFunction":    grants([]string{"dynamodb:GetItem"}, Table, "TOKEN#*"),
	"GetTokenFunction":     grants([]string{"dynamodb:GetItem"}, Table, "TOKEN#*"),
	"AlertsFunction":       grants([]string{"dynamodb:Query"}, Index+"byExpiry"),
	"TokenHistoryFunction": join(grants([]string{"dynamodb:GetItem"}, Table, "TOKEN#*"), grants([]string{"dynamodb:Query"}, Table, "AUDIT#*")),
	"AuditLogFunction": join(grants([]string{"dynamodb:Query"}, Table, "AUDIT#*"),
		grants([]string{"dynamodb:Query"}, Index+"byOwner"), grants([]string{"dynamodb:Query"}, Index+"byCreated")),
	"ListApprovalsFunction": grants([]string{"dynamodb:Query"}, Index+"byExpiry"),
	"ReportLeakedFunction": join(
		grants([]string{"dynamodb:GetItem"}, Table, "TOKEN#*", "PRINCIPAL#*"),
		grants([]string{"dynamodb:UpdateItem"}, Table, "TOKEN#*", "RATE#*"),
		grants([]string{"dynamodb:PutItem"}, Table, "AUDIT#*"),
		pepper, sendMail),
	"NotifierFunction": join(
		grants([]string{"dynamodb:Query"}, Index+"byExpiry"),
		grants([]string{"dynamodb:UpdateItem"}, Table, "TOKEN#*"),
		grants([]string{"dynamodb:GetItem"}, Table, "PRINCIPAL#*"),
		sendMail),
	"ListPrincipalsFunction":  grants([]string{"dynamodb:Query"}, Index+"byCreated"),
	"GetPrincipalFunction":    grants([]string{"dynamodb:GetItem"}, Table, "PRINCIPAL#*"),
	"CreatePrincipalFunction": enrollment,
	"SendEnrollmentFunction":  enrollment,
	// POST /enroll: counts tries per address (RATE#), reads the secret's hash (ENROLL#),
	// marks it used while checking it is still the principal's current one (ENROLLFOR#),
	// and mints the principal's first token with its audit record.
	"EnrollFunction": join(
		grants([]string{"dynamodb:GetItem"}, Table, "TOKEN#*", "PRINCIPAL#*", "ENROLL#*"),
		grants([]string{"dynamodb:UpdateItem"}, Table, "TOKEN#*", "ENROLL#*", "RATE#*"),
		grants([]string{"dynamodb:ConditionCheckItem"}, Table, "ENROLLFOR#*"),
		grants([]string{"dynamodb:PutItem"}, Table, "AUDIT#*"),
		pepper),
	"ConsoleFunction":         nil, // embedded files: no AWS call at all
	"UpdatePrincipalFunction": principalWrite,
	"DeletePrincipalFunction": grants([]string{"dynamodb:GetItem", "dynamodb:DeleteItem"}, Table, "PRINCIPAL#*"),
	"ListScopesFunction":      nil, // the catalog file beside bootstrap: no AWS call at all
	"ListRolesFunction":       nil,
	"DemoEchoFunction":        nil,
}

// Allows reports whether fn may call action on resource with the given partition keys
// (every one must match a pattern, as ForAllValues:StringLike requires).
func Allows(fn, action, resource string, keys []string) bool {
	for _, g := range Calls[fn] {
		if g.Action != action || g.Resource != resource {
			continue
		}
		if matchAll(g.Keys, keys) {
			return true
		}
	}
	return false
}

// Uses reports whether fn may call a service at all (its role names the action prefix).
func Uses(fn, service string) bool {
	for _, g := range Calls[fn] {
		if len(g.Action) > len(service) && g.Action[:len(service)+1] == service+":" {
			return true
		}
	}
	return false
}

func matchAll(patterns, keys []string) bool {
	if patterns == nil {
		return true
	}
	for _, k := range keys {
		ok := false
		for _, p := range patterns {
			// IAM's StringLike: * and ? wildcards, as path.Match has them for keys without "/".
			if m, _ := path.Match(p, k); m {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
