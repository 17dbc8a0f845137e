package authorizer_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/restriction"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// tuesday10 is how far the clock must move from now to the next Tuesday, 10:00 UTC, at
// least a day ahead: the restriction tests run at a known weekday and hour, whatever
// the wall clock says.
func tuesday10(now time.Time) time.Duration {
	day := time.Date(now.Year(), now.Month(), now.Day(), 10, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	for day.Weekday() != time.Tuesday {
		day = day.AddDate(0, 0, 1)
	}
	return day.Sub(now)
}

func TestRestrictions(t *testing.T) {
	f := newFixture(t, 0)
	f.clock.Add(tuesday10(f.clock.Now()))
	require.Equal(t, time.Tuesday, f.clock.Now().Weekday())
	require.Equal(t, 10, f.clock.Now().Hour())
	ctx := context.Background()
	at := func(ip string) authorizer.Request { return authorizer.Request{SourceIP: ip, Route: "GET /things"} }
	check := func(c token.Created, r authorizer.Request) authorizer.Decision {
		r.Token = c.Plaintext.Reveal()
		return f.auth.Check(ctx, r)
	}
	// emergency turns on emergency access for a token until the given time, as
	// EmergencyOn stores it.
	emergency := func(c token.Created, until time.Time) {
		tok, err := f.table.Get(ctx, c.Token.ID)
		require.NoError(t, err)
		tok.EmergencyUntil = until
		old := tok.Version
		tok.Version++
		require.NoError(t, f.table.Put(ctx, tok, old))
	}

	t.Run("IP allowlist, IPv4 and IPv6", func(t *testing.T) {
		c := f.create(t, token.CreateInput{IPAllowlist: []string{"203.0.113.0/24", "2001:db8::/32"}})
		require.True(t, check(c, at("203.0.113.200")).Allow)
		require.True(t, check(c, at("2001:db8:1::7")).Allow)
		require.Equal(t, authorizer.ReasonIP, check(c, at("198.51.100.1")).Reason)
		require.Equal(t, authorizer.ReasonIP, check(c, at("")).Reason, "no source address: refused")
	})
	t.Run("time window", func(t *testing.T) {
		c := f.create(t, token.CreateInput{TimeRestriction: &restriction.TimeWindow{Days: []string{"tue"}, StartHour: 10, EndHour: 11}})
		require.True(t, check(c, at("1.2.3.4")).Allow)
		f.clock.Add(time.Hour)
		require.Equal(t, authorizer.ReasonTime, check(c, at("1.2.3.4")).Reason)
		f.clock.Add(-time.Hour)
	})
	// Both tokens are allowed from 10.0.0.1 on Mondays 00:00-01:00 only: never now.
	restricted := token.CreateInput{IPAllowlist: []string{"10.0.0.1"}, TimeRestriction: &restriction.TimeWindow{Days: []string{"mon"}, StartHour: 0, EndHour: 1}}
	t.Run("emergency access lifts IP and time, not the rate limit", func(t *testing.T) {
		in := restricted
		in.RateLimit = &restriction.RateLimit{Limit: 1, Per: "day"}
		c := f.create(t, in)
		require.Equal(t, authorizer.ReasonIP, check(c, at("198.51.100.1")).Reason)
		require.Equal(t, authorizer.ReasonTime, check(c, at("10.0.0.1")).Reason)
		emergency(c, f.clock.Now().Add(time.Hour))
		require.True(t, check(c, at("198.51.100.1")).Allow, "IP and time lifted")
		require.Equal(t, authorizer.ReasonRateLimited, check(c, at("198.51.100.1")).Reason, "rate limit still applies")
	})
	t.Run("emergency access ends by itself", func(t *testing.T) {
		c := f.create(t, restricted) // no rate limit: only the restrictions can refuse
		emergency(c, f.clock.Now().Add(time.Hour))
		f.clock.Add(time.Hour - time.Second)
		require.True(t, check(c, at("198.51.100.1")).Allow, "a second before its end")
		require.True(t, check(c, at("198.51.100.1")).Allow, "and again: no rate limit")
		f.clock.Add(time.Second)
		require.Equal(t, authorizer.ReasonIP, check(c, at("198.51.100.1")).Reason, "at its end the allowlist applies again")
		require.Equal(t, authorizer.ReasonTime, check(c, at("10.0.0.1")).Reason, "and the time window")
		f.clock.Add(-time.Hour)
	})
}

// TestRateLimitIsExactUnderConcurrency fires N concurrent requests at a token allowed L
// per window, through several authorizer instances sharing the table: exactly L pass.
func TestRateLimitIsExactUnderConcurrency(t *testing.T) {
	f := newFixture(t, 0)
	const limit, n = 7, 40
	c := f.create(t, token.CreateInput{RateLimit: &restriction.RateLimit{Limit: limit, Per: "hour"}})
	instances := make([]*authorizer.Authorizer, 4)
	for i := range instances {
		instances[i] = authorizer.New(authorizer.Config{Tokens: f.table, Rates: f.table, Keys: f.svc.Keys, Prefix: "tg", Now: f.clock.Now})
	}
	var allowed, limited atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := instances[i%len(instances)].Check(context.Background(), authorizer.Request{Token: c.Plaintext.Reveal()})
			switch d.Reason {
			case authorizer.ReasonOK:
				allowed.Add(1)
			case authorizer.ReasonRateLimited:
				limited.Add(1)
			default:
				t.Errorf("unexpected reason %s", d.Reason)
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, limit, allowed.Load())
	require.EqualValues(t, n-limit, limited.Load())
	f.clock.Add(time.Hour)
	require.True(t, instances[0].Check(context.Background(), authorizer.Request{Token: c.Plaintext.Reveal()}).Allow, "a new window starts afresh")
}

func TestRateLimitFailsClosedWithoutCounter(t *testing.T) {
	f := newFixture(t, 0)
	c := f.create(t, token.CreateInput{RateLimit: &restriction.RateLimit{Limit: 5, Per: "second"}})
	a := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Prefix: "tg", Now: f.clock.Now})
	require.False(t, a.Check(context.Background(), authorizer.Request{Token: c.Plaintext.Reveal()}).Allow)
}

// counting counts the reads that reach the real table.
type counting struct {
	*store.Table
	gets atomic.Int32
}

func (c *counting) Get(ctx context.Context, id token.ID) (*token.Token, error) {
	c.gets.Add(1)
	return c.Table.Get(ctx, id)
}

func (c *counting) GetWithOwner(ctx context.Context, id token.ID) (*token.Token, *access.Principal, error) {
	c.gets.Add(1)
	return c.Table.GetWithOwner(ctx, id)
}

func TestCache(t *testing.T) {
	f := newFixture(t, 0)
	tb := &counting{Table: f.table}
	a := authorizer.New(authorizer.Config{Tokens: tb, Keys: f.svc.Keys, Prefix: "tg", Now: f.clock.Now, CacheTTL: 30 * time.Second})
	ctx := context.Background()
	c := f.create(t, token.CreateInput{})

	t.Run("a valid token is read once per TTL", func(t *testing.T) {
		for i := 0; i < 50; i++ {
			require.True(t, a.Check(ctx, authorizer.Request{Token: c.Plaintext.Reveal()}).Allow)
		}
		require.EqualValues(t, 1, tb.gets.Load())
		f.clock.Add(31 * time.Second)
		require.True(t, a.Check(ctx, authorizer.Request{Token: c.Plaintext.Reveal()}).Allow)
		require.EqualValues(t, 2, tb.gets.Load())
	})
	t.Run("a flood of garbage costs no read", func(t *testing.T) {
		before := tb.gets.Load()
		s := c.Plaintext.Reveal()
		for i := 0; i < 1000; i++ {
			mistyped := s[:len(s)-2] + string(rune('a'+i%26)) + "Z"
			if mistyped == s {
				continue // the one change of the last two characters that changes nothing
			}
			require.False(t, a.Check(ctx, authorizer.Request{Token: mistyped}).Allow)
			require.False(t, a.Check(ctx, authorizer.Request{Token: "tg_not_even_close"}).Allow)
		}
		require.Equal(t, before, tb.gets.Load())
	})
	t.Run("a flood of one well-formed unknown token costs one read", func(t *testing.T) {
		before := tb.gets.Load()
		unknown, _ := token.Generate("tg", "", f.svc.Keys, nil)
		for i := 0; i < 1000; i++ {
			require.Equal(t, authorizer.ReasonUnknown, a.Check(ctx, authorizer.Request{Token: unknown.Plaintext.Reveal()}).Reason)
		}
		require.Equal(t, before+1, tb.gets.Load())
	})
	t.Run("a wrong secret for a cached id is still refused", func(t *testing.T) {
		other, _ := token.Generate("tg", c.Token.ID, f.svc.Keys, nil)
		require.Equal(t, authorizer.ReasonBadSecret, a.Check(ctx, authorizer.Request{Token: other.Plaintext.Reveal()}).Reason)
	})
}

func loadEvent(t *testing.T, name, tok string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("../../events/" + name)
	require.NoError(t, err)
	return json.RawMessage(strings.ReplaceAll(string(b), "Bearer TOKEN", "Bearer "+tok))
}

func TestEventFormats(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	c := f.create(t, token.CreateInput{})
	good, bad := c.Plaintext.Reveal(), "tg_garbage"
	simple, iam := f.auth.Handler(authorizer.ResponseSimple), f.auth.Handler(authorizer.ResponseIAM)

	t.Run("HTTP API simple", func(t *testing.T) {
		out, err := simple(ctx, loadEvent(t, "authorizer-http.json", good))
		require.NoError(t, err)
		res := out.(events.APIGatewayV2CustomAuthorizerSimpleResponse)
		require.True(t, res.IsAuthorized)
		require.Equal(t, string(c.Token.ID), res.Context["tokenId"])
		out, err = simple(ctx, loadEvent(t, "authorizer-http.json", bad))
		require.NoError(t, err)
		require.False(t, out.(events.APIGatewayV2CustomAuthorizerSimpleResponse).IsAuthorized)
	})
	t.Run("HTTP API IAM", func(t *testing.T) {
		out, err := iam(ctx, loadEvent(t, "authorizer-http.json", good))
		require.NoError(t, err)
		res := out.(events.APIGatewayV2CustomAuthorizerIAMPolicyResponse)
		require.Equal(t, "admin", res.PrincipalID)
		require.Equal(t, "Allow", res.PolicyDocument.Statement[0].Effect)
		require.Equal(t, []string{"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default/GET/demo/echo"}, res.PolicyDocument.Statement[0].Resource)
		require.Equal(t, "tokens:read", res.Context["scopes"])
		out, err = iam(ctx, loadEvent(t, "authorizer-http.json", bad))
		require.NoError(t, err)
		require.Equal(t, "Deny", out.(events.APIGatewayV2CustomAuthorizerIAMPolicyResponse).PolicyDocument.Statement[0].Effect)

		// A route with a variable: the policy covers its template, not the one path.
		ev := strings.NewReplacer(`"routeKey": "GET /demo/echo"`, `"routeKey": "GET /demo/{id}"`,
			`$default/GET/demo/echo"`, `$default/GET/demo/7"`).Replace(string(loadEvent(t, "authorizer-http.json", good)))
		out, err = iam(ctx, json.RawMessage(ev))
		require.NoError(t, err)
		require.Equal(t, []string{"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default/GET/demo/*"},
			out.(events.APIGatewayV2CustomAuthorizerIAMPolicyResponse).PolicyDocument.Statement[0].Resource)
	})
	for _, name := range []string{"authorizer-rest-token.json", "authorizer-rest-request.json"} {
		t.Run(name, func(t *testing.T) {
			out, err := simple(ctx, loadEvent(t, name, good))
			require.NoError(t, err)
			res := out.(events.APIGatewayCustomAuthorizerResponse)
			require.Equal(t, "admin", res.PrincipalID)
			require.Equal(t, "Allow", res.PolicyDocument.Statement[0].Effect)
			require.Equal(t, []string{"execute-api:Invoke"}, res.PolicyDocument.Statement[0].Action)
			require.Equal(t, string(c.Token.ID), res.Context["tokenId"])
			_, err = simple(ctx, loadEvent(t, name, bad))
			require.ErrorIs(t, err, authorizer.ErrUnauthorized, "an invalid token: 401")
		})
	}
	t.Run("REST: a valid token refused on this route gets an explicit Deny (403)", func(t *testing.T) {
		a := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Prefix: "tg", Now: f.clock.Now,
			RouteScopes: map[string][]string{"GET /demo/{thing}": {"tokens:admin"}}})
		out, err := a.Handler(authorizer.ResponseSimple)(ctx, loadEvent(t, "authorizer-rest-token.json", good))
		require.NoError(t, err)
		require.Equal(t, "Deny", out.(events.APIGatewayCustomAuthorizerResponse).PolicyDocument.Statement[0].Effect)
	})
	t.Run("REST TOKEN carries no address: an IP allowlist refuses it", func(t *testing.T) {
		c := f.create(t, token.CreateInput{IPAllowlist: []string{"198.51.100.7"}})
		out, err := simple(ctx, loadEvent(t, "authorizer-rest-token.json", c.Plaintext.Reveal()))
		require.NoError(t, err)
		require.Equal(t, "Deny", out.(events.APIGatewayCustomAuthorizerResponse).PolicyDocument.Statement[0].Effect)
		out, err = simple(ctx, loadEvent(t, "authorizer-rest-request.json", c.Plaintext.Reveal()))
		require.NoError(t, err)
		require.Equal(t, "Allow", out.(events.APIGatewayCustomAuthorizerResponse).PolicyDocument.Statement[0].Effect, "the REQUEST event has the source address")
	})
	t.Run("unknown event", func(t *testing.T) {
		_, err := simple(ctx, json.RawMessage(`{"hello":"world"}`))
		require.Error(t, err)
	})
}

var _ = localtest.Admin
