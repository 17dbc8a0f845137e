package authorizer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/authorizer"
	"tokengate/shared/token"
)

const cacheTTL = 30 * time.Second

// pair is two warm authorizer instances sharing one table, as two Lambda instances do.
type pair struct {
	*fixture
	a, b           *authorizer.Authorizer
	usageA, usageB *authorizer.Usage
}

func newPair(t *testing.T) *pair {
	f := newFixture(t, 0)
	p := &pair{fixture: f}
	p.usageA = &authorizer.Usage{Store: f.table, Every: time.Minute}
	p.usageB = &authorizer.Usage{Store: f.table, Every: time.Minute}
	mk := func(u *authorizer.Usage) *authorizer.Authorizer {
		return authorizer.New(authorizer.Config{Tokens: f.table, Rates: f.table, Keys: f.svc.Keys, Catalog: f.svc.Catalog,
			Prefix: "tg", Now: f.clock.Now, CacheTTL: cacheTTL, Usage: u})
	}
	p.a, p.b = mk(p.usageA), mk(p.usageB)
	// Warm both: the owner and a token of it are cached.
	warm := f.create(t, token.CreateInput{Name: "warm"})
	for _, a := range []*authorizer.Authorizer{p.a, p.b} {
		require.True(t, a.Check(context.Background(), authorizer.Request{Token: warm.Plaintext.Reveal()}).Allow)
	}
	return p
}

func allow(a *authorizer.Authorizer, s string) authorizer.Decision {
	return a.Check(context.Background(), authorizer.Request{Token: s, SourceIP: "203.0.113.9", Route: "GET /things"})
}

// TestWhatTheOwnerDidShowsOnEveryInstance is the promise of the README: a new secret works
// at once on every instance, also one that has the old secret cached; a refusal takes at
// most AUTH_CACHE_TTL; an enabled token works again within the negative TTL.
func TestWhatTheOwnerDidShowsOnEveryInstance(t *testing.T) {
	ctx := context.Background()
	t.Run("create, then use at once", func(t *testing.T) {
		p := newPair(t)
		c := p.create(t, token.CreateInput{})
		require.True(t, allow(p.a, c.Plaintext.Reveal()).Allow)
		require.True(t, allow(p.b, c.Plaintext.Reveal()).Allow)
	})
	t.Run("rotate: the new secret works at once, the old one stops within AUTH_CACHE_TTL", func(t *testing.T) {
		p := newPair(t)
		c := p.create(t, token.CreateInput{})
		old := c.Plaintext.Reveal()
		require.True(t, allow(p.a, old).Allow)
		r, err := p.svc.Rotate(ctx, localtest.Admin, c.Token.ID, token.RotateInput{})
		require.NoError(t, err)
		require.True(t, allow(p.a, r.Plaintext.Reveal()).Allow, "the warm instance, old secret cached")
		require.True(t, allow(p.b, r.Plaintext.Reveal()).Allow)
		require.Equal(t, authorizer.ReasonReused, allow(p.b, old).Reason, "an instance that never cached it refuses at once")
		p.clock.Add(cacheTTL)
		require.Equal(t, authorizer.ReasonReused, allow(p.a, old).Reason, "refused within AUTH_CACHE_TTL")
		require.True(t, allow(p.a, r.Plaintext.Reveal()).Allow)
	})
	t.Run("rotate with grace: both work at once, the old one until the grace ends", func(t *testing.T) {
		p := newPair(t)
		c := p.create(t, token.CreateInput{})
		old := c.Plaintext.Reveal()
		require.True(t, allow(p.a, old).Allow)
		r, err := p.svc.Rotate(ctx, localtest.Admin, c.Token.ID, token.RotateInput{GracePeriod: 10 * time.Second})
		require.NoError(t, err)
		for _, a := range []*authorizer.Authorizer{p.a, p.b} {
			require.True(t, allow(a, r.Plaintext.Reveal()).Allow)
			require.True(t, allow(a, old).Allow)
		}
		p.clock.Add(10 * time.Second)
		require.Equal(t, authorizer.ReasonReused, allow(p.b, old).Reason, "read during the grace period: kept no longer than it")
		require.True(t, allow(p.b, r.Plaintext.Reveal()).Allow)
		p.clock.Add(cacheTTL - 10*time.Second)
		require.Equal(t, authorizer.ReasonReused, allow(p.a, old).Reason, "cached before the rotation: refused within AUTH_CACHE_TTL")
		require.True(t, allow(p.a, r.Plaintext.Reveal()).Allow)
	})
	t.Run("approve a pending token: works at once", func(t *testing.T) {
		p := newPair(t)
		c, err := p.svc.Create(ctx, access.Caller{OwnerID: "root", Scopes: []string{"emergency:activate", "tokens:write", "tokens:admin"}},
			token.CreateInput{Name: "bg", OwnerID: "root", Scopes: []string{"emergency:activate"}, Reason: "drill"})
		require.NoError(t, err)
		require.Equal(t, authorizer.ReasonInactive, allow(p.a, c.Plaintext.Reveal()).Reason)
		_, err = p.svc.Approve(ctx, localtest.Admin, c.Token.ID, "ok")
		require.NoError(t, err)
		require.True(t, allow(p.a, c.Plaintext.Reveal()).Allow)
		require.True(t, allow(p.b, c.Plaintext.Reveal()).Allow)
	})
	t.Run("disable: refused within AUTH_CACHE_TTL; enable: works within 5 s", func(t *testing.T) {
		p := newPair(t)
		c := p.create(t, token.CreateInput{})
		s := c.Plaintext.Reveal()
		require.True(t, allow(p.a, s).Allow)
		_, err := p.svc.Disable(ctx, localtest.Admin, c.Token.ID, "")
		require.NoError(t, err)
		require.Equal(t, authorizer.ReasonInactive, allow(p.b, s).Reason, "at once where it was not cached")
		p.clock.Add(cacheTTL)
		require.Equal(t, authorizer.ReasonInactive, allow(p.a, s).Reason, "within AUTH_CACHE_TTL where it was")
		_, err = p.svc.Enable(ctx, localtest.Admin, c.Token.ID, "")
		require.NoError(t, err)
		p.clock.Add(authorizer.DefaultNegativeTTL)
		require.True(t, allow(p.a, s).Allow, "within the negative TTL of 5 s")
		require.True(t, allow(p.b, s).Allow)
	})
	t.Run("an unused disabled token, enabled, works within 5 s", func(t *testing.T) {
		p := newPair(t)
		c := p.create(t, token.CreateInput{})
		_, err := p.svc.Disable(ctx, localtest.Admin, c.Token.ID, "")
		require.NoError(t, err)
		require.Equal(t, authorizer.ReasonInactive, allow(p.a, c.Plaintext.Reveal()).Reason)
		_, err = p.svc.Enable(ctx, localtest.Admin, c.Token.ID, "")
		require.NoError(t, err)
		p.clock.Add(authorizer.DefaultNegativeTTL)
		require.True(t, allow(p.a, c.Plaintext.Reveal()).Allow)
	})
	t.Run("4 uses, then other traffic after USAGE_FLUSH_INTERVAL: useCount is exactly 4", func(t *testing.T) {
		p := newPair(t)
		c := p.create(t, token.CreateInput{})
		other := p.create(t, token.CreateInput{Name: "other"})
		for i, a := range []*authorizer.Authorizer{p.a, p.a, p.b, p.b} {
			require.True(t, allow(a, c.Plaintext.Reveal()).Allow)
			[]*authorizer.Usage{p.usageA, p.usageA, p.usageB, p.usageB}[i].FlushDue(ctx, p.clock.Now()) // after each answer
		}
		got, err := p.table.Get(ctx, c.Token.ID)
		require.NoError(t, err)
		require.False(t, got.LastUsedAt.IsZero(), "the first use shows at once")
		p.clock.Add(time.Minute)
		for _, x := range []struct {
			a *authorizer.Authorizer
			u *authorizer.Usage
		}{{p.a, p.usageA}, {p.b, p.usageB}} {
			require.True(t, allow(x.a, other.Plaintext.Reveal()).Allow)
			x.u.FlushDue(ctx, p.clock.Now())
		}
		got, err = p.table.Get(ctx, c.Token.ID)
		require.NoError(t, err)
		require.EqualValues(t, 4, got.UseCount)
	})
	t.Run("a principal re-created within the same second: its old tokens are refused", func(t *testing.T) {
		p := newPair(t)
		id := localtest.Name("again")
		pr := &access.Principal{ID: id, Kind: "user", Scopes: []string{access.TokensRead}, Version: 1, CreatedAt: p.clock.Now()}
		require.NoError(t, p.table.PutPrincipal(ctx, pr, 0))
		c := p.create(t, token.CreateInput{OwnerID: id})
		require.True(t, allow(p.a, c.Plaintext.Reveal()).Allow)
		require.NoError(t, p.table.DeletePrincipal(ctx, id, 1))
		again := &access.Principal{ID: id, Kind: "user", Scopes: []string{access.TokensRead}, Version: 1, CreatedAt: p.clock.Now()}
		require.NoError(t, p.table.PutPrincipal(ctx, again, 0))
		require.NotEqual(t, pr.Incarnation, again.Incarnation)
		require.Equal(t, authorizer.ReasonOwnerGone, allow(p.b, c.Plaintext.Reveal()).Reason)
		p.clock.Add(cacheTTL)
		require.Equal(t, authorizer.ReasonOwnerGone, allow(p.a, c.Plaintext.Reveal()).Reason)
		fresh := p.create(t, token.CreateInput{OwnerID: id})
		require.True(t, allow(p.a, fresh.Plaintext.Reveal()).Allow, "the new principal's own tokens work")
	})
}

// TestForgedTokensCostNothing: made-up tokens with a valid public checksum (made-up ids,
// and real ids with made-up secrets) never reach DynamoDB, nor empty the cache.
func TestForgedTokensCostNothing(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	tb, reads := localtest.Counted(t, f.table)
	a := authorizer.New(authorizer.Config{Tokens: tb, Rates: tb, Keys: f.svc.Keys, Catalog: f.svc.Catalog, Prefix: "tg", Now: f.clock.Now, CacheTTL: cacheTTL})
	real := f.create(t, token.CreateInput{})
	require.True(t, allow(a, real.Plaintext.Reveal()).Allow)
	p, _ := token.NewPepper(f.svc.Keys.Current().Version, bytes.Repeat([]byte{0x5a}, 32))
	attacker, _ := token.NewKeyring(p)
	before := reads.Reads.Load() + reads.Writes.Load()
	for i := 0; i < 10000; i++ {
		id := token.ID("")
		if i%2 == 0 {
			id = real.Token.ID // a real id with a made-up secret
		}
		g, err := token.Generate("tg", id, attacker, nil)
		require.NoError(t, err)
		_, _, err = token.Parse("tg", g.Plaintext.Reveal())
		require.NoError(t, err, "the public checksum is valid")
		require.Equal(t, authorizer.ReasonForged, allow(a, g.Plaintext.Reveal()).Reason)
	}
	require.Zero(t, reads.Reads.Load()+reads.Writes.Load()-before, "10,000 forged tokens: no DynamoDB request")
	require.True(t, allow(a, real.Plaintext.Reveal()).Allow)
	require.Zero(t, reads.Reads.Load()+reads.Writes.Load()-before, "the real token is still cached")

	t.Run("a leak report of 100 forged strings costs no read; a 429 writes nothing", func(t *testing.T) {
		svc := *f.svc
		svc.Store = tb
		route := &api.LeakedRoute{Tokens: &svc, Rates: tb, Now: f.clock.Now, Notifier: nopNotifier{}}
		var strs []string
		for i := 0; i < token.MaxLeakReport; i++ {
			id := token.ID("")
			if i%2 == 0 {
				id = real.Token.ID
			}
			g, _ := token.Generate("tg", id, attacker, nil)
			strs = append(strs, g.Plaintext.Reveal())
		}
		report := func(ip string) int {
			body, _ := json.Marshal(map[string]any{"tokens": strs})
			req := httptest.NewRequest("POST", "/leaked-tokens", bytes.NewReader(body))
			req.RemoteAddr = ip + ":443"
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			route.ServeHTTP(rec, req)
			return rec.Code
		}
		r0, w0 := reads.Reads.Load(), reads.Writes.Load()
		for i := 0; i < api.LeakReportsPerMinute; i++ {
			// Every address of one IPv6 /64 is one reporter.
			require.Equal(t, http.StatusAccepted, report(fmt.Sprintf("[2001:db8:1:2::%x]", i+1)))
		}
		require.Zero(t, reads.Reads.Load()-r0, "forged strings cost no read")
		require.EqualValues(t, api.LeakReportsPerMinute, reads.Writes.Load()-w0, "one rate count per report, nothing else")
		require.Equal(t, http.StatusTooManyRequests, report("[2001:db8:1:2:ffff::1]"), "the same /64")
		w1 := reads.Writes.Load()
		for i := 0; i < 5; i++ {
			require.Equal(t, http.StatusTooManyRequests, report("[2001:db8:1:2::99]"))
		}
		require.Equal(t, w1, reads.Writes.Load(), "a 429 writes nothing")
		out, err := f.table.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table.Name), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "RATE#LEAK#2001:db8:1:2::/64"},
			"sk": &types.AttributeValueMemberS{Value: fmt.Sprint(f.clock.Now().UTC().Truncate(time.Minute).Unix())},
		}})
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(api.LeakReportsPerMinute), out.Item["count"].(*types.AttributeValueMemberN).Value)
		require.Equal(t, http.StatusAccepted, report("[2001:db8:1:3::1]"), "another /64 is another reporter")
		require.Equal(t, http.StatusAccepted, report("198.51.100.1"))
		require.Zero(t, reads.Reads.Load()-r0)
	})
}

type nopNotifier struct{}

func (nopNotifier) NotifyLeaked(context.Context, []*token.Token) error { return nil }

// TestStoredDataThatDoesNotParseRefuses: a stored allowlist entry, time window, rate limit
// or timestamp that does not parse refuses the token; it never reads as "no restriction".
func TestStoredDataThatDoesNotParseRefuses(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	for _, tt := range []struct {
		name, update string
		value        types.AttributeValue
	}{
		{"allowlist entry", "SET ipAllowlist = :v", &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "10.0.0.0/99"}}}},
		{"expiry", "SET expiresAt = :v", &types.AttributeValueMemberS{Value: "next tuesday"}},
		{"emergency", "SET emergencyUntil = :v", &types.AttributeValueMemberS{Value: "soon"}},
		{"time window", "SET timeRestriction = :v", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"days":      &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "funday"}}},
			"startHour": &types.AttributeValueMemberN{Value: "9"}, "endHour": &types.AttributeValueMemberN{Value: "17"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := f.create(t, token.CreateInput{})
			require.True(t, f.check(c.Plaintext.Reveal()).Allow)
			_, err := f.table.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(f.table.Name),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "TOKEN#" + string(c.Token.ID)},
					"sk": &types.AttributeValueMemberS{Value: "TOKEN"},
				},
				UpdateExpression: aws.String(tt.update), ExpressionAttributeValues: map[string]types.AttributeValue{":v": tt.value}})
			require.NoError(t, err)
			require.Equal(t, authorizer.ReasonBadData, f.check(c.Plaintext.Reveal()).Reason)
		})
	}
}
