package token

// The domain rules of shared/token, decided by pure functions: every input (the caller,
// the token or principal as read, the request, the policy, the catalog, the clock) is a
// value, so these tests need no stack. The Service methods only read, call these, and
// write; the store and the API tests (on DynamoDB Local) cover that glue.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/restriction"
)

// now is a Tuesday, 10:00 UTC.
var now = time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)

var ruleKeys = func() *Keyring {
	p, _ := NewPepper(1, bytes.Repeat([]byte{7}, 32))
	k, _ := NewKeyring(p)
	return k
}()

func ruleCatalog(t testing.TB) *access.Catalog {
	t.Helper()
	cat, err := access.ParseCatalog([]byte(`{
		"scopes": [
			{"name": "orders:read", "risk": "low", "description": "r"},
			{"name": "orders:write", "risk": "medium", "description": "w"},
			{"name": "payments:refund", "risk": "high", "description": "h"}
		],
		"roles": {
			"reader": {"description": "d", "scopes": ["orders:read"]},
			"finance": {"description": "d", "scopes": ["orders:read", "payments:refund"]}
		}}`))
	require.NoError(t, err)
	return cat
}

func caller(owner string, scopes ...string) access.Caller {
	return access.Caller{TokenID: "calling-token", OwnerID: owner, Scopes: scopes}
}

// delegated is a token boss minted for owner.
func delegated(owner string, scopes ...string) access.Caller {
	c := caller(owner, scopes...)
	c.MinterID = "boss"
	return c
}

var (
	admin  = caller("admin", access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead, access.EmergencyActivate, "orders:read", "orders:write", "payments:refund")
	writer = caller("alice", access.TokensRead, access.TokensWrite, "orders:read", "orders:write", "payments:refund")
	viewer = caller("alice", access.TokensRead, "orders:read")
)

// requireErr checks err against want: "" no error; "invalid:<field>" an fault.InvalidError
// naming field; "forbidden:<words>" a fault.ForbiddenError saying them; "state:<words>" a
// fault.StateError; "notfound"; "conflict".
func requireErr(t *testing.T, want string, err error) {
	t.Helper()
	kind, detail, _ := strings.Cut(want, ":")
	var inv *fault.InvalidError
	var forb *fault.ForbiddenError
	var st *fault.StateError
	switch kind {
	case "":
		require.NoError(t, err)
	case "invalid":
		require.ErrorAs(t, err, &inv)
		var fields []string
		for _, f := range inv.Fields {
			fields = append(fields, f.Field)
		}
		require.Contains(t, fields, detail, err.Error())
	case "forbidden":
		require.ErrorAs(t, err, &forb)
		require.ErrorIs(t, err, fault.ErrForbidden)
		require.Contains(t, forb.Reason, detail)
	case "state":
		require.ErrorAs(t, err, &st)
		require.Contains(t, st.Reason, detail)
	case "notfound":
		require.ErrorIs(t, err, fault.ErrNotFound)
	case "conflict":
		require.ErrorIs(t, err, fault.ErrConflict)
	default:
		t.Fatalf("bad want %q", want)
	}
}

func TestPlanCreate(t *testing.T) {
	cat := ruleCatalog(t)
	p := DefaultPolicy()
	in := func(f func(*CreateInput)) CreateInput {
		i := CreateInput{Name: "ci", Scopes: []string{"orders:read"}}
		if f != nil {
			f(&i)
		}
		return i
	}
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	tests := []struct {
		rule   string
		c      access.Caller
		in     CreateInput
		policy func(*Policy)
		want   string
	}{
		// Who may create at all.
		{"creating needs tokens:write", viewer, in(nil), nil, "forbidden:tokens:write"},
		{"tokens:admin alone may create", caller("admin", access.TokensAdmin, "orders:read"), in(nil), nil, ""},
		// Fields.
		{"a name is required", admin, in(func(i *CreateInput) { i.Name = "" }), nil, "invalid:name"},
		{"a name has at most 100 characters", admin, in(func(i *CreateInput) { i.Name = strings.Repeat("é", 101) }), nil, "invalid:name"},
		{"100 characters are fine", admin, in(func(i *CreateInput) { i.Name = strings.Repeat("é", 100) }), nil, ""},
		{"a blank name is refused", admin, in(func(i *CreateInput) { i.Name = "   " }), nil, "invalid:name"},
		{"a name has no control characters", admin, in(func(i *CreateInput) { i.Name = "a\nb" }), nil, "invalid:name"},
		{"a name is valid UTF-8", admin, in(func(i *CreateInput) { i.Name = "a\xffb" }), nil, "invalid:name"},
		{"a description has at most 500 characters", admin, in(func(i *CreateInput) { i.Description = strings.Repeat("x", 501) }), nil, "invalid:description"},
		{"a description may have line breaks", admin, in(func(i *CreateInput) { i.Description = "one\r\ntwo\tthree" }), nil, ""},
		{"a description has no other control characters", admin, in(func(i *CreateInput) { i.Description = "bell\a" }), nil, "invalid:description"},
		{"the type is permanent or temporary", admin, in(func(i *CreateInput) { i.Type = "forever" }), nil, "invalid:type"},
		{"an owner id is a principal id", admin, in(func(i *CreateInput) { i.OwnerID = "bob smith" }), nil, "invalid:ownerId"},
		{"an unknown role is refused", admin, in(func(i *CreateInput) { i.Role = "wizard" }), nil, "invalid:role"},
		{"a token needs a scope or a role", admin, in(func(i *CreateInput) { i.Scopes = nil }), nil, "invalid:scopes"},
		{"a role alone is enough", admin, in(func(i *CreateInput) { i.Scopes, i.Role = nil, "reader" }), nil, ""},
		{"at most 50 scopes", admin, in(func(i *CreateInput) { i.Scopes = make([]string, 51) }), nil, "invalid:scopes"},
		{"an unknown scope is refused", admin, in(func(i *CreateInput) { i.Scopes = []string{"orders:delete"} }), nil, "invalid:scopes"},
		// Reasons.
		{"a medium-risk scope needs a reason", admin, in(func(i *CreateInput) { i.Scopes = []string{"orders:write"} }), nil, "invalid:reason"},
		{"a high-risk scope needs a reason", admin, in(func(i *CreateInput) { i.Scopes = []string{"payments:refund"}; i.Reason = " " }), nil, "invalid:reason"},
		{"a high-risk role needs a reason", admin, in(func(i *CreateInput) { i.Scopes, i.Role = nil, "finance" }), nil, "invalid:reason"},
		{"a reason makes a high-risk scope fine", admin, in(func(i *CreateInput) { i.Scopes = []string{"payments:refund"}; i.Reason = "refunds" }), nil, ""},
		{"a low-risk scope needs no reason", admin, in(nil), nil, ""},
		{"a reason has at most 500 characters", admin, in(func(i *CreateInput) { i.Reason = strings.Repeat("x", 501) }), nil, "invalid:reason"},
		{"a reason has no control characters", admin, in(func(i *CreateInput) { i.Reason = "\x00" }), nil, "invalid:reason"},
		// Lifetimes.
		{"expiresIn or expiresAt, not both", admin, in(func(i *CreateInput) { i.ExpiresIn, i.ExpiresAt = "1w", at(time.Hour) }), nil, "invalid:expiresAt"},
		{"expiresIn is a preset", admin, in(func(i *CreateInput) { i.ExpiresIn = "2w" }), nil, "invalid:expiresIn"},
		{"never is refused under a maximum lifetime", admin, in(func(i *CreateInput) { i.ExpiresIn = "never" }), nil, "invalid:expiresIn"},
		{"never is allowed without one", admin, in(func(i *CreateInput) { i.ExpiresIn = "never" }), func(p *Policy) { p.MaxLifetime = 0 }, ""},
		{"expiresAt is in the future", admin, in(func(i *CreateInput) { i.ExpiresAt = at(-time.Second) }), nil, "invalid:expiresAt"},
		{"expiresAt is within the maximum lifetime", admin, in(func(i *CreateInput) { i.ExpiresAt = at(8785 * time.Hour) }), nil, "invalid:expiresAt"},
		{"1y fits the default maximum", admin, in(func(i *CreateInput) { i.ExpiresIn = "1y" }), nil, ""},
		{"6m does not fit a 90-day maximum", admin, in(func(i *CreateInput) { i.ExpiresIn = "6m" }), func(p *Policy) { p.MaxLifetime = 90 * 24 * time.Hour }, "invalid:expiresIn"},
		{"a temporary token lives at most 12h", writer, in(func(i *CreateInput) { i.Type, i.ExpiresAt = TypeTemporary, at(13*time.Hour) }), nil, "invalid:expiresAt"},
		{"a temporary token of 12h is fine", writer, in(func(i *CreateInput) { i.Type, i.ExpiresAt = TypeTemporary, at(12*time.Hour) }), nil, ""},
		{"a temporary token never lives for ever", writer, in(func(i *CreateInput) { i.Type, i.ExpiresIn = TypeTemporary, "never" }), func(p *Policy) { p.MaxLifetime = 0 }, "invalid:expiresIn"},
		{"a temporary token of a week is refused", writer, in(func(i *CreateInput) { i.Type, i.ExpiresIn = TypeTemporary, "1w" }), nil, "invalid:expiresIn"},
		{"the temporary maximum is a setting", writer, in(func(i *CreateInput) { i.Type, i.ExpiresAt = TypeTemporary, at(3*time.Hour) }), func(p *Policy) { p.MaxTemporaryLifetime = 2 * time.Hour }, "invalid:expiresAt"},
		// Restrictions.
		{"an IP allowlist holds addresses or CIDRs", admin, in(func(i *CreateInput) { i.IPAllowlist = []string{"10.0.0.0/33"} }), nil, "invalid:ipAllowlist[0]"},
		{"a rate limit counts from 1", admin, in(func(i *CreateInput) { i.RateLimit = &restriction.RateLimit{Limit: 0, Per: "hour"} }), nil, "invalid:rateLimit.limit"},
		{"a rate limit has a known window", admin, in(func(i *CreateInput) { i.RateLimit = &restriction.RateLimit{Limit: 5, Per: "week"} }), nil, "invalid:rateLimit.per"},
		{"a time window ends after it starts", admin, in(func(i *CreateInput) {
			i.TimeRestriction = &restriction.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 9}
		}), nil, "invalid:timeRestriction.endHour"},
		{"a time window names days", admin, in(func(i *CreateInput) {
			i.TimeRestriction = &restriction.TimeWindow{Days: []string{"funday"}, StartHour: 9, EndHour: 17}
		}), nil, "invalid:timeRestriction.days[0]"},
		// Escalation.
		{"a token cannot carry scopes its creator lacks", writer, in(func(i *CreateInput) { i.Type, i.Scopes = TypeTemporary, []string{"tokens:admin"}; i.Reason = "x" }), nil, "forbidden:tokens:admin"},
		{"a role cannot smuggle in scopes the creator lacks", plus(viewer, access.TokensWrite), in(func(i *CreateInput) { i.Type, i.Scopes, i.Role, i.Reason = TypeTemporary, nil, "finance", "x" }), nil, "forbidden:payments:refund"},
		{"another owner needs tokens:admin", writer, in(func(i *CreateInput) { i.Type, i.OwnerID = TypeTemporary, "bob" }), nil, "forbidden:another principal"},
		{"an admin may create for another owner", admin, in(func(i *CreateInput) { i.OwnerID = "bob" }), nil, ""},
		{"a delegated token cannot mint for other principals", delegated("admin", admin.Scopes...), in(func(i *CreateInput) { i.OwnerID = "bob" }), nil, "forbidden:delegated token"},
		{"a delegated token may mint for its owner", delegated("admin", admin.Scopes...), in(nil), nil, ""},
		{"permanent tokens need tokens:admin by policy", writer, in(nil), nil, "forbidden:permanent tokens"},
		{"temporary tokens do not", writer, in(func(i *CreateInput) { i.Type = TypeTemporary }), nil, ""},
		{"without the policy anyone with tokens:write may", writer, in(nil), func(p *Policy) { p.PermanentAdminOnly = false }, ""},
		{"bad input is reported before authority", writer, in(func(i *CreateInput) { i.OwnerID, i.Name = "bob", "" }), nil, "invalid:name"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			pol := p
			if tt.policy != nil {
				tt.policy(&pol)
			}
			_, err := issueCreate(t, tt.c, tt.in, nil, cat, pol)
			requireErr(t, tt.want, err)
		})
	}
}

// issueCreate runs a create request as Service.create decides it, with no store: the
// fields (planCreate), then issuance through via (nil: a caller with no token).
func issueCreate(t *testing.T, c access.Caller, in CreateInput, via *Token, cat *access.Catalog, p Policy) (*Token, error) {
	t.Helper()
	pl, err := planCreate(c, in, cat, p, now)
	if err != nil {
		return nil, err
	}
	tok := pl.token(c, generated(t, ""), ruleKeys.Current(), "tg", now)
	g, err := decideIssue(issueRequest{kind: IssueCreate, caller: c, via: via, token: tok, defaultExpiry: pl.defaultExpiry, expiryField: pl.expiryField}, cat, p, now)
	if err != nil {
		return nil, err
	}
	g.applyNew(tok)
	return tok, nil
}

// plus is c with more scopes.
func plus(c access.Caller, scopes ...string) access.Caller {
	c.Scopes = append(append([]string(nil), c.Scopes...), scopes...)
	return c
}

// planned is the plan of a valid create request.
func planned(t *testing.T, c access.Caller, in CreateInput) createPlan {
	t.Helper()
	if in.Name == "" {
		in.Name = "ci"
	}
	pl, err := planCreate(c, in, ruleCatalog(t), DefaultPolicy(), now)
	require.NoError(t, err)
	return pl
}

func generated(t *testing.T, id ID) Generated {
	t.Helper()
	g, err := Generate("tg", id, ruleKeys, nil)
	require.NoError(t, err)
	return g
}

func TestCreatePlanToken(t *testing.T) {
	g := generated(t, "")
	soon := now.Add(time.Hour)
	later := now.Add(2 * time.Hour)
	tests := []struct {
		rule   string
		c      access.Caller
		in     CreateInput
		status Status
	}{
		{"a low-risk token is active at once", admin, CreateInput{Scopes: []string{"orders:read"}}, StatusActive},
		{"a medium-risk token is active at once", admin, CreateInput{Scopes: []string{"orders:write"}, Reason: "r"}, StatusActive},
		{"a high-risk token waits for approval", admin, CreateInput{Scopes: []string{"payments:refund"}, Reason: "r"}, StatusPending},
		{"a high-risk role waits for approval", admin, CreateInput{Role: "finance", Reason: "r"}, StatusPending},
		{"a session of the calling token needs no approval", writer, CreateInput{Type: TypeTemporary, Scopes: []string{"payments:refund"}, Reason: "r", ExpiresAt: &soon}, StatusActive},
		{"a temporary token longer than a session waits", writer, CreateInput{Type: TypeTemporary, Scopes: []string{"payments:refund"}, Reason: "r", ExpiresAt: &later}, StatusPending},
		{"a temporary high-risk token for another principal waits", admin, CreateInput{Type: TypeTemporary, OwnerID: "bob", Scopes: []string{"payments:refund"}, Reason: "r", ExpiresAt: &soon}, StatusPending},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			if tt.in.Name == "" {
				tt.in.Name = "ci"
			}
			tok, err := issueCreate(t, tt.c, tt.in, nil, ruleCatalog(t), DefaultPolicy())
			require.NoError(t, err)
			require.Equal(t, tt.status, tok.Status)
			require.Equal(t, int64(1), tok.Version)
		})
	}

	t.Run("the token keeps a keyed hash and a hint, never the secret", func(t *testing.T) {
		pl := planned(t, admin, CreateInput{Scopes: []string{"orders:read", "orders:read"}, IPAllowlist: []string{"10.0.0.1"}})
		tok := pl.token(admin, g, ruleKeys.Current(), "tg", now)
		ev := event(EventCreate, admin, tok, now, "", diff(auditFields(nil), auditFields(tok)))
		require.True(t, tok.Verify(ruleKeys, g.Secret, now))
		require.NotEqual(t, g.Secret.Bytes(), tok.Hash)
		require.Equal(t, g.Plaintext.Hint("tg"), tok.Hint)
		require.Equal(t, []string{"orders:read"}, tok.Scopes, "scopes once each")
		require.Equal(t, now.AddDate(1, 0, 0), tok.ExpiresAt, "one year by default")
		requireNoSecret(t, g, tok, ev)
	})
	t.Run("restrictions record their setter: the minter", func(t *testing.T) {
		d := delegated("admin", admin.Scopes...)
		pl := planned(t, d, CreateInput{Scopes: []string{"orders:read"}, IPAllowlist: []string{"10.0.0.1"}, RateLimit: &restriction.RateLimit{Limit: 1, Per: "hour"}})
		tok := pl.token(d, g, ruleKeys.Current(), "tg", now)
		ev := event(EventCreate, d, tok, now, "", nil)
		require.Equal(t, "boss", tok.Restrictions.IPAllowlistSetBy)
		require.Equal(t, "boss", tok.Restrictions.RateLimitSetBy)
		require.Empty(t, tok.Restrictions.TimeRestrictionSetBy, "no window, no setter")
		require.Equal(t, "admin", tok.CreatedBy)
		require.Equal(t, "boss", tok.MintedBy, "a token minted with a delegated token carries the same minter")
		require.Equal(t, "boss", ev.ActorMintedBy, "the audit record names the minter")
	})
}

// requireNoSecret fails if the token string, its secret or a hash (raw, hex or base64)
// shows in the audit record, or a record names a hash field.
func requireNoSecret(t *testing.T, g Generated, tok *Token, ev Event) {
	t.Helper()
	all := ev.ID + ev.Reason
	for _, c := range ev.Changes {
		all += " " + c.Field + "=" + c.From + ">" + c.To
		require.NotContains(t, []string{"hash", "prevHash", "pepperVersion"}, c.Field)
		if c.Field == "secret" {
			require.Equal(t, Change{Field: "secret", To: "replaced"}, c, "a rotation says the secret was replaced, nothing more")
		}
	}
	secrets := []string{g.Plaintext.Reveal(), string(g.Secret.Bytes())}
	for _, h := range [][]byte{tok.Hash, tok.PrevHash} {
		if len(h) > 0 {
			secrets = append(secrets, string(h), hex.EncodeToString(h), base64.StdEncoding.EncodeToString(h), base64.RawURLEncoding.EncodeToString(h))
		}
	}
	for _, secret := range secrets {
		require.NotContains(t, all, secret)
	}
}

func TestIsSession(t *testing.T) {
	p := DefaultPolicy() // sessions end within TemporaryTTL: 1h
	in := CreateInput{Type: TypeTemporary, OwnerID: "alice"}
	tests := []struct {
		rule string
		c    access.Caller
		in   CreateInput
		at   time.Time
		want bool
	}{
		{"a temporary token for oneself within the TTL", writer, in, now.Add(time.Hour), true},
		{"a second longer is no session", writer, in, now.Add(time.Hour + time.Second), false},
		{"a permanent token is no session", writer, CreateInput{Type: TypePermanent, OwnerID: "alice"}, now.Add(time.Minute), false},
		{"a token for another principal is no session", admin, in, now.Add(time.Minute), false},
		{"a token that never expires is no session", writer, in, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			x := &Token{Type: tt.in.Type, OwnerID: tt.in.OwnerID}
			require.Equal(t, tt.want, session(tt.c, x, tt.at, now, p))
		})
	}
}
