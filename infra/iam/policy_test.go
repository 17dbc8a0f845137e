package iam

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/infra/samtemplate"
)

var (
	transformOnce sync.Once
	transformed   map[string]json.RawMessage
	transformErr  error
	// transformedOutputs are the template's outputs after the transform.
	transformedOutputs map[string]json.RawMessage
)

// transformOutputs are template.yaml's outputs after the SAM transform.
func transformOutputs(t *testing.T) map[string]json.RawMessage {
	transform(t)
	return transformedOutputs
}

// transform runs the SAM translator (aws-sam-translator, installed with cfn-lint) on
// template.yaml, as CloudFormation will at deploy time, with the given parameters.
func transform(t *testing.T, params ...string) map[string]json.RawMessage {
	t.Helper()
	run := func() (map[string]json.RawMessage, error) {
		args := append([]string{"../sam/transform.py", "../../template.yaml"}, params...)
		out, err := exec.Command("python3", args...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errorsAs(err, &ee) {
				return nil, fmt.Errorf("sam transform: %w: %s", err, ee.Stderr)
			}
			return nil, fmt.Errorf("sam transform (python3 with aws-sam-translator; make test installs cfn-lint, which brings it): %w", err)
		}
		var doc struct{ Resources, Outputs map[string]json.RawMessage }
		if err := json.Unmarshal(out, &doc); err != nil {
			return nil, err
		}
		if len(params) == 0 {
			transformedOutputs = doc.Outputs
		}
		return doc.Resources, nil
	}
	if len(params) > 0 {
		r, err := run()
		require.NoError(t, err)
		return r
	}
	transformOnce.Do(func() { transformed, transformErr = run() })
	require.NoError(t, transformErr)
	return transformed
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// TestPolicies: every function's role, as the SAM transform deploys it, is the role
// FromTemplate reads from template.yaml (which Guard enforces and TestRolesAreExact
// compares with the calls each function makes); every DynamoDB grant is limited by
// dynamodb:LeadingKeys, the key decrypts only under the pepper's encryption context, and
// no role may create a pepper.
func TestPolicies(t *testing.T) {
	res := transform(t)
	seen := 0
	local := templateRoles(t)
	fromTemplate, err := FromTemplate(templateOnly(t), nil)
	require.NoError(t, err)
	for id, raw := range res {
		var r struct{ Type string }
		require.NoError(t, json.Unmarshal(raw, &r))
		if r.Type != "AWS::Lambda::Function" {
			continue
		}
		seen++
		var role struct {
			Properties struct {
				Policies []struct {
					PolicyDocument struct{ Statement []json.RawMessage }
				}
			}
		}
		require.NoError(t, json.Unmarshal(res[id+"Role"], &role), "role of %s", id)
		var stmts []json.RawMessage
		for _, p := range role.Properties.Policies {
			stmts = append(stmts, p.PolicyDocument.Statement...)
		}
		deployed, err := FromStatements(stmts, nil)
		require.NoError(t, err, id)
		require.ElementsMatch(t, normalise(fromTemplate[id]), normalise(deployed), "%s: the deployed role differs from template.yaml's as read here", id)
		for _, g := range deployed {
			require.NotEqual(t, "kms:GenerateDataKey", g.Action, "%s: no runtime role creates peppers", id)
			if strings.HasPrefix(g.Action, "dynamodb:") {
				require.NotEmpty(t, g.Keys, "%s: %s on %s is limited by dynamodb:LeadingKeys", id, g.Action, g.Resource)
			}
			if g.Action == "kms:Decrypt" {
				require.Equal(t, map[string]string{"kms:EncryptionContext:app": "tokengate", "kms:EncryptionContext:purpose": "token-pepper"}, g.Condition,
					"%s: the key decrypts only the pepper (its encryption context)", id)
			}
			if strings.HasPrefix(g.Action, "ses:") {
				require.Equal(t, map[string]string{"ses:FromAddress": "Ref:NotificationSender"}, g.Condition, "%s: mail only as NOTIFICATION_SENDER", id)
			}
		}
	}
	require.Equal(t, len(local), seen, "every function of the template")
}

// templateOnly is template.yaml as samtemplate reads it.
func templateOnly(t *testing.T) *samtemplate.Template {
	tmpl, err := samtemplate.Load("../../template.yaml")
	require.NoError(t, err)
	return tmpl
}

func normalise(gs []Grant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		k := slices.Clone(g.Keys)
		slices.Sort(k)
		out = append(out, unit(Grant{Action: g.Action, Resource: g.Resource, Condition: g.Condition}, strings.Join(k, ",")))
	}
	return out
}

// TestOneStagePerAPI: each REST API is deployed to its StageName only, and that stage
// carries the throttling. SAM adds a stage named "Stage" (without MethodSettings) unless
// the template sets OpenApiVersion: a way around every throttle, /leaked-tokens' included.
func TestOneStagePerAPI(t *testing.T) {
	res := transform(t)
	stages := map[string][]string{} // RestApiId's Ref -> stage names
	for id, raw := range res {
		var r struct {
			Type       string
			Properties struct {
				RestApiID      map[string]string `json:"RestApiId"`
				StageName      any
				MethodSettings []map[string]any
			}
		}
		require.NoError(t, json.Unmarshal(raw, &r))
		switch r.Type {
		case "AWS::ApiGateway::Deployment":
			require.Nil(t, r.Properties.StageName, "%s: a deployment with a StageName is a second stage", id)
		case "AWS::ApiGateway::Stage":
			api := r.Properties.RestApiID["Ref"]
			stages[api] = append(stages[api], fmt.Sprint(r.Properties.StageName))
			require.NotEmpty(t, r.Properties.MethodSettings, "%s: the stage is throttled", id)
			for _, m := range r.Properties.MethodSettings {
				require.NotNil(t, m["ThrottlingRateLimit"], "%s: %v", id, m)
			}
		}
	}
	require.Equal(t, map[string][]string{"Api": {"map[Ref:StageName]"}, "DemoApi": {"map[Ref:StageName]"}}, stages, "one stage per API, the StageName parameter")
}
