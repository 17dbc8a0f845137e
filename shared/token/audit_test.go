package token

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/restriction"
)

func TestAuditDiff(t *testing.T) {
	before := stored(nil)
	after := stored(func(t *Token) {
		t.Name, t.Status = "renamed", StatusDisabled
		t.Restrictions = restriction.Set{
			IPAllowlist:     []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
			RateLimit:       &restriction.RateLimit{Limit: 5, Per: "minute"},
			TimeRestriction: &restriction.TimeWindow{Days: []string{"mon", "fri"}, StartHour: 8, EndHour: 18},
		}
		t.EmergencyUntil = now.Add(time.Hour)
		t.Hash, t.PrevHash, t.Version, t.UpdatedAt, t.LastUsedIP = []byte("new"), []byte("old"), 9, now, "192.0.2.1"
	})
	require.Equal(t, []Change{
		{Field: "emergencyAccessUntil", To: "2026-03-03T11:00:00Z"},
		{Field: "ipAllowlist", To: "10.0.0.0/8 2001:db8::/32"},
		{Field: "name", From: "ci", To: "renamed"},
		{Field: "rateLimit", To: "5 per minute"},
		{Field: "status", From: "active", To: "disabled"},
		{Field: "timeRestriction", To: "mon,fri 08:00-18:00 UTC"},
	}, diff(auditFields(before), auditFields(after)), "sorted by field; hashes, versions and usage are never audited")
	require.Empty(t, diff(auditFields(before), auditFields(stored(nil))))

	created := diff(auditFields(nil), auditFields(before))
	require.Contains(t, created, Change{Field: "scopes", To: "orders:read"})
	require.Contains(t, created, Change{Field: "expiresAt", To: "2026-04-03T10:00:00Z"})
	for _, c := range created {
		require.NotEmpty(t, c.To, "a new token's record lists only the fields it has: %s", c.Field)
	}
}

func TestEvents(t *testing.T) {
	tok := stored(nil)
	e := event(EventRevoke, writer, tok, now, "leaked", nil)
	require.Equal(t, Event{ID: e.ID, Time: now, Version: 3, Type: EventRevoke, ActorID: "alice", ActorTokenID: "calling-token", TokenID: "tok", OwnerID: "alice", Reason: "leaked"}, e)
	require.Len(t, e.ID, 16)
	require.NotEqual(t, e.ID, event(EventRevoke, writer, tok, now, "", nil).ID, "ids are unique within a second")

	d := event(EventRevoke, delegated("alice", access.TokensWrite), tok, now, "", nil)
	require.Equal(t, "boss", d.ActorMintedBy, "a borrowed token never hides its minter")

	p := PrincipalEvent(EventEnrollSend, delegated("admin"), "bob", now, "welcome")
	require.Equal(t, Event{ID: p.ID, Time: now, Type: EventEnrollSend, ActorID: "admin", ActorTokenID: "calling-token", ActorMintedBy: "boss", OwnerID: "bob", Reason: "welcome"}, p)
	require.Empty(t, PrincipalEvent(EventEnrollSend, admin, "bob", now, "").ActorMintedBy)
}

func TestFilters(t *testing.T) {
	ev := &Event{Type: EventUpdate, ActorID: "alice", ActorMintedBy: "boss", TokenID: "tok"}
	audit := []struct {
		rule string
		f    AuditFilter
		want bool
	}{
		{"no condition", AuditFilter{}, true},
		{"the type", AuditFilter{Type: EventUpdate}, true},
		{"another type", AuditFilter{Type: EventRevoke}, false},
		{"the actor", AuditFilter{ActorID: "alice"}, true},
		{"the minter of the actor's delegated token", AuditFilter{ActorID: "boss"}, true},
		{"another actor", AuditFilter{ActorID: "bob"}, false},
		{"the token", AuditFilter{TokenID: "tok"}, true},
		{"another token", AuditFilter{TokenID: "other"}, false},
		{"every condition holds", AuditFilter{Type: EventUpdate, ActorID: "boss", TokenID: "tok"}, true},
		{"one fails", AuditFilter{Type: EventUpdate, ActorID: "boss", TokenID: "other"}, false},
	}
	for _, tt := range audit {
		t.Run("audit: "+tt.rule, func(t *testing.T) {
			require.Equal(t, tt.want, tt.f.Match(ev))
		})
	}

	month := stored(nil) // expires in a month
	list := []struct {
		rule string
		f    Filter
		t    *Token
		want bool
	}{
		{"no condition", Filter{Now: now}, month, true},
		{"the status", Filter{Now: now, Status: StatusActive}, month, true},
		{"another status", Filter{Now: now, Status: StatusDisabled}, month, false},
		{"expired is derived from the expiry", Filter{Now: now, Status: StatusExpired}, stored(func(t *Token) { t.ExpiresAt = now }), true},
		{"an expired token is not active", Filter{Now: now, Status: StatusActive}, stored(func(t *Token) { t.ExpiresAt = now }), false},
		{"expiring within 720h: a month is 31 days here", Filter{Now: now, ExpiringWithin: 720 * time.Hour}, month, false},
		{"expiring within 744h", Filter{Now: now, ExpiringWithin: 744 * time.Hour}, month, true},
		{"an expired token is not expiring", Filter{Now: now, ExpiringWithin: time.Hour}, stored(func(t *Token) { t.ExpiresAt = now }), false},
		{"a token that never expires is not expiring", Filter{Now: now, ExpiringWithin: time.Hour}, stored(func(t *Token) { t.ExpiresAt = time.Time{} }), false},
	}
	for _, tt := range list {
		t.Run("list: "+tt.rule, func(t *testing.T) {
			require.Equal(t, tt.want, tt.f.Match(tt.t))
		})
	}
	for _, s := range []string{"active", "pending", "disabled", "revoked", "rejected", "expired"} {
		require.True(t, ValidStatus(s), s)
	}
	require.False(t, ValidStatus("deleted"))
}

func TestTokenRules(t *testing.T) {
	retention := 30 * 24 * time.Hour
	removeAt := []struct {
		rule string
		t    *Token
		want time.Time
	}{
		{"a live token is removed after its expiry", stored(nil), now.AddDate(0, 1, 0).Add(retention)},
		{"a revoked token after its end", stored(func(t *Token) { t.EndedAt = now }), now.Add(retention)},
		{"whichever came first", stored(func(t *Token) { t.EndedAt, t.ExpiresAt = now, now.Add(-time.Hour) }), now.Add(-time.Hour).Add(retention)},
		{"a token that never ends is kept", stored(func(t *Token) { t.ExpiresAt = time.Time{} }), time.Time{}},
		{"a token that never expires, once revoked", stored(func(t *Token) { t.ExpiresAt, t.EndedAt = time.Time{}, now }), now.Add(retention)},
	}
	for _, tt := range removeAt {
		t.Run(tt.rule, func(t *testing.T) {
			require.Equal(t, tt.want, tt.t.RemoveAt(retention))
		})
	}
	minter := []struct {
		rule                       string
		owner, createdBy, mintedBy string
		want                       string
		delegated                  bool
	}{
		{"minted by its owner", "alice", "alice", "alice", "alice", false},
		{"minted by an admin", "alice", "admin", "admin", "admin", true},
		{"stored before MintedBy: the creator", "alice", "admin", "", "admin", true},
		{"neither: the owner", "alice", "", "", "alice", false},
	}
	for _, tt := range minter {
		t.Run(tt.rule, func(t *testing.T) {
			tok := &Token{OwnerID: tt.owner, CreatedBy: tt.createdBy, MintedBy: tt.mintedBy}
			require.Equal(t, tt.want, tok.Minter())
			require.Equal(t, tt.delegated, tok.Delegated())
		})
	}
}

func TestErrorsSayWhat(t *testing.T) {
	inv := &fault.InvalidError{}
	inv.Add("name", "is required")
	inv.Add("scopes", "at most 50 scopes")
	require.Equal(t, "invalid input: name: is required; scopes: at most 50 scopes", inv.Error())
	f := &fault.ForbiddenError{Reason: "needs tokens:admin"}
	require.Equal(t, "forbidden: needs tokens:admin", f.Error())
	require.True(t, errors.Is(f, fault.ErrForbidden))
	require.False(t, errors.Is(f, fault.ErrNotFound))
	require.Equal(t, "the token is revoked", (&fault.StateError{Reason: "the token is revoked"}).Error())
	require.Contains(t, DelegatedError(delegated("alice"), "approve tokens").Error(), "minted by boss for alice")
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		rule string
		f    func(*Policy)
		want string
	}{
		{"the defaults", nil, ""},
		{"a negative maximum lifetime", func(p *Policy) { p.MaxLifetime = -1 }, "MAX_TOKEN_LIFETIME"},
		{"no temporary TTL", func(p *Policy) { p.TemporaryTTL = 0 }, "TEMPORARY_TOKEN_TTL must be more than 0"},
		{"a temporary TTL over 24h", func(p *Policy) { p.TemporaryTTL = 25 * time.Hour }, "TEMPORARY_TOKEN_TTL must be more than 0"},
		{"a temporary maximum over 24h", func(p *Policy) { p.MaxTemporaryLifetime = 25 * time.Hour }, "MAX_TEMPORARY_TOKEN_LIFETIME"},
		{"a TTL beyond the temporary maximum", func(p *Policy) { p.TemporaryTTL, p.MaxTemporaryLifetime = 3*time.Hour, 2*time.Hour }, "must not exceed"},
		{"an unset temporary maximum is 12h", func(p *Policy) { p.TemporaryTTL, p.MaxTemporaryLifetime = 13*time.Hour, 0 }, "must not exceed MAX_TEMPORARY_TOKEN_LIFETIME (12h0m0s)"},
		{"a negative retention", func(p *Policy) { p.Retention = -1 }, "RETENTION_AFTER_END"},
		{"no detection window", func(p *Policy) { p.DetectionWindow = 0 }, "TOKEN_EXPIRATION_DETECTION_WINDOW"},
		{"a detection window over a year", func(p *Policy) { p.DetectionWindow = MaxDetectionWindow + time.Hour }, "TOKEN_EXPIRATION_DETECTION_WINDOW"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			p := DefaultPolicy()
			if tt.f != nil {
				tt.f(&p)
			}
			err := p.Validate()
			if tt.want == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.want)
			}
		})
	}
}
