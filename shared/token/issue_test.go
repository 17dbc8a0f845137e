package token

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/restriction"
)

// TestIssue is the issuance invariant as a table: every path that hands out a secret,
// what it allows and what the result is. docs/permissions.md ("Issuance") mirrors it.
func TestIssue(t *testing.T) {
	cat := ruleCatalog(t)
	p := DefaultPolicy()
	allowlist := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	window := &restriction.TimeWindow{Days: []string{"mon", "tue"}, StartHour: 9, EndHour: 17}
	// Calling tokens: alice's own, an admin's, and restricted ones.
	aliceTok := func(f func(*Token)) *Token {
		return stored(func(t *Token) {
			t.ID, t.Scopes = "alicetok", writer.Scopes
			if f != nil {
				f(t)
			}
		})
	}
	adminTok := &Token{ID: "admintok", OwnerID: "admin", CreatedBy: "admin", MintedBy: "admin", Type: TypePermanent, Status: StatusActive,
		Scopes: admin.Scopes, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.AddDate(1, 0, 0)}
	withTok := func(c access.Caller, via *Token) access.Caller { c.TokenID = string(via.ID); return c }
	alice := withTok(writer, aliceTok(nil))
	boss := withTok(admin, adminTok)
	// A token to issue: alice's, temporary, low-risk, ending within the session TTL.
	target := func(f func(*Token)) *Token {
		x := &Token{ID: "new", OwnerID: "alice", CreatedBy: "alice", MintedBy: "alice", Type: TypeTemporary, Status: StatusActive,
			Scopes: []string{"orders:read"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if f != nil {
			f(x)
		}
		return x
	}
	// Rotations are of stored tokens.
	existing := func(f func(*Token)) *Token {
		return stored(func(t *Token) {
			t.ID = "existing"
			if f != nil {
				f(t)
			}
		})
	}

	tests := []struct {
		rule string
		r    issueRequest
		want string // requireErr's form
		then func(t *testing.T, g issueGrant)
	}{
		// Create for oneself.
		{"a child of the calling token", issueRequest{kind: IssueCreate, caller: alice, via: aliceTok(nil), token: target(nil)}, "", func(t *testing.T, g issueGrant) {
			require.Equal(t, ID("alicetok"), g.parentID)
			require.Equal(t, []ID{"alicetok"}, g.endsWith, "a temporary child lives with its parent")
			require.Equal(t, StatusActive, g.status)
			require.Equal(t, "alice", g.mintedBy)
		}},
		{"scopes beyond the calling token's", issueRequest{kind: IssueCreate, caller: alice, via: aliceTok(nil), token: target(func(x *Token) { x.Scopes = []string{"tokens:admin"} })}, "forbidden:tokens:admin", nil},
		{"a permanent token needs tokens:admin", issueRequest{kind: IssueCreate, caller: alice, via: aliceTok(nil), token: target(func(x *Token) { x.Type = TypePermanent })}, "forbidden:permanent tokens", nil},
		{"a permanent child lives on its own", issueRequest{kind: IssueCreate, caller: boss, via: adminTok, token: target(func(x *Token) { x.OwnerID, x.Type = "admin", TypePermanent })}, "", func(t *testing.T, g issueGrant) {
			require.Empty(t, g.endsWith)
			require.True(t, g.notAfter.IsZero())
			require.Equal(t, ID("admintok"), g.parentID)
		}},
		// Lineage bounds.
		{"the child inherits the parent's limits", issueRequest{kind: IssueCreate, caller: alice, token: target(nil),
			via: aliceTok(func(t *Token) {
				t.Restrictions = restriction.Set{IPAllowlist: allowlist, TimeRestriction: window, RateLimit: &restriction.RateLimit{Limit: 10, Per: "minute"}}
			})}, "", func(t *testing.T, g issueGrant) {
			require.Equal(t, [][]netip.Prefix{allowlist}, g.bounds.IPAllowlists)
			require.Equal(t, []restriction.TimeWindow{*window}, g.bounds.TimeWindows)
			require.Equal(t, []restriction.RateBound{{Key: "alicetok", Limit: restriction.RateLimit{Limit: 10, Per: "minute"}}}, g.bounds.Rates, "one family counter: the parent's")
		}},
		{"an own allowlist outside the parent's", issueRequest{kind: IssueCreate, caller: alice,
			via:   aliceTok(func(t *Token) { t.Restrictions.IPAllowlist = allowlist }),
			token: target(func(x *Token) { x.Restrictions.IPAllowlist = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} })}, "invalid:ipAllowlist", nil},
		{"an own time window outside the parent's", issueRequest{kind: IssueCreate, caller: alice,
			via: aliceTok(func(t *Token) { t.Restrictions.TimeRestriction = window }),
			token: target(func(x *Token) {
				x.Restrictions.TimeRestriction = &restriction.TimeWindow{Days: []string{"sat"}, StartHour: 9, EndHour: 17}
			})}, "invalid:timeRestriction", nil},
		{"a temporary child never outlives its parent", issueRequest{kind: IssueCreate, caller: alice, expiryField: "expiresAt",
			via:   aliceTok(func(t *Token) { t.ExpiresAt = now.Add(30 * time.Minute) }),
			token: target(nil)}, "invalid:expiresAt", nil},
		{"a default expiry is cut to the parent's end", issueRequest{kind: IssueCreate, caller: alice, defaultExpiry: true,
			via:   aliceTok(func(t *Token) { t.ExpiresAt = now.Add(30 * time.Minute) }),
			token: target(nil)}, "", func(t *testing.T, g issueGrant) {
			require.Equal(t, now.Add(30*time.Minute), g.expiresAt)
		}},
		{"a lineage too deep", issueRequest{kind: IssueCreate, caller: alice, token: target(nil),
			via: aliceTok(func(t *Token) {
				for range restriction.MaxBounds {
					t.EndsWith = append(t.EndsWith, "x")
				}
				t.Type = TypeTemporary
			})}, "forbidden:lineage", nil},
		// Sessions.
		{"a high-risk session is active at once", issueRequest{kind: IssueCreate, caller: alice, via: aliceTok(nil), token: target(func(x *Token) { x.Scopes = []string{"payments:refund"} })}, "", func(t *testing.T, g issueGrant) {
			require.Equal(t, StatusActive, g.status)
			require.Equal(t, g.expiresAt, g.notAfter, "a session never lives past the end it was issued with")
		}},
		{"a longer high-risk temporary token waits", issueRequest{kind: IssueCreate, caller: alice, via: aliceTok(nil), token: target(func(x *Token) {
			x.Scopes, x.ExpiresAt = []string{"payments:refund"}, now.Add(2*time.Hour)
		})}, "", func(t *testing.T, g issueGrant) { require.Equal(t, StatusPending, g.status) }},
		// Create for another principal.
		{"another owner needs tokens:admin", issueRequest{kind: IssueCreate, caller: alice, via: aliceTok(nil), token: target(func(x *Token) { x.OwnerID = "bob" })}, "forbidden:another principal", nil},
		{"an admin mints a delegated token", issueRequest{kind: IssueCreate, caller: boss, via: adminTok, token: target(func(x *Token) { x.OwnerID = "bob" })}, "", func(t *testing.T, g issueGrant) {
			require.Equal(t, "admin", g.mintedBy)
		}},
		{"a delegated token mints for nobody else", issueRequest{kind: IssueCreate, caller: withTok(delegated("admin", admin.Scopes...), adminTok), via: adminTok, token: target(func(x *Token) { x.OwnerID = "bob" })}, "forbidden:delegated token", nil},
		{"high-risk for another waits, even temporary", issueRequest{kind: IssueCreate, caller: boss, via: adminTok, token: target(func(x *Token) { x.OwnerID, x.Scopes = "bob", []string{"payments:refund"} })}, "", func(t *testing.T, g issueGrant) {
			require.Equal(t, StatusPending, g.status)
		}},
		// Rotation.
		{"rotating the calling token itself", issueRequest{kind: IssueRotate, caller: alice, via: aliceTok(nil), token: aliceTok(nil)}, "", func(t *testing.T, g issueGrant) {
			require.Equal(t, "alice", g.mintedBy)
		}},
		{"a new expiry for a permanent token needs tokens:admin", issueRequest{kind: IssueRotate, caller: alice, via: aliceTok(nil), token: aliceTok(nil), redated: true}, "forbidden:new expiry", nil},
		{"an admin rotating another's high-risk token: delegated and pending", issueRequest{kind: IssueRotate, caller: boss, via: adminTok, token: existing(func(t *Token) { t.Scopes = []string{"payments:refund"} })}, "", func(t *testing.T, g issueGrant) {
			require.Equal(t, "admin", g.mintedBy)
			require.Equal(t, StatusPending, g.status)
		}},
		{"a non-admin rotates nobody else's token", issueRequest{kind: IssueRotate, caller: withTok(caller("bob", access.TokensWrite, "orders:read"), &Token{ID: "bobtok"}), token: existing(nil)}, "forbidden:another principal", nil},
		{"rotation never launders delegation", issueRequest{kind: IssueRotate, caller: alice, via: aliceTok(nil), token: existing(func(t *Token) { t.MintedBy = "admin" })}, "forbidden:permanent", nil},
		{"an owner's rotation keeps a delegated token delegated", issueRequest{kind: IssueRotate, caller: alice, via: aliceTok(nil), token: existing(func(t *Token) { t.MintedBy, t.Type, t.ExpiresAt = "admin", TypeTemporary, now.Add(time.Hour) })}, "", func(t *testing.T, g issueGrant) {
			require.Equal(t, "admin", g.mintedBy)
		}},
		{"rotating a token with more scopes than the calling one", issueRequest{kind: IssueRotate, caller: alice, via: aliceTok(nil), token: existing(func(t *Token) {
			t.Type, t.ExpiresAt, t.Scopes = TypeTemporary, now.Add(time.Hour), []string{"tokens:admin"}
		})}, "forbidden:tokens:admin", nil},
		{"rotating a less restricted token with a restricted one", issueRequest{kind: IssueRotate, caller: alice, via: aliceTok(func(t *Token) { t.Restrictions.IPAllowlist = allowlist }),
			token: existing(func(t *Token) { t.Type, t.ExpiresAt = TypeTemporary, now.Add(time.Hour) })}, "forbidden:less restricted", nil},
		{"a temporary token never rotates past its latest end", issueRequest{kind: IssueRotate, caller: alice, via: aliceTok(nil), redated: true, expiryField: "expiresIn",
			token: existing(func(t *Token) {
				t.Type, t.NotAfter, t.ExpiresAt = TypeTemporary, now.Add(time.Hour), now.Add(2*time.Hour)
			})}, "invalid:expiresIn", nil},
		{"a session rotated keeps its end", issueRequest{kind: IssueRotate, caller: alice, via: aliceTok(nil), redated: true, expiryField: "expiresIn",
			token: existing(func(t *Token) {
				t.Type, t.NotAfter, t.ExpiresAt = TypeTemporary, now.Add(time.Hour), now.Add(time.Hour)
			})}, "", nil},
		// Roots.
		{"enrollment: the principal's own first token", issueRequest{kind: IssueEnroll, caller: access.Caller{OwnerID: "alice"}, token: target(func(x *Token) { x.Type = TypePermanent })}, "", func(t *testing.T, g issueGrant) {
			require.Equal(t, "alice", g.mintedBy)
			require.Empty(t, g.parentID)
		}},
		{"enrollment carries no high-risk scope", issueRequest{kind: IssueEnroll, caller: access.Caller{OwnerID: "alice"}, token: target(func(x *Token) { x.Scopes = []string{"payments:refund"} })}, "forbidden:high-risk", nil},
		{"bootstrap may", issueRequest{kind: IssueBootstrap, caller: access.Caller{OwnerID: "alice"}, token: target(func(x *Token) { x.Scopes = []string{"payments:refund"} })}, "", nil},
		{"a root for someone else", issueRequest{kind: IssueBootstrap, caller: access.Caller{OwnerID: "bob"}, token: target(nil)}, "forbidden:root token", nil},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			g, err := decideIssue(tt.r, cat, p, now)
			requireErr(t, tt.want, err)
			if err == nil && tt.then != nil {
				tt.then(t, g)
			}
		})
	}
}
