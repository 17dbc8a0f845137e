package authorizer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/authorizer"
	"tokengate/shared/token"
)

// reuses is the token's reuse-detected records, as its history has them.
func reuses(t *testing.T, f *fixture, id token.ID) []*audit.Event {
	t.Helper()
	evs, _, err := f.svc.History(context.Background(), localtest.Admin, id, 100, "")
	require.NoError(t, err)
	var out []*audit.Event
	for _, e := range evs {
		if e.Type == audit.EventReuseDetected {
			out = append(out, e)
		}
	}
	return out
}

// TestAReusedSecretIsRefusedAndRecordedOnceAnHour: two warm instances on one table see a
// rotated-away secret presented after its grace period; both refuse it as a reuse, the
// first request records it (audit record, alert) and no other request within the hour
// writes again, on either instance; an hour later the next one is recorded. The new
// secret keeps working: onReuse alert only alerts.
func TestAReusedSecretIsRefusedAndRecordedOnceAnHour(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	mk := func() *authorizer.Authorizer {
		return authorizer.New(authorizer.Config{Tokens: f.table, Rates: f.table, Keys: f.svc.Keys, Catalog: f.svc.Catalog,
			Prefix: "tg", Now: f.clock.Now, CacheTTL: cacheTTL, Reuse: f.svc})
	}
	a, b := mk(), mk()
	old := f.create(t, token.CreateInput{Name: "ci"})
	require.True(t, allow(a, old.Plaintext.Reveal()).Allow)
	require.True(t, allow(b, old.Plaintext.Reveal()).Allow, "both warm, the old secret cached")
	require.Empty(t, reuses(t, f, old.Token.ID))

	rotated, err := f.svc.Rotate(ctx, localtest.Admin, old.Token.ID, token.RotateInput{GracePeriod: time.Minute})
	require.NoError(t, err)
	require.True(t, allow(a, rotated.Plaintext.Reveal()).Allow, "the new secret works at once")
	require.True(t, allow(a, old.Plaintext.Reveal()).Allow, "the old one during the grace period")
	require.Empty(t, reuses(t, f, old.Token.ID), "within the grace period nothing is reuse")

	f.clock.Add(time.Minute)
	for i := 0; i < 3; i++ {
		for _, inst := range []*authorizer.Authorizer{a, b} {
			d := allow(inst, old.Plaintext.Reveal())
			require.False(t, d.Allow)
			require.Equal(t, authorizer.ReasonReused, d.Reason)
		}
	}
	evs := reuses(t, f, old.Token.ID)
	require.Len(t, evs, 1, "six refusals on two instances, one record")
	require.Equal(t, audit.ReuseDetector, evs[0].ActorID)
	require.Contains(t, evs[0].Changes, audit.Change{Field: "sourceIp", To: "203.0.113.9"})
	require.True(t, allow(b, rotated.Plaintext.Reveal()).Allow, "onReuse alert: the token keeps working")

	alerts, err := f.svc.ReuseAlerts(ctx, localtest.Admin)
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.Equal(t, old.Token.ID, alerts[0].Token.ID)
	require.Equal(t, "203.0.113.9", alerts[0].SourceIP)
	require.False(t, alerts[0].Revoked)
	other := access.Caller{OwnerID: "someone-else", Scopes: []string{access.TokensRead}}
	alerts, err = f.svc.ReuseAlerts(ctx, other)
	require.NoError(t, err)
	require.Empty(t, alerts, "another principal does not see the admin's token's alert")

	f.clock.Add(token.ReuseRecordEvery)
	require.Equal(t, authorizer.ReasonReused, allow(a, old.Plaintext.Reveal()).Reason)
	require.Equal(t, authorizer.ReasonReused, allow(b, old.Plaintext.Reveal()).Reason)
	require.Len(t, reuses(t, f, old.Token.ID), 2, "an hour later: recorded again, once")

	wrong, err := token.Generate("tg", old.Token.ID, f.svc.Keys, nil)
	require.NoError(t, err)
	require.Equal(t, authorizer.ReasonBadSecret, allow(a, wrong.Plaintext.Reveal()).Reason, "a secret never issued is no reuse")
	never := f.create(t, token.CreateInput{Name: "never rotated"})
	wrong, err = token.Generate("tg", never.Token.ID, f.svc.Keys, nil)
	require.NoError(t, err)
	require.Equal(t, authorizer.ReasonBadSecret, allow(a, wrong.Plaintext.Reveal()).Reason)
}

// TestOnReuseRevokeEndsTheTokenAndItsTemporaryChildrenOnEveryWarmInstance: with onReuse
// revoke, one presentation of the old secret revokes the token; both warm instances,
// which had the new secret and a temporary child cached, refuse both within 2 s.
func TestOnReuseRevokeEndsTheTokenAndItsTemporaryChildrenOnEveryWarmInstance(t *testing.T) {
	ctx := context.Background()
	p := newFeedPair(t)
	mk := func() *authorizer.Authorizer {
		return authorizer.New(authorizer.Config{Tokens: p.table, Rates: p.table, Leases: p.table, Feed: p.table, Keys: p.svc.Keys,
			Catalog: p.svc.Catalog, Prefix: "tg", CacheTTL: cacheTTL, Reuse: p.svc})
	}
	p.a, p.b = mk(), mk()
	old := p.create(t, token.CreateInput{Name: "deploy", Scopes: []string{access.TokensRead, access.TokensWrite}, OnReuse: "revoke"})
	require.Equal(t, token.ReuseRevoke, old.Token.OnReuse)
	// The service's clock is the fixture's: the rotation's grace period ends at once.
	rotated, err := p.svc.Rotate(ctx, localtest.Admin, old.Token.ID, token.RotateInput{})
	require.NoError(t, err)
	d := allow(p.a, rotated.Plaintext.Reveal())
	require.True(t, d.Allow)
	child, err := p.svc.Create(ctx, d.Caller, token.CreateInput{Name: "session", Type: token.TypeTemporary, Scopes: []string{access.TokensRead}})
	require.NoError(t, err)
	for _, s := range []string{rotated.Plaintext.Reveal(), child.Plaintext.Reveal()} {
		p.warm(t, s, allowed)
	}

	require.Equal(t, authorizer.ReasonReused, allow(p.b, old.Plaintext.Reveal()).Reason)
	got, err := p.svc.Get(ctx, localtest.Admin, old.Token.ID)
	require.NoError(t, err)
	require.Equal(t, token.StatusRevoked, got.Status, "revoked by the reuse")
	require.Equal(t, "203.0.113.9", got.ReuseIP)
	require.False(t, allow(p.b, rotated.Plaintext.Reveal()).Allow, "the instance that saw the reuse refuses at once")

	took := p.converge(t, rotated.Plaintext.Reveal(), refused(authorizer.ReasonInactive))
	t.Logf("the token: refused on both instances within %v", took.Round(time.Millisecond))
	took = p.converge(t, child.Plaintext.Reveal(), refused(authorizer.ReasonParentEnded))
	t.Logf("its temporary child: refused on both instances within %v", took.Round(time.Millisecond))

	evs := reuses(t, p.fixture, old.Token.ID)
	require.Len(t, evs, 1)
	require.Contains(t, evs[0].Changes, audit.Change{Field: "status", From: "active", To: "revoked"})
	alerts, err := p.svc.ReuseAlerts(ctx, localtest.Admin)
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.True(t, alerts[0].Revoked)
}
