package samtemplate

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

// No t.Parallel here: goformation registers its YAML tag handlers in a package-level map
// on every parse, so concurrent loads race.

// TestLoadRealTemplate checks the invariants the local tools rely on against the real
// template, without pinning what the lead may still add.
func TestLoadRealTemplate(t *testing.T) {
	tpl, err := Load("../../template.yaml")
	require.NoError(t, err)

	require.NotEmpty(t, tpl.Functions)
	require.True(t, slices.IsSorted(tpl.Functions))
	require.NotEmpty(t, tpl.Routes)
	require.Equal(t, "TokenAuthorizer", tpl.DefaultAuthorizer)

	mux := http.NewServeMux()
	for _, r := range tpl.Routes {
		require.Contains(t, tpl.Functions, r.Function)
		require.NotPanics(t, func() { mux.Handle(r.Pattern(), http.NotFoundHandler()) }, r.Pattern())
	}
	byPattern := map[string]Route{}
	for _, r := range tpl.Routes {
		byPattern[r.Pattern()] = r
	}
	require.Equal(t, Route{Method: "GET", Path: "/tokens/self", Function: "SelfTokenFunction", Authorized: true}, byPattern["GET /tokens/self"])
	require.Equal(t, Route{Method: "GET", Path: "/tokens/{id}", Function: "GetTokenFunction", Authorized: true}, byPattern["GET /tokens/{id}"])

	require.Contains(t, tpl.Throttles, Throttle{Method: "POST", Resource: "/leaked-tokens", Rate: 5, Burst: 10}, "~1 is a slash")
	require.Contains(t, tpl.Throttles, Throttle{Method: "*", Resource: "/*", Rate: 100, Burst: 200})
	unauthorized := tpl.GatewayResponses["UNAUTHORIZED"]
	require.Equal(t, 401, unauthorized.StatusCode)
	require.Equal(t, "application/problem+json", unauthorized.Headers["Content-Type"], "quotes removed")
	require.Contains(t, unauthorized.Template, `"status":401`)
	for _, typ := range []string{"ACCESS_DENIED", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"} {
		require.Equal(t, "application/problem+json", tpl.GatewayResponses[typ].Headers["Content-Type"], typ)
	}

	require.Equal(t, "tg", tpl.Environment["CreateTokenFunction"]["TOKEN_PREFIX"], "Globals resolved")
	require.Equal(t, `{"GET /demo/echo": ["tokens:read"], "ANY /{proxy+}": []}`, tpl.Environment["AuthorizerFunction"]["ROUTE_SCOPES"], "the function's own")
	require.NotContains(t, tpl.Environment["AuthorizerFunction"], "TABLE_NAME", "a Ref to a resource is left out")
	require.NotContains(t, tpl.Environment["CreateTokenFunction"], "ROUTE_SCOPES")

	require.Equal(t, "tg", tpl.Parameters["TokenPrefix"])
	require.Equal(t, "100", tpl.Parameters["ApiRateLimit"], "Number defaults become strings")

	require.Equal(t, "TokensTable", tpl.Table.LogicalID)
	require.Equal(t, "ttl", tpl.Table.TTLAttribute)
	in := tpl.Table.Input
	require.Nil(t, in.TableName)
	require.Equal(t, ddbtypes.BillingModePayPerRequest, in.BillingMode)
	defined := map[string]bool{}
	for _, a := range in.AttributeDefinitions {
		defined[aws.ToString(a.AttributeName)] = true
	}
	keys := slices.Clone(in.KeySchema)
	for _, g := range in.GlobalSecondaryIndexes {
		require.NotNil(t, g.Projection, aws.ToString(g.IndexName))
		keys = append(keys, g.KeySchema...)
	}
	for _, k := range keys {
		require.True(t, defined[aws.ToString(k.AttributeName)], "key attribute %s is defined", aws.ToString(k.AttributeName))
	}
}

// fixture exercises what the real template doesn't (yet): an open route, ANY, a greedy
// path, schedules from !Sub and !Ref of parameters, and the YAML anchors the real one uses.
const fixture = `
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Interval:
    Type: String
    Default: 1 hour
  Minutes:
    Type: Number
    Default: 5
  Hourly:
    Type: String
    Default: rate(1 hour)
  NoDefault:
    Type: String
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PROVISIONED
      ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 }
      AttributeDefinitions:
        - { AttributeName: pk, AttributeType: S }
        - { AttributeName: n, AttributeType: N }
      KeySchema:
        - { AttributeName: pk, KeyType: HASH }
      GlobalSecondaryIndexes:
        - IndexName: byN
          KeySchema:
            - { AttributeName: n, KeyType: HASH }
          Projection: { ProjectionType: INCLUDE, NonKeyAttributes: [name] }
      TimeToLiveSpecification: { AttributeName: expiresAt, Enabled: true }
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Gate
        Authorizers:
          Gate:
            FunctionArn: !GetAtt GateFunction.Arn
  GateFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Policies: &policies
        - Statement:
            - Effect: Allow
              Action: dynamodb:GetItem
              Resource: !GetAtt Table.Arn
  HealthFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Policies: *policies
      Events:
        Health:
          Type: HttpApi
          Properties: { ApiId: !Ref Api, Method: get, Path: /health, Auth: { Authorizer: NONE } }
  FilesFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Events:
        Files:
          Type: HttpApi
          Properties: { ApiId: !Ref Api, Method: ANY, Path: "/files/{proxy+}" }
        One:
          Type: HttpApi
          Properties: { ApiId: !Ref Api, Method: GET, Path: "/files/{id}/meta" }
  CleanupFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Events:
        BySub:
          Type: Schedule
          Properties: { Schedule: !Sub "rate(${Interval})" }
        ByRef:
          Type: Schedule
          Properties: { Schedule: !Ref Hourly, Enabled: false }
        ByNumber:
          Type: ScheduleV2
          Properties: { ScheduleExpression: !Sub "rate(${Minutes} minutes)", State: DISABLED }
        Nightly:
          Type: ScheduleV2
          Properties: { ScheduleExpression: "cron(0 3 * * ? *)", FlexibleTimeWindow: { Mode: "OFF" } }
`

func writeTemplate(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "template.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestLoadFixture(t *testing.T) {
	tpl, err := Load(writeTemplate(t, fixture))
	require.NoError(t, err)

	require.Equal(t, []string{"CleanupFunction", "FilesFunction", "GateFunction", "HealthFunction"}, tpl.Functions)
	require.Equal(t, "Gate", tpl.DefaultAuthorizer)
	require.Equal(t, map[string]string{"Interval": "1 hour", "Minutes": "5", "Hourly": "rate(1 hour)"}, tpl.Parameters)
	require.Equal(t, []Route{
		{Method: "ANY", Path: "/files/{proxy+}", Function: "FilesFunction", Authorized: true},
		{Method: "GET", Path: "/files/{id}/meta", Function: "FilesFunction", Authorized: true},
		{Method: "GET", Path: "/health", Function: "HealthFunction", Authorized: false},
	}, tpl.Routes)
	require.Equal(t, []Schedule{
		{Function: "CleanupFunction", Event: "ByNumber", Expression: "rate(5 minutes)", Enabled: false},
		{Function: "CleanupFunction", Event: "ByRef", Expression: "rate(1 hour)", Enabled: false},
		{Function: "CleanupFunction", Event: "BySub", Expression: "rate(1 hour)", Enabled: true},
		{Function: "CleanupFunction", Event: "Nightly", Expression: "cron(0 3 * * ? *)", Enabled: true},
	}, tpl.Schedules)
	require.Equal(t, TableSpec{
		LogicalID:    "Table",
		TTLAttribute: "expiresAt",
		Input: &dynamodb.CreateTableInput{
			BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{
				{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
				{AttributeName: aws.String("n"), AttributeType: ddbtypes.ScalarAttributeTypeN},
			},
			KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
			GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
				IndexName:  aws.String("byN"),
				KeySchema:  []ddbtypes.KeySchemaElement{{AttributeName: aws.String("n"), KeyType: ddbtypes.KeyTypeHash}},
				Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeInclude, NonKeyAttributes: []string{"name"}},
			}},
		},
	}, tpl.Table)
}

func TestLoadAuthorization(t *testing.T) {
	const noAPI = `
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]
      AttributeDefinitions: [{ AttributeName: pk, AttributeType: S }]
  F:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Events:
        Open: { Type: HttpApi, Properties: { Method: GET, Path: /open } }
        Named: { Type: HttpApi, Properties: { Method: GET, Path: /named, Auth: { Authorizer: Gate } } }
`
	tests := []struct {
		name     string
		prefix   string
		wantAuth string
		want     map[string]bool // path -> Authorized
	}{
		{name: "no authorizer anywhere", want: map[string]bool{"/open": false, "/named": true}},
		{
			name:     "default from Globals for the implicit API",
			prefix:   "Globals:\n  HttpApi:\n    Auth:\n      DefaultAuthorizer: Gate\n",
			wantAuth: "Gate",
			want:     map[string]bool{"/open": true, "/named": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := Load(writeTemplate(t, tt.prefix+noAPI))
			require.NoError(t, err)
			require.Equal(t, tt.wantAuth, tpl.DefaultAuthorizer)
			got := map[string]bool{}
			for _, r := range tpl.Routes {
				got[r.Path] = r.Authorized
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	const table = `
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]
      AttributeDefinitions: [{ AttributeName: pk, AttributeType: S }]
`
	fn := func(id, events string) string {
		return "\n  " + id + ":\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: bootstrap\n      Events:\n" + events
	}
	get := func(path string) string {
		return "        E: { Type: HttpApi, Properties: { Method: GET, Path: \"" + path + "\" } }\n"
	}
	tests := []struct {
		name      string
		resources string
		wantErr   []string
	}{
		{
			name:      "duplicate route",
			resources: table + fn("A", get("/x")) + fn("B", get("/x")),
			wantErr:   []string{"GET /x of B duplicates GET /x of A"},
		},
		{
			name:      "duplicate route with other parameter names",
			resources: table + fn("A", get("/t/{id}")) + fn("B", get("/t/{tokenId}")),
			wantErr:   []string{"GET /t/{tokenId} of B duplicates GET /t/{id} of A"},
		},
		{
			name:      "no table",
			resources: fn("A", get("/x")),
			wantErr:   []string{"want exactly one AWS::DynamoDB::Table, found 0"},
		},
		{
			name:      "two tables",
			resources: table + strings.ReplaceAll(table, "  T:", "  U:") + fn("A", get("/x")),
			wantErr:   []string{"found 2 (T, U)"},
		},
		{
			name:      "method without path",
			resources: table + fn("A", "        E: { Type: HttpApi, Properties: { Method: GET } }\n"),
			wantErr:   []string{"function A event E", "both Method and Path"},
		},
		{
			name:      "schedule from a parameter without default",
			resources: table + fn("A", "        E: { Type: Schedule, Properties: { Schedule: !Ref Missing } }\n"),
			wantErr:   []string{"function A event E", "Schedule Schedule is empty or unresolved"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeTemplate(t, "Parameters:\n  Missing: { Type: String }\nResources:"+tt.resources))
			require.Error(t, err)
			for _, want := range tt.wantErr {
				require.ErrorContains(t, err, want)
			}
		})
	}

	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	require.ErrorContains(t, err, "read template")

	_, err = Load(writeTemplate(t, "Resources:\n  X: { Type: AWS::Nope::Thing, Properties: {} }\n"))
	require.ErrorContains(t, err, "a resource type this goformation version does not know?")
}

func TestValidateUndeclaredFunction(t *testing.T) {
	tpl := &Template{
		Functions: []string{"A"},
		Routes:    []Route{{Method: "GET", Path: "/x", Function: "Ghost"}},
		Schedules: []Schedule{{Function: "Phantom", Event: "E", Expression: "rate(1 hour)"}},
	}
	err := tpl.validate()
	require.ErrorContains(t, err, "route GET /x: function Ghost is not declared")
	require.ErrorContains(t, err, "schedule E: function Phantom is not declared")
}

func TestRoutePattern(t *testing.T) {
	tests := []struct {
		route Route
		want  string
	}{
		{Route{Method: "GET", Path: "/tokens/{id}"}, "GET /tokens/{id}"},
		{Route{Method: "POST", Path: "/tokens"}, "POST /tokens"},
		{Route{Method: "ANY", Path: "/tokens"}, "/tokens"},
		{Route{Method: "GET", Path: "/files/{proxy+}"}, "GET /files/{proxy...}"},
		{Route{Method: "ANY", Path: "/{proxy+}"}, "/{proxy...}"},
		{Route{Method: "DELETE", Path: "/a/{b}/c/{rest+}"}, "DELETE /a/{b}/c/{rest...}"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, tt.route.Pattern())
			require.NotPanics(t, func() { http.NewServeMux().Handle(tt.route.Pattern(), http.NotFoundHandler()) })
		})
	}
}

// TestSampleEventsMatchRoutes keeps events/ in step with the template: each sample event is
// named after its function (lower case, without "Function") and carries that function's
// route as its routeKey. Other samples (authorizer events carry a "type", scheduled ones no
// routeKey) are not HTTP API requests and are left alone.
func TestSampleEventsMatchRoutes(t *testing.T) {
	tpl, err := Load("../../template.yaml")
	require.NoError(t, err)
	routeKeys := map[string][]string{}
	for _, r := range tpl.Routes {
		name := strings.ToLower(strings.TrimSuffix(r.Function, "Function"))
		routeKeys[name] = append(routeKeys[name], r.Method+" "+r.Path)
	}
	files, err := filepath.Glob("../../events/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var ev struct{ RouteKey, Type, HTTPMethod, Resource string }
		require.NoError(t, json.Unmarshal(data, &ev))
		if ev.HTTPMethod != "" && ev.Type == "" {
			ev.RouteKey = ev.HTTPMethod + " " + ev.Resource // a REST proxy event
		}
		if ev.RouteKey == "" || ev.Type != "" {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		require.Contains(t, routeKeys[name], ev.RouteKey, "%s: routeKey of a route of its function", file)
	}
}

// TestSamBuildInSource: every function is built by the Makefile from CodeUri ".", so sam
// build must build in the checkout (samconfig.toml's build_in_source): otherwise it copies
// the whole folder, .local/ and bin/ included, once per function before building.
func TestSamBuildInSource(t *testing.T) {
	cfg, err := os.ReadFile("../../samconfig.toml")
	require.NoError(t, err)
	section := regexp.MustCompile(`(?s)\[default\.build\.parameters\]\n(.*?)(\n\[|$)`).FindSubmatch(cfg)
	require.NotNil(t, section, "samconfig.toml has [default.build.parameters]")
	require.Regexp(t, `(?m)^build_in_source = true$`, string(section[1]))
	tmpl, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	require.Equal(t, strings.Count(string(tmpl), "Type: AWS::Serverless::Function"), strings.Count(string(tmpl), "CodeUri: .\n"),
		"every function is built from the checkout by the Makefile")
}
