package gateway

import (
	"encoding/json"
	"net/http"
	"strings"

	"tokengate/infra/samtemplate"
)

// responder answers a request API Gateway refuses itself, with the gateway response of
// the given type.
type responder func(w http.ResponseWriter, typ string)

// builtin are API Gateway's defaults for the response types the local gateway produces:
// status, message and the DEFAULT_4XX / DEFAULT_5XX group a type falls back to.
var builtin = map[string]struct {
	status int
	msg    string
}{
	"UNAUTHORIZED":                   {http.StatusUnauthorized, "Unauthorized"},
	"ACCESS_DENIED":                  {http.StatusForbidden, "User is not authorized to access this resource with an explicit deny"},
	"MISSING_AUTHENTICATION_TOKEN":   {http.StatusForbidden, "Missing Authentication Token"},
	"AUTHORIZER_FAILURE":             {http.StatusInternalServerError, "Internal server error"},
	"AUTHORIZER_CONFIGURATION_ERROR": {http.StatusInternalServerError, "Internal server error"},
	"THROTTLED":                      {http.StatusTooManyRequests, "Too Many Requests"},
	"INTEGRATION_FAILURE":            {http.StatusBadGateway, "Internal server error"},
	"REQUEST_TOO_LARGE":              {http.StatusRequestEntityTooLarge, "Request Too Long"},
}

// responses answers with the template's gateway response of a type, else the template's
// DEFAULT_4XX or DEFAULT_5XX, else API Gateway's built-in {"message": ...}. Templates are
// rendered the way API Gateway renders the variables tokengate's use:
// $context.error.message, $context.error.messageString and $context.error.responseType.
func responses(declared map[string]samtemplate.GatewayResponse) responder {
	return func(w http.ResponseWriter, typ string) {
		b, ok := builtin[typ]
		if !ok {
			b.status, b.msg = http.StatusInternalServerError, "Internal server error"
		}
		gr, ok := declared[typ]
		if !ok {
			group := "DEFAULT_4XX"
			if b.status >= 500 {
				group = "DEFAULT_5XX"
			}
			gr, ok = declared[group]
		}
		status := b.status
		if ok && gr.StatusCode != 0 {
			status = gr.StatusCode
		}
		body, contentType := "", "application/json"
		if ok && gr.Template != "" {
			quoted, _ := json.Marshal(b.msg)
			body = strings.NewReplacer(
				"$context.error.messageString", string(quoted),
				"$context.error.message", b.msg,
				"$context.error.responseType", typ,
			).Replace(gr.Template)
		} else {
			j, _ := json.Marshal(map[string]string{"message": b.msg})
			body = string(j)
		}
		if ok {
			for k, v := range gr.Headers {
				w.Header().Set(k, v)
			}
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// Responder returns what answers a request with the gateway response of a type (for
// instance INTEGRATION_FAILURE when a function fails), as the gateway itself does.
func Responder(declared map[string]samtemplate.GatewayResponse) func(w http.ResponseWriter, typ string) {
	return responses(declared)
}
