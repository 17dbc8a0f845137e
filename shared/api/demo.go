package api

import (
	"net/http"

	"tokengate/shared/access"
)

// DemoEcho serves GET /demo/echo, the example API that attaches the tokengate
// authorizer: it answers with the authorizer context it received, so you can see what a
// protected API learns about its caller.
func DemoEcho() http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		writeJSON(w, http.StatusOK, map[string]any{
			"message":    "Hello from an API protected by the tokengate authorizer.",
			"authorizer": c.Context(),
		})
		return nil
	})
}
