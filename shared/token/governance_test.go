package token

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/audit"
)

func TestCheckAudit(t *testing.T) {
	auditor := caller("carol", access.AuditRead)
	tests := []struct {
		rule string
		c    access.Caller
		f    audit.Filter
		want string
	}{
		{"the activity log needs audit:read", caller("admin", access.TokensAdmin, access.TokensRead), audit.Filter{}, "forbidden:audit:read"},
		{"audit:read alone is enough", auditor, audit.Filter{}, ""},
		{"a token filter is a token id", auditor, audit.Filter{TokenID: "nope"}, "invalid:tokenId"},
		{"an actor filter is a principal id", auditor, audit.Filter{ActorID: "bob smith"}, "invalid:actor"},
		{"or the leak reporter", auditor, audit.Filter{ActorID: audit.LeakReporter}, ""},
		{"a real token id", auditor, audit.Filter{TokenID: string(generated(t, "").ID)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			requireErr(t, tt.want, checkAudit(tt.c, tt.f))
		})
	}
}

// Approvals: an admin in person, never the requester.
func TestDecisions(t *testing.T) {
	decider := caller("dana", access.TokensAdmin)
	before := []struct {
		rule   string
		c      access.Caller
		reason string
		want   string
	}{
		{"deciding needs tokens:admin", caller("dana", access.TokensWrite), "", "forbidden:tokens:admin"},
		{"an admin decides", decider, "", ""},
		{"a reason is optional but checked", decider, strings.Repeat("x", 501), "invalid:reason"},
		{"a delegated token never decides", delegated("dana", access.TokensAdmin), "", "forbidden:authority is personal"},
	}
	for _, tt := range before {
		for _, typ := range []audit.EventType{audit.EventApprove, audit.EventReject} {
			t.Run(string(typ)+": "+tt.rule, func(t *testing.T) {
				requireErr(t, tt.want, mayDecide(tt.c, tt.reason, typ))
			})
		}
	}
	requester := []struct {
		rule  string
		token func(*Token)
		want  string
	}{
		{"another admin's decision stands", nil, ""},
		{"the owner cannot approve its own token", func(t *Token) { t.OwnerID = "dana" }, "forbidden:the owner or the requester"},
		{"the minter cannot approve what it minted", func(t *Token) { t.MintedBy = "dana" }, "forbidden:the owner or the requester"},
		{"the creator cannot approve what it created, whoever minted it", func(t *Token) { t.CreatedBy, t.MintedBy = "dana", "eve" }, "forbidden:the owner or the requester"},
		{"an old token's creator is its minter too", func(t *Token) { t.CreatedBy, t.MintedBy = "dana", "" }, "forbidden:approve"},
	}
	for _, tt := range requester {
		t.Run(tt.rule, func(t *testing.T) {
			requireErr(t, tt.want, notRequester(decider, stored(tt.token), audit.EventApprove))
		})
	}
	require.Contains(t, notRequester(decider, stored(func(t *Token) { t.OwnerID = "dana" }), audit.EventReject).Error(), "cannot reject it")
}

func TestEmergencyRules(t *testing.T) {
	tests := []struct {
		rule   string
		d      time.Duration
		reason string
		want   string
	}{
		{"one hour", time.Hour, "outage", ""},
		{"eight hours", 8 * time.Hour, "outage", ""},
		{"less than an hour", 59 * time.Minute, "outage", "invalid:duration"},
		{"more than eight hours", 8*time.Hour + time.Second, "outage", "invalid:duration"},
		{"a reason is required", time.Hour, "", "invalid:reason"},
		{"a blank reason is none", time.Hour, " \n", "invalid:reason"},
		{"a reason is printable", time.Hour, "\x07", "invalid:reason"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			requireErr(t, tt.want, checkEmergency(tt.d, tt.reason))
		})
	}
	who := []struct {
		rule string
		c    access.Caller
		want string
	}{
		{"break-glass needs emergency:activate", caller("sam", access.TokensAdmin), "forbidden:emergency:activate"},
		{"a delegated token never breaks the glass", delegated("sam", access.EmergencyActivate), "forbidden:authority is personal"},
		{"the scope in person is enough to go on", caller("sam", access.EmergencyActivate), ""},
	}
	for _, tt := range who {
		t.Run(tt.rule, func(t *testing.T) {
			requireErr(t, tt.want, mayBreakGlass(tt.c))
		})
	}
	t.Run("and only a superuser, as read now", func(t *testing.T) {
		requireErr(t, "forbidden:only a superuser", superuser(nil))
		requireErr(t, "forbidden:only a superuser", superuser(&access.Principal{ID: "sam"}))
		requireErr(t, "", superuser(&access.Principal{ID: "sam", Superuser: true}))
	})
}

func TestLeakReport(t *testing.T) {
	a, b := generated(t, ""), generated(t, "")
	other, err := NewPepper(1, []byte(strings.Repeat("o", 32)))
	require.NoError(t, err)
	otherKeys, err := NewKeyring(other)
	require.NoError(t, err)
	forged, err := Generate("tg", "", otherKeys, nil)
	require.NoError(t, err)

	tests := []struct {
		rule string
		strs []string
		want []ID
		err  string
	}{
		{"a report names a token", nil, nil, "invalid:tokens"},
		{"at most 100 strings", make([]string, MaxLeakReport+1), nil, "invalid:tokens"},
		{"100 strings are fine", make([]string, MaxLeakReport), nil, ""},
		{"tokens are kept, once each, spaces trimmed", []string{a.Plaintext.Reveal(), " " + b.Plaintext.Reveal() + "\n", a.Plaintext.Reveal()}, []ID{a.ID, b.ID}, ""},
		{"garbage costs no read", []string{"hello", "tg_" + strings.Repeat("x", 90)}, nil, ""},
		{"a string another deployment tagged costs no read", []string{forged.Plaintext.Reveal()}, nil, ""},
		{"another prefix costs no read", []string{"gh" + a.Plaintext.Reveal()[2:]}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			got, err := parseLeaked(ruleKeys, "tg", tt.strs)
			requireErr(t, tt.err, err)
			var ids []ID
			for _, p := range got {
				ids = append(ids, p.ID)
			}
			require.Equal(t, tt.want, ids)
		})
	}

	pep := ruleKeys.Current()
	revocable := []struct {
		rule  string
		token func(*Token)
		want  bool
	}{
		{"the token's secret revokes it", nil, true},
		{"a wrong secret does not", func(t *Token) { t.Hash = pep.Hash(b.Secret) }, false},
		{"the previous secret in its grace period does", func(t *Token) {
			t.Hash, t.PrevHash, t.PrevPepperVersion, t.PrevValidUntil = pep.Hash(b.Secret), pep.Hash(a.Secret), 1, now.Add(time.Minute)
		}, true},
		{"the previous secret after it does not", func(t *Token) {
			t.Hash, t.PrevHash, t.PrevPepperVersion, t.PrevValidUntil = pep.Hash(b.Secret), pep.Hash(a.Secret), 1, now
		}, false},
		{"an ended token is left alone", func(t *Token) { t.Status = StatusRevoked }, false},
		{"an expired token is left alone", func(t *Token) { t.ExpiresAt = now }, false},
		{"a disabled token is revoked", func(t *Token) { t.Status = StatusDisabled }, true},
		{"a pending token is revoked", func(t *Token) { t.Status = StatusPending }, true},
		{"an unknown pepper version never verifies", func(t *Token) { t.PepperVersion = 9 }, false},
	}
	for _, tt := range revocable {
		t.Run(tt.rule, func(t *testing.T) {
			tok := stored(func(t *Token) {
				t.Hash = pep.Hash(a.Secret)
				if tt.token != nil {
					tt.token(t)
				}
			})
			require.Equal(t, tt.want, leakRevocable(tok, ruleKeys, a.Secret, now))
		})
	}
}

func TestAlertRules(t *testing.T) {
	until := now.Add(7 * 24 * time.Hour)
	tok := func(owner string, f func(*Token)) *Token {
		return stored(func(t *Token) {
			t.OwnerID, t.ExpiresAt = owner, now.Add(36*time.Hour)
			if f != nil {
				f(t)
			}
		})
	}
	found := []*Token{
		tok("alice", nil),
		tok("bob", func(t *Token) { t.ExpiresAt = now.Add(6 * 24 * time.Hour) }),
		tok("alice", func(t *Token) { t.Type = TypeTemporary }),
		tok("alice", func(t *Token) { t.Status = StatusDisabled }),
		tok("alice", func(t *Token) { t.Status = StatusRevoked }),
		tok("alice", func(t *Token) { t.ExpiresAt = now }),
		tok("alice", func(t *Token) { t.ExpiresAt = until.Add(time.Second) }),
		tok("alice", func(t *Token) { t.ExpiresAt = until }),
	}
	all := alertsOf(found, now, until)
	require.Equal(t, []Alert{{found[0], 2}, {found[1], 6}, {found[7], 7}}, all,
		"only active permanent tokens expiring by the window's end (the index is eventually consistent)")
	require.Equal(t, all, visibleAlerts(admin, all), "tokens:admin sees every principal's")
	require.Equal(t, []Alert{all[0], all[2]}, visibleAlerts(viewer, all), "a caller sees its own")
	require.Empty(t, visibleAlerts(caller("nobody", access.TokensRead), all))

	require.Equal(t, DefaultDetectionWindow, Policy{}.detectionWindow())
	require.Equal(t, time.Hour, Policy{DetectionWindow: time.Hour}.detectionWindow())
}

func TestOwnTokens(t *testing.T) {
	cat := ruleCatalog(t)
	t.Run("the root token holds every scope, high-risk ones included", func(t *testing.T) {
		require.Equal(t, []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead, access.EmergencyActivate,
			"orders:read", "orders:write", "payments:refund"}, rootScopes(cat))
	})
	firsts := []struct {
		rule string
		p    access.Principal
		want []string
		err  string
	}{
		{"a first token holds what the principal holds", access.Principal{Roles: []string{"reader"}, Scopes: []string{"orders:write"}}, []string{"orders:read", "orders:write"}, ""},
		{"but no high-risk scope: that needs an approval", access.Principal{Roles: []string{"finance"}}, []string{"orders:read"}, ""},
		{"a principal with only high-risk scopes gets none", access.Principal{Scopes: []string{"payments:refund"}}, nil, "invalid:enrollmentToken"},
		{"a principal without scopes gets none", access.Principal{}, nil, "invalid:enrollmentToken"},
	}
	for _, tt := range firsts {
		t.Run(tt.rule, func(t *testing.T) {
			got, err := firstScopes(cat, &tt.p)
			requireErr(t, tt.err, err)
			require.Equal(t, tt.want, got)
		})
	}
	t.Run("a token of one's own: active, permanent, owned and minted by the owner", func(t *testing.T) {
		g := generated(t, "")
		owner := &access.Principal{ID: "alice", Incarnation: "inc"}
		tok, ev := ownToken(owner, []string{"orders:read", "orders:read"}, audit.EventEnroll, "first token", "d", "enrollment", g, ruleKeys.Current(), "tg", DefaultPolicy(), now)
		require.Equal(t, StatusActive, tok.Status)
		require.Equal(t, TypePermanent, tok.Type)
		require.False(t, tok.Delegated())
		require.Equal(t, "inc", tok.OwnerIncarnation)
		require.Equal(t, []string{"orders:read"}, tok.Scopes)
		require.Equal(t, now.AddDate(1, 0, 0), tok.ExpiresAt)
		require.True(t, tok.Verify(ruleKeys, g.Secret, now))
		require.Equal(t, audit.EventEnroll, ev.Type)
		require.Equal(t, "alice", ev.ActorID)
		require.Empty(t, ev.ActorMintedBy)
		requireNoSecret(t, g, tok, ev)
	})
}
