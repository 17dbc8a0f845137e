package boot_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/shared/boot"
)

// TestAmbiguousRouteScopesFailTheStart: two ROUTE_SCOPES keys equally specific for some
// request fail the cold start, and the message names both.
func TestAmbiguousRouteScopesFailTheStart(t *testing.T) {
	env := map[string]string{"TABLE_NAME": "t", "KMS_KEY_ID": "k",
		"ROUTE_SCOPES": `{"GET /orders/{id}": ["orders:read"], "GET /orders/{orderId}": ["orders:admin"]}`}
	_, err := boot.LoadSettings(func(k string) string { return env[k] })
	require.Error(t, err)
	require.Contains(t, err.Error(), "GET /orders/{id}")
	require.Contains(t, err.Error(), "GET /orders/{orderId}")

	env["ROUTE_SCOPES"] = `{"GET /orders/{id}": ["orders:read"], "ANY /orders/{proxy+}": ["orders:admin"], "ANY /{proxy+}": []}`
	_, err = boot.LoadSettings(func(k string) string { return env[k] })
	require.NoError(t, err)
}
