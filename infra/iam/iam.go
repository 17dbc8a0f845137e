// Package iam reads each function's role from template.yaml and plays IAM with it
// locally: Guard refuses on the wire every AWS call a role would not allow (DynamoDB
// Local, local-kms and the SES emulator check no permission, so without it a function
// could make a call its role lacks and only fail on AWS), and records which part of the
// role each allowed call used. The roles are the template's, never a table kept by hand:
// TestPolicies checks that this reading is what the SAM transform deploys, and the
// gateway's tests (TestRolesAreExact) that every function uses every part of its role,
// so a role allows exactly the calls its function makes.
package iam

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"tokengate/infra/samtemplate"
)

// Resources a grant names.
const (
	Table = "table"  // the TokensTable
	Key   = "key"    // the PepperKey
	SES   = "ses"    // SES identities (sending as NOTIFICATION_SENDER)
	Index = "index/" // + index name
	// SESConfigurationSet is the EmailConfigurationSet every mail is sent through.
	SESConfigurationSet = "ses-configuration-set"
)

// Grant is one statement of a role, for one action and one resource: the
// dynamodb:LeadingKeys patterns every partition key must match (nil: no such
// condition), and the other condition keys with the value each must equal.
type Grant struct {
	Action    string
	Resource  string
	Keys      []string
	Condition map[string]string
}

// Roles are the grants of each function's role, by logical id.
type Roles map[string][]Grant

// FromTemplate reads every function's role from t. params resolve a condition's Ref to a
// parameter (ses:FromAddress is NotificationSender's value); a Ref without a value is
// kept as "Ref:<name>", which no call matches.
func FromTemplate(t *samtemplate.Template, params map[string]string) (Roles, error) {
	out := Roles{}
	for _, fn := range t.Functions {
		g, err := FromStatements(t.Policies[fn], params)
		if err != nil {
			return nil, fmt.Errorf("role of %s: %w", fn, err)
		}
		out[fn] = g
	}
	return out, nil
}

// FromStatements reads policy statements (template.yaml's, or the SAM transform's).
func FromStatements(stmts []json.RawMessage, params map[string]string) ([]Grant, error) {
	var out []Grant
	for _, raw := range stmts {
		var st struct {
			Effect    string
			Action    any
			Resource  json.RawMessage
			Condition map[string]map[string]any
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, err
		}
		if st.Effect != "Allow" {
			return nil, fmt.Errorf("only Allow statements are read: %s", raw)
		}
		var keys []string
		cond := map[string]string{}
		for op, kv := range st.Condition {
			for k, v := range kv {
				switch {
				case k == "dynamodb:LeadingKeys":
					if op != "ForAllValues:StringLike" {
						return nil, fmt.Errorf("dynamodb:LeadingKeys must be ForAllValues:StringLike, not %s", op)
					}
					keys = strs(v)
				case op == "StringEquals":
					cond[k] = value(v, params)
				default:
					return nil, fmt.Errorf("condition %s %s is not read", op, k)
				}
			}
		}
		var resources []json.RawMessage
		if err := json.Unmarshal(st.Resource, &resources); err != nil {
			resources = []json.RawMessage{st.Resource}
		}
		for _, r := range resources {
			name, err := ResourceName(r)
			if err != nil {
				return nil, err
			}
			for _, a := range strs(st.Action) {
				if strings.Contains(a, "*") {
					return nil, fmt.Errorf("wildcard action %s", a)
				}
				out = append(out, Grant{Action: a, Resource: name, Keys: keys, Condition: cond})
			}
		}
	}
	return out, nil
}

var (
	tableArn  = regexp.MustCompile(`^\{"Fn::GetAtt":(\["TokensTable","Arn"\]|"TokensTable\.Arn")\}$`)
	keyArn    = regexp.MustCompile(`^\{"Fn::GetAtt":(\["PepperKey","Arn"\]|"PepperKey\.Arn")\}$`)
	indexArn  = regexp.MustCompile(`^\{"Fn::Sub":"\$\{TokensTable\.Arn\}/index/([A-Za-z0-9]+)"\}$`)
	sesArn    = regexp.MustCompile(`^\{"Fn::Sub":"arn:\$\{AWS::Partition\}:ses:\$\{AWS::Region\}:\$\{AWS::AccountId\}:identity/\*"\}$`)
	configArn = regexp.MustCompile(`^\{"Fn::Sub":"arn:\$\{AWS::Partition\}:ses:\$\{AWS::Region\}:\$\{AWS::AccountId\}:configuration-set/\$\{EmailConfigurationSet\}"\}$`)
)

// ResourceName names a policy resource the way Grant does.
func ResourceName(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	b, _ := json.Marshal(v) // compact
	s := string(b)
	switch {
	case tableArn.MatchString(s):
		return Table, nil
	case keyArn.MatchString(s):
		return Key, nil
	case indexArn.MatchString(s):
		return Index + indexArn.FindStringSubmatch(s)[1], nil
	case sesArn.MatchString(s):
		return SES, nil
	case configArn.MatchString(s):
		return SESConfigurationSet, nil
	}
	return "", fmt.Errorf("unexpected policy resource %s", s)
}

func value(v any, params map[string]string) string {
	if m, ok := v.(map[string]any); ok {
		if ref, ok := m["Ref"].(string); ok {
			if p, ok := params[ref]; ok {
				return p
			}
			return "Ref:" + ref
		}
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// Need is what one AWS call needs a role to allow: IAM authorizes each such need of a
// request (a transaction item by item) on its own.
type Need struct {
	Action    string
	Resource  string
	Keys      []string          // partition keys of the items (or of the index) it reads or writes
	Condition map[string]string // the request's condition values (kms:EncryptionContext:…, ses:FromAddress)
}

// allow finds the grant of fn's role that allows n, and the pattern each key matched.
func (r Roles) allow(fn string, n Need) (Grant, []string, bool) {
	for _, g := range r[fn] {
		if g.Action != n.Action || g.Resource != n.Resource {
			continue
		}
		matched, ok := matchAll(g.Keys, n.Keys)
		if !ok {
			continue
		}
		condOK := true
		for k, v := range g.Condition {
			condOK = condOK && n.Condition[k] == v
		}
		if condOK {
			return g, matched, true
		}
	}
	return Grant{}, nil, false
}

// Allows reports whether fn's role allows n.
func (r Roles) Allows(fn string, n Need) bool {
	_, _, ok := r.allow(fn, n)
	return ok
}

// Uses reports whether fn's role names an action of service at all.
func (r Roles) Uses(fn, service string) bool {
	for _, g := range r[fn] {
		if strings.HasPrefix(g.Action, service+":") {
			return true
		}
	}
	return false
}

// Units are fn's role as the smallest parts a call can use: one per action, resource,
// LeadingKeys pattern and condition. TestRolesAreExact compares them with those used.
func (r Roles) Units(fn string) []string {
	var out []string
	for _, g := range r[fn] {
		if g.Keys == nil {
			out = append(out, unit(g, ""))
		}
		for _, k := range g.Keys {
			out = append(out, unit(g, k))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func unit(g Grant, key string) string {
	conds := make([]string, 0, len(g.Condition))
	for k, v := range g.Condition {
		conds = append(conds, k+"="+v)
	}
	sort.Strings(conds)
	s := g.Action + " " + g.Resource
	if key != "" {
		s += " keys " + key
	}
	if len(conds) > 0 {
		s += " if " + strings.Join(conds, ",")
	}
	return s
}

// matchAll reports whether every key matches one of patterns (ForAllValues:StringLike),
// and which pattern each matched; patterns nil: no condition, anything matches.
func matchAll(patterns, keys []string) ([]string, bool) {
	if patterns == nil {
		return nil, true
	}
	var matched []string
	for _, k := range keys {
		ok := false
		for _, p := range patterns {
			// IAM's StringLike: * and ? wildcards, as path.Match has them for keys without "/".
			if m, _ := path.Match(p, k); m {
				matched, ok = append(matched, p), true
				break
			}
		}
		if !ok {
			return nil, false
		}
	}
	return matched, true
}
