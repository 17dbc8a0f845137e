package authorizer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

type fixture struct {
	svc   *token.Service
	clock *localtest.Clock
	auth  *authorizer.Authorizer
	usage *authorizer.Usage
	table *store.Table
}

func newFixture(t testing.TB, cacheTTL time.Duration) *fixture {
	clock := localtest.NewClock(time.Now().UTC().Truncate(time.Second))
	svc := localtest.Service(t, clock.Now)
	tb := svc.Store.(*store.Table)
	usage := &authorizer.Usage{Store: tb, Every: time.Minute}
	a := authorizer.New(authorizer.Config{
		Tokens: tb, Rates: tb, Keys: svc.Keys, Catalog: svc.Catalog, Prefix: "tg", Now: clock.Now, CacheTTL: cacheTTL, Usage: usage,
		RouteScopes: map[string][]string{"GET /orders": {"tokens:admin"}, "ANY /{proxy+}": {}},
	})
	return &fixture{svc: svc, clock: clock, auth: a, usage: usage, table: tb}
}

func (f *fixture) create(t testing.TB, in token.CreateInput) token.Created {
	t.Helper()
	if in.Name == "" {
		in.Name = "t"
	}
	if in.Scopes == nil {
		in.Scopes = []string{"tokens:read"}
	}
	c, err := f.svc.Create(context.Background(), localtest.Admin, in)
	require.NoError(t, err)
	return c
}

func (f *fixture) check(s string) authorizer.Decision {
	return f.auth.Check(context.Background(), authorizer.Request{Token: s, SourceIP: "203.0.113.9", Route: "GET /things"})
}

func TestChecks(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	good := f.create(t, token.CreateInput{})
	s := good.Plaintext.Reveal()

	d := f.check(s)
	require.True(t, d.Allow)
	require.Equal(t, string(good.Token.ID), d.Caller.TokenID)
	require.Equal(t, "admin", d.Caller.OwnerID)
	require.Equal(t, []string{"tokens:read"}, d.Caller.Scopes)
	require.Equal(t, access.RiskLow, d.Caller.Risk)

	other, _ := token.Generate("tg", good.Token.ID, f.svc.Keys, nil)
	unknown, _ := token.Generate("tg", "", f.svc.Keys, nil)
	tests := []struct {
		name   string
		token  string
		reason authorizer.Reason
	}{
		{"no token", "", authorizer.ReasonMissing},
		{"bad checksum", mistype(s), authorizer.ReasonMalformed},
		{"another deployment's prefix", "gh" + s[2:], authorizer.ReasonMalformed},
		{"unknown id", unknown.Plaintext.Reveal(), authorizer.ReasonUnknown},
		{"wrong secret for a real id", other.Plaintext.Reveal(), authorizer.ReasonBadSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := f.check(tt.token)
			require.False(t, d.Allow)
			require.Equal(t, tt.reason, d.Reason)
			require.Empty(t, d.Caller.OwnerID)
		})
	}

	t.Run("disabled, revoked, expired", func(t *testing.T) {
		tok := f.create(t, token.CreateInput{})
		_, err := f.svc.Disable(ctx, localtest.Admin, tok.Token.ID, "")
		require.NoError(t, err)
		require.Equal(t, authorizer.ReasonInactive, f.check(tok.Plaintext.Reveal()).Reason)
		_, err = f.svc.Enable(ctx, localtest.Admin, tok.Token.ID, "")
		require.NoError(t, err)
		require.True(t, f.check(tok.Plaintext.Reveal()).Allow)
		_, err = f.svc.Revoke(ctx, localtest.Admin, tok.Token.ID, "")
		require.NoError(t, err)
		require.Equal(t, authorizer.ReasonInactive, f.check(tok.Plaintext.Reveal()).Reason)

		short := f.create(t, token.CreateInput{ExpiresIn: "1w"})
		f.clock.Add(7*24*time.Hour + time.Second)
		require.Equal(t, authorizer.ReasonExpired, f.check(short.Plaintext.Reveal()).Reason, "expiry is checked by the code, never left to TTL")
		f.clock.Add(-(7*24*time.Hour + time.Second))
	})
	t.Run("high-risk tokens are pending until approved", func(t *testing.T) {
		c, err := f.svc.Create(ctx, access.Caller{OwnerID: "root", Scopes: []string{"emergency:activate", "tokens:write", "tokens:admin"}},
			token.CreateInput{Name: "bg", Scopes: []string{"emergency:activate"}, Reason: "drill"})
		require.NoError(t, err)
		require.Equal(t, token.StatusPending, c.Token.Status)
		require.Equal(t, authorizer.ReasonInactive, f.check(c.Plaintext.Reveal()).Reason)
	})
	t.Run("route scopes", func(t *testing.T) {
		d := f.auth.Check(ctx, authorizer.Request{Token: s, Route: "GET /orders"})
		require.Equal(t, authorizer.ReasonRouteScope, d.Reason)
		admin := f.create(t, token.CreateInput{Scopes: []string{"tokens:admin"}, Reason: "ops"})
		require.True(t, f.auth.Check(ctx, authorizer.Request{Token: admin.Plaintext.Reveal(), Route: "GET /orders"}).Allow)
	})
}

// mistype changes the last character of a token string (its checksum), always to
// another one.
func mistype(s string) string {
	if s[len(s)-1] == 'x' {
		return s[:len(s)-1] + "y"
	}
	return s[:len(s)-1] + "x"
}

func TestLogsNeverHoldTheToken(t *testing.T) {
	f := newFixture(t, 0)
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	defer slog.SetDefault(old)
	good := f.create(t, token.CreateInput{})
	s := good.Plaintext.Reveal()
	f.check(s)
	f.check(mistype(s))
	require.Contains(t, buf.String(), `"reason":"ok"`)
	require.Contains(t, buf.String(), `"reason":"malformed"`)
	require.Contains(t, buf.String(), string(good.Token.ID))
	require.NotContains(t, buf.String(), s[len(s)-30:])
}

// TestDecisionLogWriter: with Config.Log, each decision is one JSON line on that writer
// with the token's id and never its secret; garbage is still logged at most once a
// second, with the count of what was not.
func TestDecisionLogWriter(t *testing.T) {
	f := newFixture(t, time.Hour)
	var buf bytes.Buffer
	a := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Catalog: f.svc.Catalog, Prefix: "tg", CacheTTL: time.Hour, Log: &buf})
	good := f.create(t, token.CreateInput{})
	s := good.Plaintext.Reveal()
	ctx := context.Background()
	req := authorizer.Request{Token: s, Route: "GET /things", SourceIP: "203.0.113.9"}
	require.True(t, a.Check(ctx, req).Allow)
	require.True(t, a.Check(ctx, req).Allow) // cached: logged as well
	for i := 0; i < 5; i++ {
		require.False(t, a.Check(ctx, authorizer.Request{Token: mistype(s)}).Allow)
	}
	time.Sleep(1100 * time.Millisecond)
	require.False(t, a.Check(ctx, authorizer.Request{Token: "tg_garbage"}).Allow)

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 4, buf.String())
	var m []map[string]any
	for _, l := range lines {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &v), l)
		m = append(m, v)
	}
	for _, v := range m[:2] {
		require.Equal(t, "authorizer decision", v["msg"])
		require.Equal(t, "INFO", v["level"])
		require.Equal(t, string(good.Token.ID), v["tokenId"])
		require.Equal(t, true, v["allow"])
		require.Equal(t, "ok", v["reason"])
		require.Equal(t, "GET /things", v["route"])
		require.Equal(t, "203.0.113.9", v["sourceIp"])
		require.Contains(t, v, "latencyUs")
		require.Contains(t, v, "time")
	}
	require.Equal(t, "malformed", m[2]["reason"])
	require.NotContains(t, m[2], "garbageNotLogged")
	require.Equal(t, "malformed", m[3]["reason"])
	require.EqualValues(t, 4, m[3]["garbageNotLogged"])
	require.NotContains(t, buf.String(), s[len(s)-30:])
}

func TestUsage(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	tok := f.create(t, token.CreateInput{})
	s := tok.Plaintext.Reveal()
	require.True(t, f.check(s).Allow)
	got, err := f.table.Get(ctx, tok.Token.ID)
	require.NoError(t, err)
	require.Zero(t, got.UseCount, "a decision never writes")
	f.usage.FlushDue(ctx, f.clock.Now()) // what runs after the answer
	got, err = f.table.Get(ctx, tok.Token.ID)
	require.NoError(t, err)
	require.Equal(t, f.clock.Now(), got.LastUsedAt, "the first use is due at once")
	require.Equal(t, "203.0.113.9", got.LastUsedIP)
	require.EqualValues(t, 1, got.UseCount)

	for i := 0; i < 5; i++ {
		require.True(t, f.check(s).Allow)
		f.usage.FlushDue(ctx, f.clock.Now())
	}
	got, err = f.table.Get(ctx, tok.Token.ID)
	require.NoError(t, err)
	require.EqualValues(t, 1, got.UseCount, "no write per request")

	f.clock.Add(time.Minute)
	require.True(t, f.check(s).Allow)
	f.usage.FlushDue(ctx, f.clock.Now())
	got, err = f.table.Get(ctx, tok.Token.ID)
	require.NoError(t, err)
	require.EqualValues(t, 7, got.UseCount, "flushed once the interval passed, exactly")

	require.True(t, f.check(s).Allow)
	f.usage.Flush(ctx)
	got, err = f.table.Get(ctx, tok.Token.ID)
	require.NoError(t, err)
	require.EqualValues(t, 8, got.UseCount, "Flush writes what is pending")

	// A change through the API never loses counted uses.
	_, err = f.svc.Update(ctx, localtest.Admin, tok.Token.ID, token.UpdateInput{Name: aws.String("renamed")}, 0)
	require.NoError(t, err)
	got, err = f.table.Get(ctx, tok.Token.ID)
	require.NoError(t, err)
	require.EqualValues(t, 8, got.UseCount)
}

func TestCacheHonoursRevocationWithinTTL(t *testing.T) {
	f := newFixture(t, 30*time.Second)
	tok := f.create(t, token.CreateInput{})
	s := tok.Plaintext.Reveal()
	require.True(t, f.check(s).Allow)
	_, err := f.svc.Revoke(context.Background(), localtest.Admin, tok.Token.ID, "")
	require.NoError(t, err)
	f.clock.Add(30 * time.Second)
	require.False(t, f.check(s).Allow, "a revocation takes effect within AUTH_CACHE_TTL")
}

func TestFailsClosed(t *testing.T) {
	f := newFixture(t, 0)
	tok := f.create(t, token.CreateInput{})
	cfg := localtest.Clients(t).AWS.Copy()
	down := &store.Table{Name: f.table.Name, Client: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	})}
	a := authorizer.New(authorizer.Config{Tokens: down, Keys: f.svc.Keys, Prefix: "tg", Now: f.clock.Now})
	d := a.Check(context.Background(), authorizer.Request{Token: tok.Plaintext.Reveal()})
	require.False(t, d.Allow)
	require.Equal(t, authorizer.ReasonStoreFailed, d.Reason)
}

func TestHTTPSimple(t *testing.T) {
	f := newFixture(t, 0)
	tok := f.create(t, token.CreateInput{})
	ev := events.APIGatewayV2CustomAuthorizerV2Request{
		Type: "REQUEST", RouteKey: "GET /tokens/self",
		Headers: map[string]string{"authorization": "Bearer " + tok.Plaintext.Reveal()},
	}
	res, err := f.auth.HTTPSimple(context.Background(), ev)
	require.NoError(t, err)
	require.True(t, res.IsAuthorized)
	require.Equal(t, string(tok.Token.ID), res.Context["tokenId"])
	require.Equal(t, "admin", res.Context["ownerId"])
	require.Equal(t, "tokens:read", res.Context["scopes"])
	require.Equal(t, "low", res.Context["risk"])

	ev.Headers = map[string]string{"x-api-key": tok.Plaintext.Reveal()}
	res, err = f.auth.HTTPSimple(context.Background(), ev)
	require.NoError(t, err)
	require.True(t, res.IsAuthorized, "X-API-Key works too")

	ev.Headers = map[string]string{"authorization": "Basic " + strings.Repeat("a", 10)}
	res, err = f.auth.HTTPSimple(context.Background(), ev)
	require.NoError(t, err)
	require.False(t, res.IsAuthorized)
	require.Empty(t, res.Context)
}

func TestBearerToken(t *testing.T) {
	tests := []struct{ auth, key, want string }{
		{"Bearer abc", "", "abc"},
		{"bearer abc", "", "abc"},
		{"BEARER  abc ", "", "abc"},
		{"Basic abc", "", ""},
		{"Basic abc", "k", ""}, // an Authorization header that is not Bearer is not overridden
		{"", "k", "k"},
		{"", "", ""},
		{"Bearer", "", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, authorizer.BearerToken(tt.auth, tt.key), "%q %q", tt.auth, tt.key)
	}
}
