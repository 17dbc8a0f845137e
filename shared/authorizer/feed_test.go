package authorizer_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/boot"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// feedBound is the promise: a change shows on every warm instance within 2 s.
const feedBound = 2 * time.Second

// feedPair is two warm instances reading the change feed, on the real clock, and a
// third without the feed: the control, which keeps what it cached for AUTH_CACHE_TTL.
type feedPair struct {
	*fixture
	a, b, control *authorizer.Authorizer
}

func newFeedPair(t *testing.T) *feedPair {
	f := newFixture(t, 0)
	mk := func(feed authorizer.Feed) *authorizer.Authorizer {
		return authorizer.New(authorizer.Config{Tokens: f.table, Rates: f.table, Leases: f.table, Feed: feed, Keys: f.svc.Keys,
			Catalog: f.svc.Catalog, Prefix: "tg", CacheTTL: cacheTTL})
	}
	return &feedPair{fixture: f, a: mk(f.table), b: mk(f.table), control: mk(nil)}
}

// warm has every instance decide s now, as want says.
func (p *feedPair) warm(t *testing.T, s string, want func(authorizer.Decision) bool) {
	t.Helper()
	for _, a := range []*authorizer.Authorizer{p.a, p.b, p.control} {
		d := allow(a, s)
		require.True(t, want(d), "before the change: %s", d.Reason)
	}
}

// converge asks both feed instances about s every 10 ms until both decide as want says,
// and returns how long the slower took; the control still decides as before.
func (p *feedPair) converge(t *testing.T, s string, want func(authorizer.Decision) bool) time.Duration {
	t.Helper()
	start := time.Now()
	var took [2]time.Duration
	for i, a := range []*authorizer.Authorizer{p.a, p.b} {
		for {
			d := allow(a, s)
			if want(d) {
				took[i] = time.Since(start)
				break
			}
			require.Less(t, time.Since(start), feedBound, "instance %d still decides %s", i, d.Reason)
			// The other instance is busy too: it serves requests meanwhile.
			allow([]*authorizer.Authorizer{p.b, p.a}[i], s)
			time.Sleep(10 * time.Millisecond)
		}
	}
	require.False(t, want(allow(p.control, s)), "the control, without the feed, still has the old decision cached")
	return max(took[0], took[1])
}

func allowed(d authorizer.Decision) bool { return d.Allow }

func refused(r authorizer.Reason) func(authorizer.Decision) bool {
	return func(d authorizer.Decision) bool { return d.Reason == r }
}

// TestEveryChangeShowsOnEveryInstanceWithin2s: each kind of change of a token or its
// owner, made while two instances have the old decision cached, is decided anew by both
// within 2 s, with AUTH_CACHE_TTL at 30 s.
func TestEveryChangeShowsOnEveryInstanceWithin2s(t *testing.T) {
	ctx := context.Background()
	root := access.Caller{TokenID: "root-token", OwnerID: "root", Scopes: []string{access.EmergencyActivate, access.TokensRead, access.TokensWrite, access.TokensAdmin}}
	principalWith := func(t *testing.T, p *feedPair) (string, token.Created) {
		id := localtest.Name("p")
		require.NoError(t, p.table.PutPrincipal(ctx, &access.Principal{ID: id, Kind: "user", Scopes: []string{access.TokensRead, access.TokensWrite}, Version: 1}, 0))
		return id, p.create(t, token.CreateInput{OwnerID: id})
	}
	for _, tt := range []struct {
		name   string
		before func(authorizer.Decision) bool
		change func(t *testing.T, p *feedPair) string // the token string to ask about
		after  func(authorizer.Decision) bool
	}{
		{"revoke", allowed, func(t *testing.T, p *feedPair) string {
			c := p.create(t, token.CreateInput{})
			p.warm(t, c.Plaintext.Reveal(), allowed)
			_, err := p.svc.Revoke(ctx, localtest.Admin, c.Token.ID, "")
			require.NoError(t, err)
			return c.Plaintext.Reveal()
		}, refused(authorizer.ReasonInactive)},
		{"disable", allowed, func(t *testing.T, p *feedPair) string {
			c := p.create(t, token.CreateInput{})
			p.warm(t, c.Plaintext.Reveal(), allowed)
			_, err := p.svc.Disable(ctx, localtest.Admin, c.Token.ID, "")
			require.NoError(t, err)
			return c.Plaintext.Reveal()
		}, refused(authorizer.ReasonInactive)},
		{"enable", refused(authorizer.ReasonInactive), func(t *testing.T, p *feedPair) string {
			c := p.create(t, token.CreateInput{})
			_, err := p.svc.Disable(ctx, localtest.Admin, c.Token.ID, "")
			require.NoError(t, err)
			p.warm(t, c.Plaintext.Reveal(), refused(authorizer.ReasonInactive))
			_, err = p.svc.Enable(ctx, localtest.Admin, c.Token.ID, "")
			require.NoError(t, err)
			return c.Plaintext.Reveal()
		}, allowed},
		{"restriction tightened", allowed, func(t *testing.T, p *feedPair) string {
			c := p.create(t, token.CreateInput{})
			p.warm(t, c.Plaintext.Reveal(), allowed)
			list := []string{"198.51.100.0/24"}
			_, err := p.svc.Update(ctx, localtest.Admin, c.Token.ID, token.UpdateInput{IPAllowlist: &list, Reason: "tighten"}, 0)
			require.NoError(t, err)
			return c.Plaintext.Reveal()
		}, refused(authorizer.ReasonIP)},
		{"reported leaked", allowed, func(t *testing.T, p *feedPair) string {
			c := p.create(t, token.CreateInput{})
			p.warm(t, c.Plaintext.Reveal(), allowed)
			revoked, err := p.svc.ReportLeaked(ctx, []string{c.Plaintext.Reveal()})
			require.NoError(t, err)
			require.Len(t, revoked, 1)
			return c.Plaintext.Reveal()
		}, refused(authorizer.ReasonInactive)},
		{"owner narrowed", allowed, func(t *testing.T, p *feedPair) string {
			id, c := principalWith(t, p)
			p.warm(t, c.Plaintext.Reveal(), allowed)
			localtest.ChangePrincipal(t, p.table, id, func(pr *access.Principal) { pr.Scopes = []string{access.TokensWrite} })
			return c.Plaintext.Reveal()
		}, refused(authorizer.ReasonOwnerScopes)},
		{"owner deleted", allowed, func(t *testing.T, p *feedPair) string {
			id, c := principalWith(t, p)
			p.warm(t, c.Plaintext.Reveal(), allowed)
			require.NoError(t, p.table.DeletePrincipal(ctx, id, 1))
			return c.Plaintext.Reveal()
		}, refused(authorizer.ReasonOwnerGone)},
		{"emergency access on", refused(authorizer.ReasonIP), func(t *testing.T, p *feedPair) string {
			c := p.create(t, token.CreateInput{IPAllowlist: []string{"198.51.100.0/24"}})
			p.warm(t, c.Plaintext.Reveal(), refused(authorizer.ReasonIP))
			_, err := p.svc.EmergencyOn(ctx, root, c.Token.ID, time.Hour, "incident")
			require.NoError(t, err)
			return c.Plaintext.Reveal()
		}, allowed},
		{"emergency access off", allowed, func(t *testing.T, p *feedPair) string {
			c := p.create(t, token.CreateInput{IPAllowlist: []string{"198.51.100.0/24"}})
			_, err := p.svc.EmergencyOn(ctx, root, c.Token.ID, time.Hour, "incident")
			require.NoError(t, err)
			p.warm(t, c.Plaintext.Reveal(), allowed)
			_, err = p.svc.EmergencyOff(ctx, root, c.Token.ID, "over")
			require.NoError(t, err)
			return c.Plaintext.Reveal()
		}, refused(authorizer.ReasonIP)},
		{"parent revoked: its temporary child", allowed, func(t *testing.T, p *feedPair) string {
			parent := p.create(t, token.CreateInput{Name: "parent", Scopes: []string{access.TokensRead, access.TokensWrite}})
			d := allow(p.a, parent.Plaintext.Reveal())
			require.True(t, d.Allow)
			child, err := p.svc.Create(ctx, d.Caller, token.CreateInput{Name: "child", Type: token.TypeTemporary, Scopes: []string{access.TokensRead}})
			require.NoError(t, err)
			require.Equal(t, parent.Token.ID, child.Token.ParentID)
			p.warm(t, child.Plaintext.Reveal(), allowed)
			_, err = p.svc.Revoke(ctx, localtest.Admin, parent.Token.ID, "")
			require.NoError(t, err)
			return child.Plaintext.Reveal()
		}, refused(authorizer.ReasonParentEnded)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newFeedPair(t)
			s := tt.change(t, p)
			took := p.converge(t, s, tt.after)
			t.Logf("%s: both instances within %v", tt.name, took.Round(time.Millisecond))
		})
	}
}

// switchable is an http.RoundTripper that fails every request while down is set: the
// table (and its feed) unreachable.
type switchable struct {
	next http.RoundTripper
	down atomic.Bool
}

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.down.Load() {
		return nil, errors.New("unreachable (test)")
	}
	return s.next.RoundTrip(r)
}

// TestFeedUnreadableFallsBackToTheCacheTTL: with the feed's reads failing, a revoked
// token is refused within AUTH_CACHE_TTL, never later; and with the table unreachable
// too, a decision cached is used no longer than AUTH_CACHE_TTL, then refused.
func TestFeedUnreadableFallsBackToTheCacheTTL(t *testing.T) {
	ctx := context.Background()
	t.Run("feed reads fail", func(t *testing.T) {
		f := newFixture(t, 0)
		noFeed := &store.Table{Client: f.table.Client, Name: f.table.Name + "-missing"} // every Query fails
		require.Error(t, noFeed.ReadFeed(ctx, time.Now(), time.Now(), func(string, string, time.Time) {}))
		a := authorizer.New(authorizer.Config{Tokens: f.table, Leases: f.table, Feed: noFeed, Keys: f.svc.Keys, Catalog: f.svc.Catalog,
			Prefix: "tg", Now: f.clock.Now, CacheTTL: cacheTTL, FeedInterval: time.Millisecond})
		c := f.create(t, token.CreateInput{})
		s := c.Plaintext.Reveal()
		require.True(t, allow(a, s).Allow)
		_, err := f.svc.Revoke(ctx, localtest.Admin, c.Token.ID, "")
		require.NoError(t, err)
		time.Sleep(10 * time.Millisecond)
		require.True(t, allow(a, s).Allow, "the feed is unreadable: the cached decision stands")
		f.clock.Add(cacheTTL - time.Second)
		time.Sleep(10 * time.Millisecond)
		require.True(t, allow(a, s).Allow, "up to AUTH_CACHE_TTL")
		f.clock.Add(time.Second)
		require.Equal(t, authorizer.ReasonInactive, allow(a, s).Reason, "at AUTH_CACHE_TTL: read again, refused")
	})
	t.Run("feed and table unreachable: refused after the cache TTL", func(t *testing.T) {
		f := newFixture(t, 0)
		sw := &switchable{next: http.DefaultTransport}
		client := dynamodb.NewFromConfig(localtest.Clients(t).AWS.Copy(), func(o *dynamodb.Options) {
			o.BaseEndpoint = boot.Endpoint("DynamoDB")
			o.DisableValidateResponseChecksum = true
			o.RetryMaxAttempts = 1
			o.HTTPClient = &http.Client{Transport: sw}
		})
		tb := &store.Table{Client: client, Name: f.table.Name, Retention: f.table.Retention}
		a := authorizer.New(authorizer.Config{Tokens: tb, Leases: tb, Feed: tb, Keys: f.svc.Keys, Catalog: f.svc.Catalog,
			Prefix: "tg", Now: f.clock.Now, CacheTTL: cacheTTL, FeedInterval: time.Millisecond})
		c := f.create(t, token.CreateInput{})
		s := c.Plaintext.Reveal()
		require.True(t, allow(a, s).Allow)
		time.Sleep(5 * time.Millisecond)
		require.True(t, allow(a, s).Allow, "the feed read, nothing changed")
		sw.down.Store(true)
		time.Sleep(5 * time.Millisecond)
		require.True(t, allow(a, s).Allow, "unreachable: the cached decision, within AUTH_CACHE_TTL")
		f.clock.Add(cacheTTL)
		require.Equal(t, authorizer.ReasonStoreFailed, allow(a, s).Reason, "past it: refused (fail closed)")
		sw.down.Store(false)
		time.Sleep(5 * time.Millisecond)
		require.True(t, allow(a, s).Allow, "reachable again")
	})
}
