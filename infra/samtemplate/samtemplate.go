// Package samtemplate reads the SAM template.yaml into what the local tools need: the HTTP
// routes to serve, the schedules to fire, the DynamoDB table to create and the parameter
// defaults. The template stays the single source of truth; nothing here repeats a route,
// a function name or a key schema.
//
// Parsing is goformation's: its YAML reader copes with anchors and aliases, and its
// intrinsic processor resolves !Ref and !Sub against parameter defaults. Refs to resources
// and !GetAtt cannot be resolved outside CloudFormation and come out empty, which is fine
// for everything read here.
package samtemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	cfnddb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Template is the part of a SAM template the local tools run from.
type Template struct {
	Routes            []Route           // every Api (REST) and HttpApi event of every AWS::Serverless::Function
	Schedules         []Schedule        // every Schedule / ScheduleV2 event
	Table             TableSpec         // the one AWS::DynamoDB::Table
	Parameters        map[string]string // parameter name -> default value as string
	Functions         []string          // logical ids of all functions, sorted
	DefaultAuthorizer string            // the APIs' DefaultAuthorizer name, "" if none
	// GatewayResponses are the REST APIs' gateway responses by type (UNAUTHORIZED,
	// ACCESS_DENIED, DEFAULT_4XX, ...), with parameters resolved.
	GatewayResponses map[string]GatewayResponse
	// Environment is each function's environment as the template sets it (Globals merged
	// in), with parameter defaults resolved; values that only CloudFormation can resolve
	// (a Ref to a resource, a condition) are left out.
	Environment map[string]map[string]string
	// Throttles are the REST APIs' MethodSettings throttling, parameters resolved.
	Throttles []Throttle
	// IdentityHeaders are the headers the REST APIs' default authorizer names as identity
	// sources: API Gateway answers 401 without calling it when one is missing.
	IdentityHeaders []string
	// Policies are each function's inline policy statements (Policies: - Statement:),
	// as JSON with intrinsic functions left as they are ({"Fn::GetAtt": ...},
	// {"Fn::Sub": ...}, {"Ref": ...}): infra/iam reads them as the function's role.
	Policies map[string][]json.RawMessage
}

// Throttle is one MethodSettings entry's throttling: requests per second and burst for a
// method and resource ("*" and "/*": every one, the stage's default).
type Throttle struct {
	Method   string  // GET, POST, ... or "*"
	Resource string  // "/leaked-tokens", or "/*"
	Rate     float64 // ThrottlingRateLimit
	Burst    int     // ThrottlingBurstLimit
}

// GatewayResponse is one of an AWS::Serverless::Api's GatewayResponses: what API Gateway
// answers for a request it refuses itself.
type GatewayResponse struct {
	StatusCode int               // 0: the type's own status
	Headers    map[string]string // header values unquoted ('application/json' -> application/json)
	Template   string            // the application/json response template, "" if none
}

// Route is one Api or HttpApi event: API Gateway sends Method Path to Function.
type Route struct {
	Method     string // upper case; "ANY" matches every method
	Path       string // as written in the template, e.g. "/tokens/{id}" or "/{proxy+}"
	Function   string // logical id of the function
	Authorized bool   // false when the event's Auth.Authorizer is "NONE", else true when the API has an authorizer
}

// Schedule is one Schedule or ScheduleV2 event: EventBridge invokes Function on Expression.
type Schedule struct {
	Function   string // logical id of the function
	Event      string // name of the event in the function's Events
	Expression string // e.g. "rate(1 hour)" or "cron(0 3 * * ? *)", parameters already resolved
	Enabled    bool   // false when the event says Enabled: false or State: DISABLED
}

// TableSpec is the DynamoDB table with what it takes to create it locally.
type TableSpec struct {
	LogicalID    string
	Input        *dynamodb.CreateTableInput // TableName left empty: the caller names the table
	TTLAttribute string                     // "" when TTL is not enabled
}

// Event types of AWS::Serverless::Function that this package reads.
const (
	eventAPI        = "Api"
	eventHTTPAPI    = "HttpApi"
	eventSchedule   = "Schedule"
	eventScheduleV2 = "ScheduleV2"
)

// noAuthorizer is the Auth.Authorizer value that opens a route to anyone.
const noAuthorizer = "NONE"

// Load reads and validates the SAM template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return Parse(path, data, strings.HasSuffix(path, ".json"))
}

// Parse reads and validates a SAM template's text (YAML, or JSON when isJSON); name is
// what errors call it.
func Parse(name string, data []byte, isJSON bool) (*Template, error) {
	path := name
	cfn, err := parse(data, isJSON)
	if err != nil {
		// goformation unmarshals a resource of a type it doesn't know into nil, which
		// surfaces as nothing more than "json: Unmarshal(nil)".
		if errors.As(err, new(*json.InvalidUnmarshalError)) {
			err = fmt.Errorf("%w (a resource type this goformation version does not know?)", err)
		}
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}

	t, err := build(cfn, data, isJSON)
	if err == nil {
		t.GatewayResponses, t.IdentityHeaders, t.Throttles, err = restAPIs(data, isJSON, t.Parameters)
	}
	if err == nil {
		t.Environment, err = environment(data, isJSON, t.Parameters, t.Functions)
	}
	if err == nil {
		t.Policies, err = policies(data, isJSON)
	}
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", path, err)
	}
	return t, nil
}

// build collects and validates what the local tools need from a parsed template; data is
// the template's text, for the events goformation's types can't hold (see schedules).
func build(cfn *cloudformation.Template, data []byte, isJSON bool) (*Template, error) {
	var err error
	t := &Template{Parameters: parameterDefaults(cfn.Parameters)}
	functions := cfn.GetAllServerlessFunctionResources()
	t.Functions = sortedKeys(functions)
	if t.DefaultAuthorizer, err = defaultAuthorizer(cfn); err != nil {
		return nil, err
	}
	if t.Routes, err = routes(t.Functions, functions, t.DefaultAuthorizer); err != nil {
		return nil, err
	}
	if t.Schedules, err = schedules(data, isJSON, t.Functions, t.Parameters); err != nil {
		return nil, err
	}
	if t.Table, err = table(cfn.GetAllDynamoDBTableResources()); err != nil {
		return nil, err
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// parse runs goformation on the template, choosing the reader the way goformation.Open
// does, after removing the properties this goformation version reads wrongly or not at
// all (see unknownProperties).
func parse(data []byte, isJSON bool) (t *cloudformation.Template, err error) {
	// goformation dereferences what it does not expect and panics (found by FuzzParse:
	// "ResourCes:\n 0A:", a resource that is null): a template that does so is refused.
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("goformation cannot read this template: %v", r)
		}
	}()
	process := intrinsics.ProcessYAML
	if isJSON {
		process = intrinsics.ProcessJSON
	}
	processed, err := process(data, nil)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(processed, &raw); err != nil {
		return nil, err
	}
	strip := func(props any, names []string) {
		if m, ok := props.(map[string]any); ok {
			for _, n := range names {
				delete(m, n)
			}
		}
	}
	if res, ok := raw["Resources"].(map[string]any); ok {
		for _, r := range res {
			if m, ok := r.(map[string]any); ok {
				typ, _ := m["Type"].(string)
				strip(m["Properties"], unknownProperties[typ])
			}
		}
	}
	if g, ok := raw["Globals"].(map[string]any); ok {
		strip(g["Function"], unknownProperties["AWS::Serverless::Function"])
		strip(g["Api"], unknownProperties["AWS::Serverless::Api"])
	}
	clean, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	return goformation.ParseJSON(clean)
}

// unknownProperties are the properties goformation v7 fails on: GatewayResponses is typed
// as a map of strings, LoggingConfig is missing. Nothing read here needs them through
// goformation (gatewayResponses reads the former itself).
var unknownProperties = map[string][]string{
	"AWS::Serverless::Api":      {"GatewayResponses"},
	"AWS::Serverless::Function": {"LoggingConfig"},
}

// Pattern returns the route as a Go 1.22 http.ServeMux pattern: "GET /tokens/{id}".
// SAM's greedy "{proxy+}" becomes "{proxy...}" and ANY drops the method, which is how
// ServeMux says "every method".
func (r Route) Pattern() string {
	path := greedyParam.ReplaceAllString(r.Path, "{$1...}")
	if r.Method == "" || r.Method == "ANY" {
		return path
	}
	return r.Method + " " + path
}

var (
	greedyParam = regexp.MustCompile(`\{([^{}/]+)\+\}`)
	anyParam    = regexp.MustCompile(`\{[^{}/]+?(\+?)\}`)
)

// key identifies a route the way API Gateway compares them: parameter names don't count,
// so "/tokens/{id}" and "/tokens/{tokenId}" are the same route.
func (r Route) key() string {
	return r.Method + " " + anyParam.ReplaceAllString(r.Path, "{$1}")
}

// routes collects the HttpApi events of every function, in a stable order.
func routes(ids []string, functions map[string]*serverless.Function, defaultAuth string) ([]Route, error) {
	var out []Route
	for _, id := range ids {
		events := functions[id].Events
		for _, name := range sortedKeys(events) {
			ev := events[name]
			if ev.Type == eventAPI {
				if ev.Properties == nil || ev.Properties.ApiEvent == nil {
					return nil, fmt.Errorf("function %s event %s: goformation could not read its Api properties", id, name)
				}
				r, err := restRoute(id, ev.Properties.ApiEvent, defaultAuth)
				if err != nil {
					return nil, fmt.Errorf("function %s event %s: %w", id, name, err)
				}
				out = append(out, r)
				continue
			}
			if ev.Type != eventHTTPAPI {
				continue
			}
			if ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
				return nil, fmt.Errorf("function %s event %s: goformation could not read its HttpApi properties", id, name)
			}
			r, err := route(id, ev.Properties.HttpApiEvent, defaultAuth)
			if err != nil {
				return nil, fmt.Errorf("function %s event %s: %w", id, name, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func route(function string, ev *serverless.Function_HttpApiEvent, defaultAuth string) (Route, error) {
	method, path := aws.ToString(ev.Method), aws.ToString(ev.Path)
	switch {
	case method == "" && path == "":
		// An HttpApi event without Method and Path is the API's $default route, which
		// catches whatever no other route matches: the least specific pattern does that.
		method, path = "ANY", "/{proxy+}"
	case method == "" || path == "":
		return Route{}, errors.New("HttpApi event needs both Method and Path")
	case !strings.HasPrefix(path, "/"):
		return Route{}, fmt.Errorf("path %q does not start with /", path)
	}
	r := Route{Method: strings.ToUpper(method), Path: path, Function: function, Authorized: defaultAuth != ""}
	if ev.Auth != nil && ev.Auth.Authorizer != nil {
		r.Authorized = *ev.Auth.Authorizer != noAuthorizer
	}
	return r, nil
}

// restRoute is a REST API (Api) event: Method and Path are both required.
func restRoute(function string, ev *serverless.Function_ApiEvent, defaultAuth string) (Route, error) {
	switch {
	case ev.Method == "" || ev.Path == "":
		return Route{}, errors.New("an Api event needs both Method and Path")
	case !strings.HasPrefix(ev.Path, "/"):
		return Route{}, fmt.Errorf("path %q does not start with /", ev.Path)
	}
	r := Route{Method: strings.ToUpper(ev.Method), Path: ev.Path, Function: function, Authorized: defaultAuth != ""}
	if ev.Auth != nil && ev.Auth.Authorizer != nil {
		r.Authorized = *ev.Auth.Authorizer != noAuthorizer
	}
	return r, nil
}

// defaultAuthorizer finds the DefaultAuthorizer of the template's APIs (REST and HTTP).
// Without an explicit AWS::Serverless::HttpApi, SAM builds an implicit one from Globals.
func defaultAuthorizer(cfn *cloudformation.Template) (string, error) {
	fromGlobals := ""
	if g, ok := cfn.Globals["HttpApi"].(*global.HttpApi); ok && g.Auth != nil {
		fromGlobals = aws.ToString(g.Auth.DefaultAuthorizer)
	}
	apis := cfn.GetAllServerlessHttpApiResources()
	found := map[string]bool{}
	for _, api := range apis {
		auth := fromGlobals
		if api.Auth != nil && api.Auth.DefaultAuthorizer != nil {
			auth = *api.Auth.DefaultAuthorizer
		}
		found[auth] = true
	}
	for _, api := range cfn.GetAllServerlessApiResources() {
		auth := ""
		if api.Auth != nil && api.Auth.DefaultAuthorizer != nil {
			auth = *api.Auth.DefaultAuthorizer
		}
		found[auth] = true
	}
	switch len(found) {
	case 0:
		return fromGlobals, nil
	case 1:
		for auth := range found {
			return auth, nil
		}
	}
	return "", fmt.Errorf("APIs disagree on DefaultAuthorizer (%s): the local gateway serves them as one API", strings.Join(sortedKeys(found), ", "))
}

// schedules collects Schedule and ScheduleV2 events. goformation's typed events can't be
// used for them: it has no ScheduleV2 type, and it drops a Schedule event whose properties
// it doesn't know or whose Schedule resolved to a number. So these events are read from
// goformation's intrinsic processor output directly, with every parameter default turned
// into a string first so that "rate(${Minutes} minutes)" resolves even for a Number
// parameter (goformation's Fn::Sub only substitutes strings).
func schedules(data []byte, isJSON bool, ids []string, params map[string]string) ([]Schedule, error) {
	overrides := make(map[string]any, len(params))
	for k, v := range params {
		overrides[k] = v
	}
	opts := &intrinsics.ProcessorOptions{ParameterOverrides: overrides}
	process := intrinsics.ProcessYAML
	if isJSON {
		process = intrinsics.ProcessJSON
	}
	processed, err := process(data, opts)
	if err != nil {
		return nil, fmt.Errorf("resolve intrinsics: %w", err)
	}
	var raw struct {
		Resources map[string]json.RawMessage
	}
	if err := json.Unmarshal(processed, &raw); err != nil {
		return nil, fmt.Errorf("read resources: %w", err)
	}

	var out []Schedule
	for _, id := range ids {
		var fn struct {
			Properties struct {
				Events map[string]struct {
					Type       string
					Properties map[string]any
				}
			}
		}
		if err := json.Unmarshal(raw.Resources[id], &fn); err != nil {
			return nil, fmt.Errorf("read events of function %s: %w", id, err)
		}
		events := fn.Properties.Events
		for _, name := range sortedKeys(events) {
			ev := events[name]
			field := ""
			switch ev.Type {
			case eventSchedule:
				field = "Schedule"
			case eventScheduleV2:
				field = "ScheduleExpression"
			default:
				continue
			}
			expr, _ := scalarString(ev.Properties[field])
			if expr == "" {
				return nil, fmt.Errorf("function %s event %s: %s %s is empty or unresolved (a Ref to a resource or to a parameter without default?)", id, name, ev.Type, field)
			}
			enabled := true
			if b, ok := ev.Properties["Enabled"].(bool); ok && !b {
				enabled = false
			}
			if s, _ := ev.Properties["State"].(string); strings.EqualFold(s, "DISABLED") {
				enabled = false
			}
			out = append(out, Schedule{Function: id, Event: name, Expression: expr, Enabled: enabled})
		}
	}
	return out, nil
}

// environment reads every function's environment variables, Globals first.
func environment(data []byte, isJSON bool, params map[string]string, functions []string) (map[string]map[string]string, error) {
	overrides := make(map[string]any, len(params))
	for k, v := range params {
		overrides[k] = v
	}
	process := intrinsics.ProcessYAML
	if isJSON {
		process = intrinsics.ProcessJSON
	}
	processed, err := process(data, &intrinsics.ProcessorOptions{ParameterOverrides: overrides})
	if err != nil {
		return nil, fmt.Errorf("resolve intrinsics: %w", err)
	}
	type env struct {
		Environment struct{ Variables map[string]any }
	}
	var raw struct {
		Globals   struct{ Function env }
		Resources map[string]struct{ Properties env }
	}
	if err := json.Unmarshal(processed, &raw); err != nil {
		return nil, fmt.Errorf("read environment: %w", err)
	}
	out := map[string]map[string]string{}
	for _, fn := range functions {
		vars := map[string]string{}
		for _, src := range []map[string]any{raw.Globals.Function.Environment.Variables, raw.Resources[fn].Properties.Environment.Variables} {
			for k, v := range src {
				if s, ok := scalarString(v); ok {
					vars[k] = s
				} else {
					delete(vars, k)
				}
			}
		}
		out[fn] = vars
	}
	return out, nil
}

// restAPIs reads the GatewayResponses and the default authorizer's identity headers of
// the template's AWS::Serverless::Api resources. Every API must declare the same ones:
// the local gateway serves them as one.
func restAPIs(data []byte, isJSON bool, params map[string]string) (map[string]GatewayResponse, []string, []Throttle, error) {
	overrides := make(map[string]any, len(params))
	for k, v := range params {
		overrides[k] = v
	}
	process := intrinsics.ProcessYAML
	if isJSON {
		process = intrinsics.ProcessJSON
	}
	processed, err := process(data, &intrinsics.ProcessorOptions{ParameterOverrides: overrides})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("resolve intrinsics: %w", err)
	}
	var raw struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				MethodSettings []struct {
					HttpMethod, ResourcePath                  string
					ThrottlingRateLimit, ThrottlingBurstLimit any
				}
				Auth struct {
					DefaultAuthorizer string
					Authorizers       map[string]struct {
						Identity struct{ Headers []string }
					}
				}
				GatewayResponses map[string]struct {
					StatusCode         any
					ResponseParameters struct{ Headers map[string]string }
					ResponseTemplates  map[string]string
				}
			}
		}
	}
	if err := json.Unmarshal(processed, &raw); err != nil {
		return nil, nil, nil, fmt.Errorf("read gateway responses: %w", err)
	}
	var out map[string]GatewayResponse
	var identity []string
	var throttles []Throttle
	var first string
	for _, id := range sortedKeys(raw.Resources) {
		r := raw.Resources[id]
		if r.Type != "AWS::Serverless::Api" {
			continue
		}
		got := map[string]GatewayResponse{}
		for typ, g := range r.Properties.GatewayResponses {
			gr := GatewayResponse{Headers: map[string]string{}, Template: g.ResponseTemplates["application/json"]}
			if s, ok := scalarString(g.StatusCode); ok && s != "" {
				if gr.StatusCode, err = strconv.Atoi(s); err != nil {
					return nil, nil, nil, fmt.Errorf("api %s gateway response %s: StatusCode %q", id, typ, s)
				}
			}
			for k, v := range g.ResponseParameters.Headers {
				gr.Headers[k] = strings.Trim(v, "'")
			}
			got[typ] = gr
		}
		for _, m := range r.Properties.MethodSettings {
			rate, _ := scalarString(m.ThrottlingRateLimit)
			burst, _ := scalarString(m.ThrottlingBurstLimit)
			// A resource path is "/" then the resource with its slashes escaped: "/~1leaked-tokens".
			res := m.ResourcePath
			if res != "/*" {
				res = strings.ReplaceAll(strings.ReplaceAll(strings.TrimPrefix(res, "/"), "~1", "/"), "~0", "~")
			}
			th := Throttle{Method: m.HttpMethod, Resource: res}
			th.Rate, _ = strconv.ParseFloat(rate, 64)
			th.Burst, _ = strconv.Atoi(burst)
			if th.Rate > 0 {
				throttles = append(throttles, th)
			}
		}
		headers := r.Properties.Auth.Authorizers[r.Properties.Auth.DefaultAuthorizer].Identity.Headers
		if out == nil {
			out, identity, first = got, headers, id
			continue
		}
		if !reflect.DeepEqual(out, got) || !slices.Equal(identity, headers) {
			return nil, nil, nil, fmt.Errorf("APIs %s and %s declare different GatewayResponses or identity headers: the local gateway serves them as one", first, id)
		}
	}
	return out, identity, throttles, nil
}

// table turns the template's only DynamoDB table into a CreateTableInput. Billing is
// always on demand: DynamoDB Local ignores capacity, and that is what the stack uses.
func table(tables map[string]*cfnddb.Table) (TableSpec, error) {
	if len(tables) != 1 {
		return TableSpec{}, fmt.Errorf("want exactly one AWS::DynamoDB::Table, found %d (%s)", len(tables), strings.Join(sortedKeys(tables), ", "))
	}
	id := sortedKeys(tables)[0]
	t := tables[id]
	if len(t.KeySchema) == 0 {
		return TableSpec{}, fmt.Errorf("table %s has no KeySchema", id)
	}
	in := &dynamodb.CreateTableInput{
		BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:   keySchema(t.KeySchema),
	}
	for _, a := range t.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range t.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			KeySchema:  keySchema(g.KeySchema),
			Projection: projection(g.Projection),
		})
	}
	for _, l := range t.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, ddbtypes.LocalSecondaryIndex{
			IndexName:  aws.String(l.IndexName),
			KeySchema:  keySchema(l.KeySchema),
			Projection: projection(l.Projection),
		})
	}
	spec := TableSpec{LogicalID: id, Input: in}
	if ttl := t.TimeToLiveSpecification; ttl != nil && ttl.Enabled {
		spec.TTLAttribute = aws.ToString(ttl.AttributeName)
	}
	return spec, nil
}

func keySchema(ks []cfnddb.Table_KeySchema) []ddbtypes.KeySchemaElement {
	out := make([]ddbtypes.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: ddbtypes.KeyType(k.KeyType)})
	}
	return out
}

// projection defaults to ALL when the template leaves it out. CloudFormation would reject
// such a template anyway; the default keeps the local table usable meanwhile.
func projection(p *cfnddb.Table_Projection) *ddbtypes.Projection {
	if p == nil || p.ProjectionType == nil {
		return &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll}
	}
	return &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionType(*p.ProjectionType), NonKeyAttributes: p.NonKeyAttributes}
}

// parameterDefaults returns every parameter that has a default, as a string the way
// CloudFormation hands parameters around (numbers unquoted, lists comma-joined).
func parameterDefaults(params cloudformation.Parameters) map[string]string {
	out := make(map[string]string, len(params))
	for name, p := range params {
		if s, ok := scalarString(p.Default); ok {
			out[name] = s
		}
	}
	return out
}

// scalarString renders a decoded JSON value as CloudFormation would as a string.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int:
		return strconv.Itoa(v), true
	case bool:
		return strconv.FormatBool(v), true
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := scalarString(e)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), true
	}
	return "", false
}

// validate checks what would otherwise fail later and less clearly: in the gateway as a
// ServeMux conflict, or at run time as a missing handler.
func (t *Template) validate() error {
	var errs []error
	declared := map[string]bool{}
	for _, f := range t.Functions {
		declared[f] = true
	}
	seen := map[string]Route{}
	for _, r := range t.Routes {
		if !declared[r.Function] {
			errs = append(errs, fmt.Errorf("route %s %s: function %s is not declared", r.Method, r.Path, r.Function))
		}
		if prev, dup := seen[r.key()]; dup {
			errs = append(errs, fmt.Errorf("route %s %s of %s duplicates %s %s of %s", r.Method, r.Path, r.Function, prev.Method, prev.Path, prev.Function))
			continue
		}
		seen[r.key()] = r
	}
	for _, s := range t.Schedules {
		if !declared[s.Function] {
			errs = append(errs, fmt.Errorf("schedule %s: function %s is not declared", s.Event, s.Function))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// policies reads every function's inline policy statements, intrinsics kept.
func policies(data []byte, isJSON bool) (map[string][]json.RawMessage, error) {
	keep := func(name string, input any, _ any) any { return map[string]any{name: input} }
	overrides := map[string]intrinsics.IntrinsicHandler{}
	for _, fn := range []string{"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Join", "Fn::Select", "Fn::ImportValue", "Fn::FindInMap"} {
		overrides[fn] = keep
	}
	process := intrinsics.ProcessYAML
	if isJSON {
		process = intrinsics.ProcessJSON
	}
	processed, err := process(data, &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: overrides})
	if err != nil {
		return nil, fmt.Errorf("resolve intrinsics: %w", err)
	}
	var raw struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				Policies json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(processed, &raw); err != nil {
		return nil, fmt.Errorf("read policies: %w", err)
	}
	out := map[string][]json.RawMessage{}
	for id, r := range raw.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		out[id] = nil
		if len(r.Properties.Policies) == 0 {
			continue
		}
		var docs []struct{ Statement []json.RawMessage }
		if err := json.Unmarshal(r.Properties.Policies, &docs); err != nil {
			return nil, fmt.Errorf("function %s: Policies must be a list of inline statements: %w", id, err)
		}
		for _, d := range docs {
			out[id] = append(out[id], d.Statement...)
		}
	}
	return out, nil
}
