// Package faults puts a fault proxy between tokengate's functions and the local stack's
// DynamoDB Local, local-kms and SES emulator, for the fault tests. Each dependency gets
// Shopify's toxiproxy, embedded (no binary to install), for what goes wrong on the wire:
// refused connections, stalls, latency, resets after the request went through; and
// behind it a small HTTP layer that answers chosen operations with the errors AWS gives
// (ThrottlingException, InternalServerError, KMSInternalException, SES Throttling).
// Everything listens on 127.0.0.1, on free ports. Start at New.
package faults

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// Stack is a fault proxy in front of each AWS service of the local stack.
type Stack struct {
	DynamoDB, KMS, SES *Dep
}

// New starts a fault proxy in front of each endpoint the environment names
// (AWS_ENDPOINT_URL_DYNAMODB, _KMS, _SES: `make test` sets them), stopped when t ends.
// Without them the test is skipped, or fails under CI=true.
func New(t testing.TB) *Stack {
	t.Helper()
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	dep := func(name, env string) *Dep {
		u := os.Getenv(env)
		if u == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not set: run the tests with `make test`, which starts the local stack", env)
			}
			t.Skipf("%s is not set: run the tests with `make test`, which starts the local stack", env)
		}
		target, err := url.Parse(u)
		require.NoError(t, err)
		return newDep(t, server, name, target)
	}
	return &Stack{
		DynamoDB: dep("dynamodb", "AWS_ENDPOINT_URL_DYNAMODB"),
		KMS:      dep("kms", "AWS_ENDPOINT_URL_KMS"),
		SES:      dep("ses", "AWS_ENDPOINT_URL_SES"),
	}
}

// Getenv returns getenv with the AWS endpoints pointing at the fault proxies: what a
// function's boot reads.
func (s *Stack) Getenv(getenv func(string) string) func(string) string {
	return func(k string) string {
		switch k {
		case "AWS_ENDPOINT_URL_DYNAMODB":
			return s.DynamoDB.URL
		case "AWS_ENDPOINT_URL_KMS":
			return s.KMS.URL
		case "AWS_ENDPOINT_URL_SES", "AWS_ENDPOINT_URL_SESV2":
			return s.SES.URL
		case "AWS_ENDPOINT_URL":
			return ""
		}
		return getenv(k)
	}
}

// Clear takes every fault away from every dependency.
func (s *Stack) Clear(t testing.TB) {
	t.Helper()
	for _, d := range []*Dep{s.DynamoDB, s.KMS, s.SES} {
		d.Clear(t)
	}
}

// Dep is the fault proxy of one dependency: functions call URL, which is toxiproxy,
// which forwards to the error layer, which forwards to the emulator.
type Dep struct {
	Name string
	URL  string

	proxy  *toxiproxy.Proxy
	mu     sync.Mutex
	fails  []*failure
	toxics []string
	seen   map[string]int // requests that reached the error layer, by operation
}

func newDep(t testing.TB, server *toxiproxy.ApiServer, name string, target *url.URL) *Dep {
	d := &Dep{Name: name, seen: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	layer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		op := operation(r, body)
		f := d.take(op, string(body))
		if f != nil && f.lose {
			// The request is done, the answer lost: a reset after the write.
			rp.ServeHTTP(httptest.NewRecorder(), r)
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				if tcp, ok := conn.(*net.TCPConn); ok {
					_ = tcp.SetLinger(0) // close with RST
				}
				conn.Close()
			}
			return
		}
		if f != nil {
			w.Header().Set("Content-Type", f.err.ContentType)
			w.Header().Set("X-Amzn-Requestid", "fault-"+op)
			w.WriteHeader(f.err.Status)
			_, _ = io.WriteString(w, f.err.Body)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(layer.Close)
	d.proxy = toxiproxy.NewProxy(server, name, "127.0.0.1:0", layer.Listener.Addr().String())
	require.NoError(t, d.proxy.Start())
	t.Cleanup(d.proxy.Stop)
	d.URL = "http://" + d.proxy.Listen
	return d
}

// operation names the AWS operation of a request: DynamoDB and KMS say it in
// X-Amz-Target ("DynamoDB_20120810.GetItem", "TrentService.Decrypt"), SES (query
// protocol) in the form field Action.
func operation(r *http.Request, body []byte) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t[strings.LastIndexByte(t, '.')+1:]
	}
	if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Action") != "" {
		return v.Get("Action")
	}
	return r.Method + " " + r.URL.Path
}

// AWSError is an error answer as the service gives it.
type AWSError struct {
	Status      int
	ContentType string
	Body        string
}

func dynamoError(status int, code, msg string) AWSError {
	return AWSError{status, "application/x-amz-json-1.0", fmt.Sprintf(`{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":%q}`, code, msg)}
}

func kmsError(status int, code, msg string) AWSError {
	return AWSError{status, "application/x-amz-json-1.1", fmt.Sprintf(`{"__type":%q,"message":%q}`, code, msg)}
}

func sesError(status int, typ, code, msg string) AWSError {
	return AWSError{status, "text/xml", fmt.Sprintf(`<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fault</RequestId></ErrorResponse>`, typ, code, msg)}
}

// The AWS answers the tests inject.
var (
	DynamoDBThrottling   = dynamoError(400, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
	DynamoDBProvisioned  = dynamoError(400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded.")
	DynamoDBInternal     = dynamoError(500, "InternalServerError", "Internal server error")
	KMSInternal          = kmsError(500, "KMSInternalException", "An internal error occurred.")
	SESThrottling        = sesError(400, "Sender", "Throttling", "Maximum sending rate exceeded.")
	SESMessageRejected   = sesError(400, "Sender", "MessageRejected", "Email address is not verified.")
	SESServiceUnavailble = sesError(503, "Receiver", "ServiceUnavailable", "Service unavailable.")
)

type failure struct {
	op   string
	err  AWSError
	lose bool   // forward, then reset instead of answering
	in   string // only requests whose body holds this
	skip int    // requests let through first
	left int    // < 0: until cleared
}

// Fail makes the next n requests of operation op (every one when n < 0; "" is any
// operation) answer e instead of reaching the emulator.
func (d *Dep) Fail(op string, e AWSError, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fails = append(d.fails, &failure{op: op, err: e, left: n})
}

// LoseAnswers lets the next n requests of operation op (every one when n < 0) reach the
// emulator, and take effect, then resets the connection instead of answering: a
// transaction done whose answer never arrives.
func (d *Dep) LoseAnswers(op string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fails = append(d.fails, &failure{op: op, lose: true, left: n})
}

// FailAfter is Fail that first lets skip requests of op through.
func (d *Dep) FailAfter(op string, skip int, e AWSError, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fails = append(d.fails, &failure{op: op, err: e, skip: skip, left: n})
}

// FailFor is Fail for the requests whose body (as sent: form-encoded for SES) holds in,
// such as one recipient's address.
func (d *Dep) FailFor(op, in string, e AWSError, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fails = append(d.fails, &failure{op: op, in: in, err: e, left: n})
}

func (d *Dep) take(op, body string) *failure {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen[op]++
	for _, f := range d.fails {
		if f.left == 0 || (f.op != "" && f.op != op) || !strings.Contains(body, f.in) {
			continue
		}
		if f.skip > 0 {
			f.skip--
			continue
		}
		if f.left > 0 {
			f.left--
		}
		return f
	}
	return nil
}

// Seen is how many requests of operation op reached the error layer.
func (d *Dep) Seen(op string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen[op]
}

// Down makes the dependency refuse connections (its proxy stops listening).
func (d *Dep) Down(t testing.TB) {
	t.Helper()
	d.proxy.Stop()
}

// Up makes it listen again, on the same address.
func (d *Dep) Up(t testing.TB) {
	t.Helper()
	require.NoError(t, d.proxy.Start())
}

// Stall lets connections open and requests through, but no answer back, until Clear:
// a dependency that hangs.
func (d *Dep) Stall(t testing.TB) { d.toxic(t, "stall", "timeout", "downstream", `{"timeout":0}`) }

// Latency delays every answer by ms milliseconds.
func (d *Dep) Latency(t testing.TB, ms int) {
	d.toxic(t, "latency", "latency", "downstream", fmt.Sprintf(`{"latency":%d}`, ms))
}

// ResetAnswers lets every request reach the emulator, and done, but resets the
// connection (TCP RST) when the answer comes back: the client never learns whether its
// write happened.
func (d *Dep) ResetAnswers(t testing.TB) {
	d.toxic(t, "reset", "reset_peer", "downstream", `{"timeout":0}`)
}

func (d *Dep) toxic(t testing.TB, name, typ, stream, attrs string) {
	t.Helper()
	_, err := d.proxy.Toxics.AddToxicJson(strings.NewReader(fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"attributes":%s}`, name, typ, stream, attrs)))
	require.NoError(t, err)
	d.mu.Lock()
	d.toxics = append(d.toxics, name)
	d.mu.Unlock()
}

// Clear takes every fault away: toxics, injected answers, and a Down.
func (d *Dep) Clear(t testing.TB) {
	t.Helper()
	d.mu.Lock()
	toxics := d.toxics
	d.fails, d.toxics = nil, nil
	d.mu.Unlock()
	for _, name := range toxics {
		require.NoError(t, d.proxy.Toxics.RemoveToxic(t.Context(), name))
	}
	if c, err := net.Dial("tcp", d.proxy.Listen); err == nil {
		c.Close()
		return
	}
	d.Up(t)
}
