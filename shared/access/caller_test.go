package access_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
)

// TestCallerContextRoundTrip: what the authorizer puts in its context is what a function
// reads back, the owner's version and incarnation included; every value is a string, as
// a REST API authorizer's context must be.
func TestCallerContextRoundTrip(t *testing.T) {
	for _, c := range []access.Caller{
		{TokenID: "t1", OwnerID: "alice", MinterID: "alice", Scopes: []string{access.TokensRead, access.TokensWrite}, Risk: access.RiskMedium, OwnerVersion: 7, OwnerIncarnation: "5f0c"},
		{TokenID: "t2", OwnerID: "ci", MinterID: "admin", Scopes: []string{access.TokensRead}, Risk: access.RiskLow, OwnerVersion: 1},
		{TokenID: "t3", OwnerID: "bob", MinterID: "bob", Scopes: []string{access.TokensRead}, Risk: access.RiskLow}, // owner not known
	} {
		m := map[string]any{}
		for k, v := range c.Context() {
			m[k] = v
		}
		got, ok := access.CallerFromContext(m)
		require.True(t, ok)
		require.Equal(t, c, got)
	}
	_, has := access.Caller{TokenID: "t", OwnerID: "bob"}.Context()[access.KeyOwnerVersion]
	require.False(t, has, "no version claimed when the owner is not known")
}

// TestCallerFromContextOwner: an owner version that is not a positive decimal string
// leaves the owner unknown (a create then reads it), never a version of 0 to check.
func TestCallerFromContextOwner(t *testing.T) {
	tests := []struct {
		name        string
		version     any
		wantVersion int64
		wantInc     string
	}{
		{"decimal", "12", 12, "abc"},
		{"absent", nil, 0, ""},
		{"zero", "0", 0, ""},
		{"negative", "-3", 0, ""},
		{"not a number", "12a", 0, ""},
		{"float", "1.5", 0, ""},
		{"not a string", float64(12), 0, ""},
		{"too large", "99999999999999999999", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]any{access.KeyTokenID: "t", access.KeyOwnerID: "alice", access.KeyScopes: "tokens:read", access.KeyOwnerIncarnation: "abc"}
			if tt.version != nil {
				m[access.KeyOwnerVersion] = tt.version
			}
			c, ok := access.CallerFromContext(m)
			require.True(t, ok)
			require.Equal(t, tt.wantVersion, c.OwnerVersion)
			require.Equal(t, tt.wantInc, c.OwnerIncarnation)
		})
	}
}
