package lambdahttp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
)

// TestRESTSampleEvents round-trips every sample REST proxy event through Handler, the
// handler every function's main starts: what API Gateway sent is what the handler sees,
// and the answer is a REST proxy response.
func TestRESTSampleEvents(t *testing.T) {
	files, err := filepath.Glob("../../events/*.json")
	require.NoError(t, err)
	n := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		var kind struct{ HTTPMethod, Type string }
		require.NoError(t, json.Unmarshal(raw, &kind), file)
		if kind.HTTPMethod == "" || kind.Type != "" {
			continue
		}
		n++
		t.Run(filepath.Base(file), func(t *testing.T) {
			var ev events.APIGatewayProxyRequest
			require.NoError(t, json.Unmarshal(raw, &ev))
			require.Equal(t, ev.Resource, ev.RequestContext.ResourcePath)
			require.Equal(t, "/"+ev.RequestContext.Stage+ev.Path, ev.RequestContext.Path)
			var seen *http.Request
			var body []byte
			var caller access.Caller
			var ok bool
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = r
				body, _ = io.ReadAll(r.Body)
				caller, ok = access.CallerFrom(r.Context())
				w.Header().Add("Set-Cookie", "a=1")
				w.Header().Add("Set-Cookie", "b=2")
				w.WriteHeader(http.StatusAccepted)
			})
			out, err := Handler(h)(context.Background(), raw)
			require.NoError(t, err)
			res, isREST := out.(events.APIGatewayProxyResponse)
			require.True(t, isREST, "a REST event gets a REST response, got %T", out)
			require.Equal(t, http.StatusAccepted, res.StatusCode)
			require.Equal(t, []string{"a=1", "b=2"}, res.MultiValueHeaders["Set-Cookie"], "repeated headers survive")

			require.Equal(t, ev.HTTPMethod, seen.Method)
			require.Equal(t, ev.Path, seen.URL.Path)
			for k, v := range ev.PathParameters {
				require.Equal(t, v, seen.PathValue(k))
			}
			for k, v := range ev.QueryStringParameters {
				require.Equal(t, v, seen.URL.Query().Get(k))
			}
			for k, vs := range ev.MultiValueHeaders {
				if k == "Host" {
					require.Equal(t, vs[0], seen.Host)
					continue
				}
				require.Equal(t, vs, seen.Header.Values(k), "header %s", k)
			}
			require.Equal(t, ev.RequestContext.Identity.SourceIP+":0", seen.RemoteAddr)
			require.Equal(t, ev.Body, string(body))
			if ev.RequestContext.Authorizer == nil {
				require.False(t, ok, "a route without an authorizer has no caller")
				return
			}
			require.True(t, ok)
			require.Equal(t, sampleCaller, caller)
		})
	}
	require.Greater(t, n, 20, "the functions behind the REST API have REST samples")
}

func TestRESTRequest(t *testing.T) {
	ev := events.APIGatewayProxyRequest{
		HTTPMethod: "POST", Path: "/tokens/a%2Fb", Resource: "/tokens/{id}",
		MultiValueHeaders:               map[string][]string{"Accept": {"a/b", "c/d"}},
		MultiValueQueryStringParameters: map[string][]string{"x": {"1", "2"}, "a b": {"c&d"}},
		PathParameters:                  map[string]string{"id": "a/b"},
		Body:                            "AP8QeA==", IsBase64Encoded: true,
	}
	var seen *http.Request
	var body []byte
	res, err := REST(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		body, _ = io.ReadAll(r.Body)
		_, _ = w.Write([]byte{0xff, 0x00})
	}))(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, "/tokens/a/b", seen.URL.Path)
	require.Equal(t, "/tokens/a%2Fb", seen.URL.RawPath)
	require.Equal(t, "a+b=c%26d&x=1&x=2", seen.URL.RawQuery)
	require.Equal(t, []string{"1", "2"}, seen.URL.Query()["x"])
	require.Equal(t, []string{"a/b", "c/d"}, seen.Header.Values("Accept"))
	require.Equal(t, "a/b", seen.PathValue("id"))
	require.Equal(t, []byte{0x00, 0xff, 0x10, 'x'}, body)
	require.True(t, res.IsBase64Encoded, "a binary answer travels base64-encoded")
	require.Equal(t, "/wA=", res.Body)

	ev.Body = "not base64!"
	res, err = REST(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("must not be called") }))(context.Background(), ev)
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
}

func TestHandlerRejectsOtherEvents(t *testing.T) {
	_, err := Handler(http.NotFoundHandler())(context.Background(), json.RawMessage(`{"source":"aws.events"}`))
	require.ErrorContains(t, err, "not an API Gateway proxy event")
	out, err := Handler(http.NotFoundHandler())(context.Background(), json.RawMessage(`{"version":"2.0","routeKey":"GET /x","rawPath":"/x","requestContext":{"http":{"method":"GET"}}}`))
	require.NoError(t, err)
	require.IsType(t, events.APIGatewayV2HTTPResponse{}, out, "2.0 events keep their own response")
}
