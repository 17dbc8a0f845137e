package iam

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAlarms: no alarm watches the authorizer's Lambda Errors (a REST authorizer answers
// 401 by returning an error, so every invalid token would raise it); its failures are
// counted from its log (AuthorizerFailures: store_error decisions and timeouts), and the
// notifier has alarms of its own (its errors, its ERROR lines).
func TestAlarms(t *testing.T) {
	res := transform(t)
	type resource struct {
		Type       string
		Properties map[string]any
	}
	get := func(id string) resource {
		var r resource
		require.NoError(t, json.Unmarshal(res[id], &r), id)
		return r
	}
	alarmed := map[string]bool{} // metric (namespace/name/function) -> an alarm watches it
	for id := range res {
		r := get(id)
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		key := fmt.Sprint(r.Properties["Namespace"], "/", r.Properties["MetricName"])
		if dims, ok := r.Properties["Dimensions"].([]any); ok {
			for _, d := range dims {
				key += fmt.Sprint("/", d.(map[string]any)["Value"])
			}
		}
		alarmed[key] = true
	}
	require.False(t, alarmed["AWS/Lambda/Errors/map[Ref:AuthorizerFunction]"], "the authorizer's Lambda Errors count every 401")
	require.True(t, alarmed["tokengate/AuthorizerFailures"])
	require.True(t, alarmed["tokengate/NotifierErrors"])
	require.True(t, alarmed["AWS/Lambda/Errors/map[Ref:NotifierFunction]"], "a failed notifier run")

	filters := map[string]string{} // metric -> log group
	for id := range res {
		r := get(id)
		if r.Type != "AWS::Logs::MetricFilter" {
			continue
		}
		for _, m := range r.Properties["MetricTransformations"].([]any) {
			filters[fmt.Sprint(m.(map[string]any)["MetricName"])+" "+fmt.Sprint(r.Properties["FilterPattern"])] = fmt.Sprint(r.Properties["LogGroupName"])
		}
	}
	require.Equal(t, "map[Ref:AuthorizerLogGroup]", filters[`AuthorizerFailures { $.msg = "authorizer decision" && $.reason = "store_error" }`])
	require.Equal(t, "map[Ref:AuthorizerLogGroup]", filters[`AuthorizerFailures "Task timed out"`])
	require.Equal(t, "map[Ref:NotifierLogGroup]", filters[`NotifierErrors { $.level = "ERROR" }`])
}

// TestMailEvents: every mail goes through a configuration set whose bounces, complaints
// and rejections reach an SNS topic that SES may publish to and the operator can
// subscribe to (an output names it).
func TestMailEvents(t *testing.T) {
	res := transform(t)
	var dest struct {
		Type       string
		Properties struct {
			ConfigurationSetName map[string]string
			EventDestination     struct {
				Enabled            bool
				MatchingEventTypes []string
				SnsDestination     struct{ TopicARN map[string]string }
			}
		}
	}
	require.NoError(t, json.Unmarshal(res["EmailEventDestination"], &dest))
	require.Equal(t, "AWS::SES::ConfigurationSetEventDestination", dest.Type)
	require.Equal(t, map[string]string{"Ref": "EmailConfigurationSet"}, dest.Properties.ConfigurationSetName)
	require.True(t, dest.Properties.EventDestination.Enabled)
	require.Subset(t, dest.Properties.EventDestination.MatchingEventTypes, []string{"bounce", "complaint"})
	require.Equal(t, map[string]string{"Ref": "MailEventsTopic"}, dest.Properties.EventDestination.SnsDestination.TopicARN)
	require.Contains(t, string(res["MailEventsTopicPolicy"]), "ses.amazonaws.com")

	for _, fn := range []string{"NotifierFunction", "CreatePrincipalFunction", "SendEnrollmentFunction", "ReportLeakedFunction"} {
		var f struct {
			Properties struct {
				Environment struct{ Variables map[string]any }
			}
		}
		require.NoError(t, json.Unmarshal(res[fn], &f))
		require.Equal(t, map[string]any{"Ref": "EmailConfigurationSet"}, f.Properties.Environment.Variables["SES_CONFIGURATION_SET"], fn)
	}
	out := transformOutputs(t)
	require.Contains(t, out, "MailEventsTopicArn")
	require.Contains(t, out, "TokenPrefix", "make bootstrap reads the prefix the functions use")
}

// TestAPINames: the two REST APIs have names of their own, so a look-up by name
// (docs/local-aws.md's get-rest-apis query) finds the management API, not the demo.
func TestAPINames(t *testing.T) {
	res := transform(t)
	names := map[string]string{}
	for _, api := range []string{"Api", "DemoApi"} {
		var r struct{ Properties struct{ Name any } }
		require.NoError(t, json.Unmarshal(res[api], &r))
		names[api] = fmt.Sprint(r.Properties.Name)
	}
	require.Equal(t, map[string]string{"Api": "map[Fn::Sub:${AWS::StackName}-api]", "DemoApi": "map[Fn::Sub:${AWS::StackName}-demo]"}, names)
}
