package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzEvent: any Lambda event, given to the handler every API function runs.
// Properties: no panic; an event that is not an API Gateway proxy event is an error,
// never a request; any proxy event is either answered 400 (a body that is not base64)
// or reaches the handler, whose status and body come back unchanged (REST 1.0 and HTTP
// API 2.0 alike); the handler sees exactly the body the event carried (decoded when
// base64), and a caller only when the authorizer's context names one.
func FuzzEvent(f *testing.F) {
	rest, _ := json.Marshal(events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/tokens", Resource: "/tokens", Body: `{"name":"x"}`,
		Headers: map[string]string{"Content-Type": "application/json"}, MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}}})
	v2, _ := json.Marshal(events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/tokens/abc", RouteKey: "GET /tokens/{id}",
		PathParameters: map[string]string{"id": "abc"}, Body: "eyJhIjoxfQ==", IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/tokens/abc"}}})
	for _, s := range [][]byte{rest, v2, []byte(`{"version":"2.0","body":"%%","isBase64Encoded":true}`), []byte(`{"httpMethod":"GET","path":"/x?y","queryStringParameters":{"a":"b"}}`), []byte(`{}`), []byte(`null`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var saw []byte
		reached := false
		h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached = true
			saw, _ = io.ReadAll(r.Body)
			w.Header().Set("X-Test", "1")
			w.WriteHeader(299)
			_, _ = w.Write([]byte("answer"))
		}))
		out, err := h(context.Background(), raw)
		var probe struct {
			Version    string `json:"version"`
			HTTPMethod string `json:"httpMethod"`
			Body       string `json:"body"`
			Base64     bool   `json:"isBase64Encoded"`
		}
		isEvent := json.Unmarshal(raw, &probe) == nil && (probe.Version == "2.0" || probe.HTTPMethod != "")
		if err != nil {
			if reached {
				t.Fatal("an error after the handler ran")
			}
			return
		}
		if !isEvent {
			t.Fatalf("%q is no proxy event, yet answered %v", raw, out)
		}
		var status int
		var body string
		switch r := out.(type) {
		case events.APIGatewayProxyResponse:
			status, body = r.StatusCode, r.Body
		case events.APIGatewayV2HTTPResponse:
			status, body = r.StatusCode, r.Body
		default:
			t.Fatalf("answered %T", out)
		}
		if !reached {
			if status != http.StatusBadRequest {
				t.Fatalf("not handled, answered %d", status)
			}
			return
		}
		if status != 299 || body != "answer" {
			t.Fatalf("the handler's answer came back as %d %q", status, body)
		}
		want := []byte(probe.Body)
		if probe.Base64 {
			want, _ = base64.StdEncoding.DecodeString(probe.Body)
		}
		if !bytes.Equal(saw, want) {
			t.Fatalf("the handler read %q, the event carried %q", saw, want)
		}
	})
}
