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

type statement struct {
	Effect    string
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

// resourceName names a policy resource the way Grant does.
func resourceName(t *testing.T, r any) string {
	b, _ := json.Marshal(r)
	s := string(b)
	switch {
	case s == `{"Fn::GetAtt":["TokensTable","Arn"]}`:
		return Table
	case s == `{"Fn::GetAtt":["PepperKey","Arn"]}`:
		return Key
	case strings.HasPrefix(s, `{"Fn::Sub":"${TokensTable.Arn}/index/`):
		return Index + strings.TrimSuffix(strings.TrimPrefix(s, `{"Fn::Sub":"${TokensTable.Arn}/index/`), `"}`)
	case strings.Contains(s, `:ses:${AWS::Region}:${AWS::AccountId}:identity/*`):
		return SES
	case strings.Contains(s, `:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${EmailConfigurationSet}`):
		return SESConfigurationSet
	}
	t.Fatalf("unexpected policy resource %s", s)
	return ""
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

// TestPolicies: every function's role, as the SAM transform makes it, allows exactly the
// calls Calls lists for it: the actions, on the resources, under the dynamodb:LeadingKeys
// it names. No Deny is needed, no wildcard action, no kms:GenerateDataKey anywhere.
func TestPolicies(t *testing.T) {
	res := transform(t)
	seen := map[string]bool{}
	for id, raw := range res {
		var r struct {
			Type       string
			Properties struct {
				Role     any
				Policies []struct {
					PolicyDocument struct{ Statement []statement }
				}
			}
		}
		require.NoError(t, json.Unmarshal(raw, &r))
		if r.Type != "AWS::Lambda::Function" {
			continue
		}
		seen[id] = true
		want, known := Calls[id]
		require.True(t, known, "function %s is not in iam.Calls: add the calls it makes", id)
		var role struct {
			Properties struct {
				Policies []struct {
					PolicyDocument struct{ Statement []statement }
				}
				ManagedPolicyArns []any
			}
		}
		require.NoError(t, json.Unmarshal(res[id+"Role"], &role), "role of %s", id)
		var got []Grant
		for _, p := range role.Properties.Policies {
			for _, st := range p.PolicyDocument.Statement {
				require.Equal(t, "Allow", st.Effect, "%s: allow lists only", id)
				var keys []string
				for op, cond := range st.Condition {
					for k, v := range cond {
						if k == "dynamodb:LeadingKeys" {
							require.Equal(t, "ForAllValues:StringLike", op, "%s: every partition key must match", id)
							keys = strs(v)
						}
					}
				}
				for _, resource := range resourceList(st.Resource) {
					for _, a := range strs(st.Action) {
						require.NotContains(t, a, "*", "%s: no wildcard action", id)
						got = append(got, Grant{Action: a, Resource: resourceName(t, resource), Keys: keys})
					}
				}
			}
		}
		require.ElementsMatch(t, normalise(want), normalise(got), "%s: role policy differs from iam.Calls", id)
		for _, g := range got {
			require.NotEqual(t, "kms:GenerateDataKey", g.Action, "%s: no runtime role creates peppers", id)
		}
	}
	for id := range Calls {
		require.True(t, seen[id], "iam.Calls names %s, which the template does not have", id)
	}
}

func resourceList(r any) []any {
	if l, ok := r.([]any); ok {
		return l
	}
	return []any{r}
}

func normalise(gs []Grant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		k := slices.Clone(g.Keys)
		slices.Sort(k)
		out = append(out, g.Action+" "+g.Resource+" "+strings.Join(k, ","))
	}
	return out
}

// TestAuthorizerIdentitySources: the tokengate APIs' authorizer is a REQUEST authorizer
// without identity sources and with API Gateway's result cache off. An identity source is
// required on every request, so naming Authorization would refuse X-API-Key (which SPEC
// promises) with 401 before the authorizer ran, and SAM CLI never finds the value of
// context.identity.sourceIp, so sam local would refuse every request.
func TestAuthorizerIdentitySources(t *testing.T) {
	res := transform(t)
	for _, api := range []string{"Api", "DemoApi"} {
		var r struct {
			Properties struct {
				Body struct {
					SecurityDefinitions map[string]struct {
						Authorizer map[string]any `json:"x-amazon-apigateway-authorizer"`
					} `json:"securityDefinitions"`
				}
			}
		}
		require.NoError(t, json.Unmarshal(res[api], &r))
		a := r.Properties.Body.SecurityDefinitions["TokenAuthorizer"].Authorizer
		require.NotNil(t, a, "%s has the TokenAuthorizer", api)
		require.Equal(t, "request", a["type"], api)
		require.Equal(t, "0", fmt.Sprint(a["authorizerResultTtlInSeconds"]), "%s: no cache, so no identity source is required", api)
		require.NotContains(t, a, "identitySource", "%s: every request reaches the authorizer, X-API-Key ones too", api)
	}
}

// TestGatewayResponses: refusals are problem+json with the SPEC's statuses.
func TestGatewayResponses(t *testing.T) {
	res := transform(t)
	var r struct {
		Properties struct {
			Body struct {
				Responses map[string]struct {
					StatusCode         string
					ResponseParameters map[string]string
					ResponseTemplates  map[string]string
				} `json:"x-amazon-apigateway-gateway-responses"`
			}
		}
	}
	require.NoError(t, json.Unmarshal(res["Api"], &r))
	want := map[string]string{"UNAUTHORIZED": "401", "ACCESS_DENIED": "403", "THROTTLED": "429", "DEFAULT_4XX": "", "DEFAULT_5XX": ""}
	for typ, status := range want {
		g, ok := r.Properties.Body.Responses[typ]
		require.True(t, ok, typ)
		require.Equal(t, status, g.StatusCode, typ)
		require.Equal(t, "'application/problem+json'", g.ResponseParameters["gatewayresponse.header.Content-Type"], typ)
		require.Contains(t, g.ResponseTemplates["application/json"], `"type":"about:blank"`, typ)
	}
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
