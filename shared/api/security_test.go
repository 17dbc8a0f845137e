package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecuritySettings(t *testing.T) {
	e := newEnv(t)
	body := temp("restricted")
	body["ipAllowlist"] = []string{"203.0.113.0/24", "2001:db8::1"}
	body["rateLimit"] = map[string]any{"limit": 1000, "per": "hour"}
	body["timeRestriction"] = map[string]any{"days": []string{"mon", "tue"}, "startHour": 9, "endHour": 18}
	b := e.create(alice, body)
	id := b["id"].(string)
	require.Equal(t, []any{"203.0.113.0/24", "2001:db8::1/128"}, b["ipAllowlist"])
	require.Equal(t, map[string]any{"limit": float64(1000), "per": "hour"}, b["rateLimit"])
	require.Equal(t, map[string]any{"days": []any{"mon", "tue"}, "startHour": float64(9), "endHour": float64(18)}, b["timeRestriction"])

	t.Run("changes need a reason", func(t *testing.T) {
		requireInvalid(t, e.do(alice, "PATCH", "/tokens/"+id, map[string]any{"ipAllowlist": []string{"10.0.0.0/8"}}), "reason")
		res := e.do(alice, "PATCH", "/tokens/"+id, map[string]any{"ipAllowlist": []string{"10.0.0.0/8"}, "reason": "moved to the VPN"})
		require.Equal(t, http.StatusOK, res.status, res.raw)
		require.Equal(t, []any{"10.0.0.0/8"}, res.body["ipAllowlist"])
		require.NotNil(t, res.body["rateLimit"], "other settings untouched")
	})
	t.Run("null removes a setting", func(t *testing.T) {
		res := e.do(alice, "PATCH", "/tokens/"+id, `{"rateLimit": null, "timeRestriction": null, "ipAllowlist": [], "reason": "lift"}`)
		require.Equal(t, http.StatusOK, res.status, res.raw)
		require.Nil(t, res.body["rateLimit"])
		require.Nil(t, res.body["timeRestriction"])
		require.Empty(t, res.body["ipAllowlist"])
	})
	t.Run("bad settings name the field and change nothing", func(t *testing.T) {
		before := e.do(alice, "GET", "/tokens/"+id, nil).body["version"]
		tests := []struct {
			body  string
			field string
		}{
			{`{"ipAllowlist": ["10.0.0.0/33"], "reason": "r"}`, "ipAllowlist[0]"},
			{`{"ipAllowlist": ["example.com"], "reason": "r"}`, "ipAllowlist[0]"},
			{`{"ipAllowlist": "10.0.0.1", "reason": "r"}`, "ipAllowlist"},
			{`{"rateLimit": {"limit": 0, "per": "hour"}, "reason": "r"}`, "rateLimit.limit"},
			{`{"rateLimit": {"limit": -3, "per": "hour"}, "reason": "r"}`, "rateLimit.limit"},
			{`{"rateLimit": {"limit": 5, "per": "week"}, "reason": "r"}`, "rateLimit.per"},
			{`{"rateLimit": {"limit": "5", "per": "hour"}, "reason": "r"}`, "rateLimit.limit"},
			{`{"rateLimit": {"limit": 5, "per": "hour", "burst": 9}, "reason": "r"}`, "rateLimit.burst"},
			{`{"timeRestriction": {"days": ["mon"], "startHour": -1, "endHour": 18}, "reason": "r"}`, "timeRestriction.startHour"},
			{`{"timeRestriction": {"days": ["mon"], "startHour": 9, "endHour": 25}, "reason": "r"}`, "timeRestriction.endHour"},
			{`{"timeRestriction": {"days": ["someday"], "startHour": 9, "endHour": 18}, "reason": "r"}`, "timeRestriction.days[0]"},
			{`{"timeRestriction": {"days": [], "startHour": 9, "endHour": 18}, "reason": "r"}`, "timeRestriction.days"},
		}
		for _, tt := range tests {
			requireInvalid(t, e.do(alice, "PATCH", "/tokens/"+id, tt.body), tt.field)
		}
		require.Equal(t, before, e.do(alice, "GET", "/tokens/"+id, nil).body["version"])
	})
	t.Run("bad settings at creation", func(t *testing.T) {
		bad := temp("x")
		bad["ipAllowlist"] = []string{"300.1.1.1"}
		bad["rateLimit"] = map[string]any{"limit": 10, "per": "fortnight"}
		requireInvalid(t, e.do(alice, "POST", "/tokens", bad), "ipAllowlist[0]", "rateLimit.per")
	})
}
