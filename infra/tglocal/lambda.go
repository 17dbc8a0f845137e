package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"tokengate/infra/gateway"
	"tokengate/infra/iam"
	"tokengate/infra/samtemplate"
	"tokengate/shared/access"
)

// Lambda mode: every function runs as its built bootstrap under the AWS Lambda Runtime
// Interface Emulator (the emulator inside `sam local`), one emulator process per
// function, and the gateway sends each request as the REST proxy event API Gateway would
// send: the authorizer's REQUEST event first, then the function's proxy event with the
// authorizer's context. Nothing of the functions is linked into tglocal in this mode.

// LambdaConfig says where the binaries and the emulator are.
type LambdaConfig struct {
	RIE      string            // the aws-lambda-rie binary
	Dir      string            // <Dir>/<function, lower case>/bootstrap and catalog.json (make build-local)
	PortBase int               // 0: free ports; else function i listens on PortBase+2i, its runtime API on PortBase+2i+1
	Env      []string          // base environment of every function (AWS endpoints, credentials, TABLE_NAME...)
	Override map[string]string // set after the template's variables (local settings win)
	LogDir   string            // one <function>.log per emulator
	Stage    string            // the stage in requestContext.path
	// Denied hears of every AWS call a function made that its role would not allow
	// (iam.Roles.Guard); nil: they are only refused.
	Denied func(string)
	// Record, when set, collects the parts of each role the functions' calls used.
	Record *iam.Record
	// AuthorizerCache is API Gateway's cache of authorizer results (the template's
	// tokengate APIs keep it off; an API that attaches the authorizer may turn it on).
	AuthorizerCache AuthorizerCache
}

// AuthorizerCache is what API Gateway's authorizer result cache is keyed on and for how
// long it keeps a policy. With a TTL, a request whose identity sources are all equal to a
// cached one's gets that policy without the authorizer being called, and API Gateway
// checks the policy against this request's method ARN: what the policy does not cover is
// refused with 403.
type AuthorizerCache struct {
	TTL time.Duration
	// Sources as in identitySource: method.request.header.<name>, context.httpMethod,
	// context.resourcePath, context.identity.sourceIp. A request missing one is 401.
	Sources []string
}

// unreachable is where a function's endpoint for a service its role does not allow
// points: nothing listens there, so a call fails as a refused one would on AWS.
const unreachable = "http://127.0.0.1:9"

// lambdas are the running emulators, by function logical id.
type lambdas struct {
	fns    map[string]*lambdaFn
	stage  string
	guards []*http.Server // one DynamoDB proxy per function, enforcing its role
	cache  AuthorizerCache
	mu     sync.Mutex
	cached map[string]cachedPolicy // by identity source values
}

// cachedPolicy is one authorizer result in the gateway's cache.
type cachedPolicy struct {
	res     events.APIGatewayCustomAuthorizerResponse
	expires time.Time
}

type lambdaFn struct {
	name, dir, bootstrap, logPath string
	env                           []string
	url                           string
	cmd                           *exec.Cmd
	exited                        chan struct{} // closed when the emulator has ended
	mu                            sync.Mutex    // the emulator runs one invocation at a time, as one Lambda instance does
}

// initDuration finds the "cold start" line every function logs (boot.ColdStart).
var initDuration = regexp.MustCompile(`"msg":"cold start".*"initMs":([0-9.]+)`)

// startLambdas starts one emulator per function of tmpl. They start their bootstrap on
// the first invocation (as Lambda does on a cold start); Close stops them all.
func startLambdas(tmpl *samtemplate.Template, cfg LambdaConfig) (*lambdas, error) {
	rie, err := filepath.Abs(cfg.RIE) // each emulator runs in its function's folder
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(rie); err != nil {
		return nil, fmt.Errorf("lambda mode needs the runtime interface emulator (infra/install.sh stack puts it in .local/tools/bin): %w", err)
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return nil, err
	}
	l := &lambdas{fns: map[string]*lambdaFn{}, stage: cfg.Stage, cache: cfg.AuthorizerCache, cached: map[string]cachedPolicy{}}
	if l.stage == "" {
		l.stage = "v1"
	}
	roles, err := localRoles(tmpl, envValue(cfg.Env, cfg.Override, "NOTIFICATION_SENDER"))
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	for i, fn := range tmpl.Functions {
		index[fn] = i
		f, err := l.prepare(tmpl, cfg, fn, roles)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.fns[fn] = f
	}
	// A free port can be taken again before the emulator binds it (by any connection's
	// local port): an emulator that does not come up is started again on other ports.
	pending := slices.Clone(tmpl.Functions)
	for attempt := 1; len(pending) > 0; attempt++ {
		ports, err := lambdaPorts(0, 2*len(pending))
		if err != nil {
			l.Close()
			return nil, err
		}
		for i, fn := range pending {
			invoke, api := ports[2*i], ports[2*i+1]
			if cfg.PortBase > 0 {
				invoke, api = "127.0.0.1:"+strconv.Itoa(cfg.PortBase+2*index[fn]), "127.0.0.1:"+strconv.Itoa(cfg.PortBase+2*index[fn]+1)
			}
			if err := l.fns[fn].start(rie, invoke, api); err != nil {
				l.Close()
				return nil, err
			}
		}
		var failed []string
		for _, fn := range pending {
			f := l.fns[fn]
			if err := f.ready(15 * time.Second); err != nil {
				if attempt >= 3 || cfg.PortBase > 0 {
					l.Close()
					return nil, fmt.Errorf("emulator of %s: %w (log: %s)", fn, err, f.logPath)
				}
				f.stop()
				failed = append(failed, fn)
			}
		}
		pending = failed
	}
	return l, nil
}

// prepare works out function fn's folder and environment.
func (l *lambdas) prepare(tmpl *samtemplate.Template, cfg LambdaConfig, fn string, roles iam.Roles) (*lambdaFn, error) {
	dir, err := filepath.Abs(filepath.Join(cfg.Dir, strings.ToLower(strings.TrimSuffix(fn, "Function"))))
	if err != nil {
		return nil, err
	}
	bootstrap := filepath.Join(dir, "bootstrap")
	if _, err := os.Stat(bootstrap); err != nil {
		return nil, fmt.Errorf("function %s: no %s (run make build-local): %w", fn, bootstrap, err)
	}
	env := slices.Clone(cfg.Env)
	vars := maps.Clone(tmpl.Environment[fn])
	if vars == nil {
		vars = map[string]string{}
	}
	maps.Copy(vars, cfg.Override)
	// Least privilege, locally: every DynamoDB, KMS and SES call through a proxy that
	// refuses what the function's role in the template would, and no endpoint at all for
	// a service the role has no action of.
	for _, svc := range []string{"dynamodb", "kms", "ses"} {
		name := "AWS_ENDPOINT_URL_" + strings.ToUpper(svc)
		target := envValue(cfg.Env, vars, name)
		switch {
		case !roles.Uses(fn, svc):
			vars[name] = unreachable
		case target != "":
			guard, err := l.guard(fn, svc, target, roles, cfg)
			if err != nil {
				return nil, err
			}
			vars[name] = guard
		}
		if svc == "ses" {
			vars["AWS_ENDPOINT_URL_SESV2"] = vars[name]
		}
	}
	vars["CATALOG_FILE"] = filepath.Join(dir, "catalog.json")
	vars["LAMBDA_TASK_ROOT"] = dir
	vars["AWS_LAMBDA_FUNCTION_NAME"] = fn
	vars["AWS_LAMBDA_FUNCTION_TIMEOUT"] = "30"
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if vars[k] != "" {
			env = append(env, k+"="+vars[k])
		}
	}
	return &lambdaFn{name: fn, dir: dir, bootstrap: bootstrap, env: env, logPath: filepath.Join(cfg.LogDir, fn+".log")}, nil
}

// start runs the emulator on the given loopback addresses.
func (f *lambdaFn) start(rie, invokeAddr, apiAddr string) error {
	logf, err := os.OpenFile(f.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", apiAddr, "--log-level", "error", f.bootstrap)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = f.dir, f.env, logf, logf
	cmd.SysProcAttr = emulatorProcAttr() // stop the bootstrap with its emulator, the emulator with tglocal
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start emulator of %s: %w", f.name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	f.cmd, f.exited = cmd, exited
	f.url = "http://" + invokeAddr + "/2015-03-31/functions/function/invocations"
	return nil
}

// ready waits until the emulator accepts connections, and fails if it ends first.
func (f *lambdaFn) ready(limit time.Duration) error {
	addr := strings.TrimPrefix(strings.Split(f.url, "/2015")[0], "http://")
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-f.exited:
			return errors.New("the emulator ended before it listened (port taken?)")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s", addr, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the emulator and its bootstrap.
func (f *lambdaFn) stop() {
	if f.cmd == nil || f.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-f.exited:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		<-f.exited
	}
	f.cmd = nil
}

// envValue is k from vars, else from the environment list env (last one wins).
func envValue(env []string, vars map[string]string, k string) string {
	if v, ok := vars[k]; ok {
		return v
	}
	v := ""
	for _, kv := range env {
		if name, val, ok := strings.Cut(kv, "="); ok && name == k {
			v = val
		}
	}
	return v
}

// guard starts function fn's proxy for service svc to target and returns its URL.
func (l *lambdas) guard(fn, svc, target string, roles iam.Roles, cfg LambdaConfig) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("the %s endpoint %q: %w", svc, target, err)
	}
	denied := cfg.Denied
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = roles.Guard(fn, http.DefaultTransport, cfg.Record, func(msg string) {
		slog.Error("call refused: the role does not allow it", "function", fn, "call", msg)
		if denied != nil {
			denied(msg)
		}
	})
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	l.guards = append(l.guards, srv)
	return "http://" + ln.Addr().String(), nil
}

// lambdaPorts are n loopback addresses: base, base+1, ... or, without a base, n free
// ports (all held open until each is chosen, so none is handed out twice).
func lambdaPorts(base, n int) ([]string, error) {
	addrs := make([]string, 0, n)
	if base > 0 {
		for i := range n {
			addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(base+i))
		}
		return addrs, nil
	}
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		held = append(held, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// Close stops every emulator and its bootstrap, and the proxies.
func (l *lambdas) Close() {
	var wg sync.WaitGroup
	for _, f := range l.fns {
		wg.Add(1)
		go func() { defer wg.Done(); f.stop() }()
	}
	wg.Wait()
	for _, g := range l.guards {
		_ = g.Close()
	}
}

// InitDurations are the init durations, in ms, of the functions invoked so far: process
// start to ready, as each function's cold start line says.
func (l *lambdas) InitDurations() map[string]float64 {
	out := map[string]float64{}
	for name, f := range l.fns {
		fh, err := os.Open(f.logPath)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if m := initDuration.FindStringSubmatch(sc.Text()); m != nil {
				out[name], _ = strconv.ParseFloat(m[1], 64)
				break
			}
		}
		fh.Close()
	}
	return out
}

// errFunction is a function error: the Lambda returned an error or failed to start.
type errFunction struct{ msg string }

func (e *errFunction) Error() string { return "function error: " + e.msg }

// invoke sends event to fn and returns its result.
func (l *lambdas) invoke(ctx context.Context, fn string, event any) ([]byte, error) {
	f := l.fns[fn]
	if f == nil {
		return nil, fmt.Errorf("no function %s", fn)
	}
	body, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", fn, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", fn, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, &errFunction{msg: fmt.Sprintf("%s: emulator answered %d: %s", fn, res.StatusCode, out)}
	}
	var failed struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(out, &failed) == nil && failed.ErrorMessage != "" {
		return nil, &errFunction{msg: failed.ErrorMessage}
	}
	return out, nil
}

// requestID is a random id in the form API Gateway uses.
func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

var pathParam = regexp.MustCompile(`\{([^{}/+]+)\+?\}`)

// proxyRequest is the part of the REST proxy event taken from the HTTP request alone.
func proxyRequest(r *http.Request, resource, stage string) events.APIGatewayProxyRequest {
	ev := events.APIGatewayProxyRequest{
		Resource: resource, Path: r.URL.EscapedPath(), HTTPMethod: r.Method,
		Headers: map[string]string{}, MultiValueHeaders: map[string][]string{},
	}
	hdr := r.Header.Clone()
	hdr.Set("Host", r.Host)
	for k, vs := range hdr {
		ev.Headers[k] = vs[len(vs)-1] // API Gateway keeps the last of repeated headers here
		ev.MultiValueHeaders[k] = vs
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters, ev.MultiValueQueryStringParameters = map[string]string{}, map[string][]string{}
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}
	for _, m := range pathParam.FindAllStringSubmatch(resource, -1) {
		if ev.PathParameters == nil {
			ev.PathParameters = map[string]string{}
		}
		ev.PathParameters[m[1]] = r.PathValue(m[1])
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	ev.RequestContext = events.APIGatewayProxyRequestContext{
		AccountID: "123456789012", ResourceID: "local", Stage: stage, RequestID: requestID(),
		Identity:     events.APIGatewayRequestIdentity{SourceIP: host, UserAgent: r.UserAgent()},
		ResourcePath: resource, HTTPMethod: r.Method, APIID: "local", Path: "/" + stage + ev.Path,
		Protocol: r.Proto, DomainName: r.Host, RequestTimeEpoch: time.Now().UnixMilli(),
	}
	return ev
}

// resourceOf turns the gateway's ServeMux pattern ("GET /files/{proxy...}") back into
// the template's resource ("/files/{proxy+}").
func resourceOf(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	return strings.ReplaceAll(pattern, "...}", "+}")
}

// authorize invokes the authorizer function with the REQUEST event API Gateway sends and
// reads its answer as API Gateway does: the error "Unauthorized" is 401; otherwise the
// policy decides for this request's method ARN (an Allow statement covering it lets the
// request through with the policy's context, anything else is 403). With the cache on, a
// policy is reused for every request with the same identity source values, and checked
// against each one's method ARN.
func (l *lambdas) authorize(authorizerFn string) gateway.Authorize {
	return func(r *http.Request) (access.Caller, gateway.Verdict) {
		p := proxyRequest(r, resourceOf(r.Pattern), l.stage)
		methodArn := "arn:aws:execute-api:us-east-1:123456789012:local/" + l.stage + "/" + r.Method + p.Path
		key, ok := l.cacheKey(p)
		if !ok {
			return access.Caller{}, gateway.Unauthorized // an identity source is missing
		}
		if key != "" {
			l.mu.Lock()
			c, hit := l.cached[key]
			l.mu.Unlock()
			if hit && time.Now().Before(c.expires) {
				return verdictOf(c.res, methodArn)
			}
		}
		ev := events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type:      "REQUEST",
			MethodArn: methodArn,
			Resource:  p.Resource, Path: p.Path, HTTPMethod: p.HTTPMethod,
			Headers: p.Headers, MultiValueHeaders: p.MultiValueHeaders,
			QueryStringParameters: p.QueryStringParameters, MultiValueQueryStringParameters: p.MultiValueQueryStringParameters,
			PathParameters: p.PathParameters,
			RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
				Path: p.RequestContext.Path, AccountID: p.RequestContext.AccountID, ResourceID: p.RequestContext.ResourceID,
				Stage: l.stage, RequestID: p.RequestContext.RequestID, ResourcePath: p.Resource, HTTPMethod: p.HTTPMethod, APIID: "local",
				Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: p.RequestContext.Identity.SourceIP},
			},
		}
		out, err := l.invoke(r.Context(), authorizerFn, ev)
		var fe *errFunction
		if errors.As(err, &fe) && fe.msg == "Unauthorized" {
			return access.Caller{}, gateway.Unauthorized
		}
		if err != nil {
			return access.Caller{}, gateway.Failed
		}
		var res events.APIGatewayCustomAuthorizerResponse
		if err := json.Unmarshal(out, &res); err != nil || len(res.PolicyDocument.Statement) == 0 {
			return access.Caller{}, gateway.Failed
		}
		if key != "" {
			l.mu.Lock()
			l.cached[key] = cachedPolicy{res: res, expires: time.Now().Add(l.cache.TTL)}
			l.mu.Unlock()
		}
		return verdictOf(res, methodArn)
	}
}

// cacheKey is the request's identity source values, "" when the cache is off; ok is
// false when one is missing (API Gateway answers 401 without calling the authorizer).
func (l *lambdas) cacheKey(p events.APIGatewayProxyRequest) (key string, ok bool) {
	if l.cache.TTL <= 0 {
		return "", true
	}
	var b strings.Builder
	for _, src := range l.cache.Sources {
		var v string
		switch {
		case strings.HasPrefix(src, "method.request.header."):
			v = p.Headers[http.CanonicalHeaderKey(strings.TrimPrefix(src, "method.request.header."))]
		case src == "context.httpMethod":
			v = p.HTTPMethod
		case src == "context.resourcePath":
			v = p.Resource
		case src == "context.identity.sourceIp":
			v = p.RequestContext.Identity.SourceIP
		}
		if v == "" {
			return "", false
		}
		b.WriteString(v)
		b.WriteByte(0)
	}
	return b.String(), true
}

// verdictOf is API Gateway's reading of an authorizer's policy for one method ARN: an
// explicit Deny covering it, or no Allow covering it, is 403.
func verdictOf(res events.APIGatewayCustomAuthorizerResponse, methodArn string) (access.Caller, gateway.Verdict) {
	allowed := false
	for _, st := range res.PolicyDocument.Statement {
		covers := false
		for _, pattern := range st.Resource {
			covers = covers || arnMatches(pattern, methodArn)
		}
		switch {
		case covers && st.Effect == "Deny":
			return access.Caller{}, gateway.Denied
		case covers && st.Effect == "Allow":
			allowed = true
		}
	}
	if !allowed {
		return access.Caller{}, gateway.Denied
	}
	// API Gateway hands the context to the function with every value a string.
	ctx := map[string]any{}
	for k, v := range res.Context {
		ctx[k] = fmt.Sprint(v)
	}
	c, ok := access.CallerFromContext(ctx)
	if !ok {
		return access.Caller{}, gateway.Failed
	}
	return c, gateway.Allow
}

// arnMatches is IAM's resource matching: * any run of characters (slashes included), ?
// one character.
func arnMatches(pattern, arn string) bool {
	if pattern == "" {
		return arn == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(arn); i++ {
			if arnMatches(pattern[1:], arn[i:]) {
				return true
			}
		}
		return false
	case '?':
		return arn != "" && arnMatches(pattern[1:], arn[1:])
	}
	return arn != "" && arn[0] == pattern[0] && arnMatches(pattern[1:], arn[1:])
}

// handler sends a request to fn as a REST proxy event and writes its proxy response.
func (l *lambdas) handler(fn string, respond func(http.ResponseWriter, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := proxyRequest(r, resourceOf(r.Pattern), l.stage)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			respond(w, "DEFAULT_4XX")
			return
		}
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
		if c, ok := access.CallerFrom(r.Context()); ok {
			ev.RequestContext.Authorizer = map[string]any{"principalId": c.OwnerID}
			for k, v := range c.Context() {
				ev.RequestContext.Authorizer[k] = v
			}
		}
		out, err := l.invoke(r.Context(), fn, ev)
		if err != nil {
			respond(w, "INTEGRATION_FAILURE")
			return
		}
		var res events.APIGatewayProxyResponse
		if err := json.Unmarshal(out, &res); err != nil || res.StatusCode == 0 {
			respond(w, "INTEGRATION_FAILURE")
			return
		}
		for k, v := range res.Headers {
			w.Header().Set(k, v)
		}
		for k, vs := range res.MultiValueHeaders {
			w.Header()[http.CanonicalHeaderKey(k)] = vs
		}
		payload := []byte(res.Body)
		if res.IsBase64Encoded {
			if payload, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
				respond(w, "INTEGRATION_FAILURE")
				return
			}
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(payload)
	})
}

// localRoles are the template's roles, the mail sender's condition resolved to sender
// (NOTIFICATION_SENDER, which the template takes from the NotificationSender parameter).
func localRoles(tmpl *samtemplate.Template, sender string) (iam.Roles, error) {
	return iam.FromTemplate(tmpl, map[string]string{"NotificationSender": sender})
}
