package token

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/restriction"
)

// TestServiceRefusesBeforeReading: bad input and missing authority are answered before
// the Service reads or writes anything. Its Store and Principals are nil here, so a
// read would panic; the rest of each method is read, decide (the functions tested
// above), write, and runs against DynamoDB Local in shared/store, shared/api and
// infra/tglocal.
func TestServiceRefusesBeforeReading(t *testing.T) {
	s := &Service{Keys: ruleKeys, Catalog: ruleCatalog(t), Policy: DefaultPolicy(), Prefix: "tg", Now: func() time.Time { return now }}
	ctx := context.Background()
	id := generated(t, "").ID
	tok, err := Generate("tg", id, ruleKeys, nil)
	require.NoError(t, err)
	calls := []struct {
		rule string
		call func() error
		want string
	}{
		{"create without tokens:write", func() error { _, err := s.Create(ctx, viewer, CreateInput{Name: "x"}); return err }, "forbidden:tokens:write"},
		{"create with bad input", func() error { _, err := s.Create(ctx, admin, CreateInput{}); return err }, "invalid:name"},
		{"get without tokens:read", func() error { _, err := s.Get(ctx, caller("alice"), id); return err }, "forbidden:tokens:read"},
		{"get of no token id", func() error { _, err := s.Get(ctx, admin, "x"); return err }, "notfound"},
		{"list another's without tokens:admin", func() error { _, _, err := s.List(ctx, viewer, Filter{OwnerID: "bob"}); return err }, "forbidden:tokens:admin"},
		{"update with nothing to change", func() error { _, err := s.Update(ctx, admin, id, UpdateInput{}, 0); return err }, "invalid:"},
		{"update without tokens:write", func() error { _, err := s.Update(ctx, viewer, id, UpdateInput{Name: ptr("n")}, 0); return err }, "forbidden:tokens:write"},
		{"rotate with a long grace period", func() error { _, err := s.Rotate(ctx, admin, id, RotateInput{GracePeriod: 48 * time.Hour}); return err }, "invalid:gracePeriod"},
		{"rotate without tokens:write", func() error { _, err := s.Rotate(ctx, viewer, id, RotateInput{}); return err }, "forbidden:tokens:write"},
		{"disable with a bad reason", func() error { _, err := s.Disable(ctx, admin, id, "\x00"); return err }, "invalid:reason"},
		{"disable of no token id", func() error { _, err := s.Disable(ctx, admin, "nope", ""); return err }, "notfound"},
		{"enable with a bad reason", func() error { _, err := s.Enable(ctx, admin, id, strings.Repeat("x", 501)); return err }, "invalid:reason"},
		{"enable without tokens:write", func() error { _, err := s.Enable(ctx, viewer, id, ""); return err }, "forbidden:tokens:write"},
		{"revoke with a bad reason", func() error { _, err := s.Revoke(ctx, admin, id, "\x00"); return err }, "invalid:reason"},
		{"revoke without tokens:write", func() error { _, err := s.Revoke(ctx, viewer, id, ""); return err }, "forbidden:tokens:write"},
		{"history without tokens:read", func() error { _, _, err := s.History(ctx, caller("alice"), id, 10, ""); return err }, "forbidden:tokens:read"},
		{"audit without audit:read", func() error { _, _, err := s.Audit(ctx, viewer, AuditFilter{}); return err }, "forbidden:audit:read"},
		{"approvals without tokens:admin", func() error { _, _, err := s.Approvals(ctx, writer, 10, ""); return err }, "forbidden:tokens:admin"},
		{"approve with a delegated token", func() error { _, err := s.Approve(ctx, delegated("dana", access.TokensAdmin), id, ""); return err }, "forbidden:authority is personal"},
		{"reject without tokens:admin", func() error { _, err := s.Reject(ctx, writer, id, ""); return err }, "forbidden:tokens:admin"},
		{"approve of no token id", func() error { _, err := s.Approve(ctx, admin, "nope", ""); return err }, "notfound"},
		{"emergency for nine hours", func() error { _, err := s.EmergencyOn(ctx, admin, id, 9*time.Hour, "r"); return err }, "invalid:duration"},
		{"emergency without the scope", func() error { _, err := s.EmergencyOn(ctx, writer, id, time.Hour, "r"); return err }, "forbidden:emergency:activate"},
		{"emergency off with a bad reason", func() error { _, err := s.EmergencyOff(ctx, admin, id, "\x00"); return err }, "invalid:reason"},
		{"emergency off with a delegated token", func() error {
			_, err := s.EmergencyOff(ctx, delegated("sam", access.EmergencyActivate), id, "")
			return err
		}, "forbidden:authority is personal"},
		{"alerts without tokens:read", func() error { _, err := s.Alerts(ctx, caller("alice")); return err }, "forbidden:tokens:read"},
		{"an empty leak report", func() error { _, err := s.ReportLeaked(ctx, nil); return err }, "invalid:tokens"},
		{"enroll a principal without scopes", func() error { _, err := s.Enroll(ctx, &access.Principal{ID: "bob"}); return err }, "invalid:enrollmentToken"},
	}
	for _, tt := range calls {
		t.Run(tt.rule, func(t *testing.T) {
			requireErr(t, tt.want, tt.call())
		})
	}
	t.Run("a leak report of strings tokengate did not make reads nothing", func(t *testing.T) {
		revoked, err := s.ReportLeaked(ctx, []string{"hello", tok.Plaintext.Reveal()[:20]})
		require.NoError(t, err)
		require.Empty(t, revoked)
	})
}

func TestSmallRules(t *testing.T) {
	require.True(t, restriction.Set{}.IsZero())
	require.False(t, restriction.Set{RateLimit: &restriction.RateLimit{Limit: 1, Per: "day"}}.IsZero())
	require.Equal(t, "[redacted pepper]", ruleKeys.Current().String())
	sum, ok := ruleKeys.HashWith(1, []byte("enrollment secret"))
	require.True(t, ok)
	require.Equal(t, ruleKeys.Current().Hash(Secret{b: []byte("enrollment secret")}), sum)
	_, ok = ruleKeys.HashWith(2, []byte("x"))
	require.False(t, ok, "an unknown pepper version hashes nothing")
	id, err := NewID("alice", nil)
	require.NoError(t, err)
	require.Equal(t, OwnerRef("alice"), id.OwnerRef(), "an id carries its owner's reference")
	require.Empty(t, ID("short").OwnerRef())
	g := generated(t, "")
	require.Equal(t, "token.Secret{[redacted]}", g.Secret.GoString())
	txt, err := g.Secret.MarshalText()
	require.NoError(t, err)
	require.Equal(t, "[redacted]", string(txt))
	require.Equal(t, "tg_…", Hint("tg", "abc"))
	tok := stored(func(t *Token) { t.Hash = ruleKeys.Current().Hash(g.Secret) })
	ok, until := tok.VerifyUntil(ruleKeys, g.Secret, now)
	require.True(t, ok)
	require.True(t, until.IsZero(), "the current secret holds without an end")
	ok, _ = tok.VerifyUntil(ruleKeys, generated(t, "").Secret, now)
	require.False(t, ok)
	require.Equal(t, "90 days", formatLifetime(90*24*time.Hour))
	require.Equal(t, "36h0m0s", formatLifetime(36*time.Hour))
}
