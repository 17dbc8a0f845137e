package token

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
	"tokengate/shared/restriction"
)

// stored is a token as read: active, owned by alice, created and minted by her, version 3.
func stored(f func(*Token)) *Token {
	t := &Token{
		ID: "tok", OwnerID: "alice", CreatedBy: "alice", MintedBy: "alice", Name: "ci", Type: TypePermanent,
		Status: StatusActive, Scopes: []string{"orders:read"}, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.AddDate(0, 1, 0),
		Hash: []byte("hash"), PepperVersion: 1, Version: 3,
	}
	if f != nil {
		f(t)
	}
	return t
}

func TestMayRead(t *testing.T) {
	id := ID(generated(t, "").ID)
	tests := []struct {
		rule  string
		c     access.Caller
		id    ID
		write bool
		want  string
	}{
		{"reading needs tokens:read", caller("alice", "orders:read"), id, false, "forbidden:tokens:read"},
		{"tokens:write reads too", caller("alice", access.TokensWrite), id, false, ""},
		{"tokens:admin reads too", caller("alice", access.TokensAdmin), id, false, ""},
		{"changing needs tokens:write", viewer, id, true, "forbidden:tokens:write"},
		{"tokens:admin changes too", caller("alice", access.TokensAdmin), id, true, ""},
		{"an id that is no token id is not found, unread", writer, "../etc", false, "notfound"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			requireErr(t, tt.want, mayRead(tt.c, tt.id, tt.write))
		})
	}
	t.Run("another principal's token is invisible without tokens:admin", func(t *testing.T) {
		require.True(t, visible(writer, stored(nil)))
		require.False(t, visible(caller("bob", access.TokensWrite), stored(nil)))
		require.True(t, visible(caller("bob", access.TokensAdmin), stored(nil)))
	})
}

func TestListFilter(t *testing.T) {
	tests := []struct {
		rule      string
		c         access.Caller
		owner     string
		want      string
		wantOwner string
	}{
		{"listing needs tokens:read", caller("alice", "orders:read"), "", "forbidden:tokens:read", ""},
		{"a caller lists its own tokens", viewer, "", "", "alice"},
		{"asking for its own is the same", viewer, "alice", "", "alice"},
		{"another principal's need tokens:admin", viewer, "bob", "forbidden:tokens:admin", ""},
		{"an admin lists everyone's", admin, "", "", ""},
		{"an admin lists one owner's", admin, "bob", "", "bob"},
		{"the owner filter is a principal id", admin, "bob smith", "invalid:ownerId", ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			f, err := listFilter(tt.c, Filter{OwnerID: tt.owner, Limit: 5}, now)
			requireErr(t, tt.want, err)
			if err == nil {
				require.Equal(t, Filter{OwnerID: tt.wantOwner, Limit: 5, Now: now}, f)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCheckUpdate(t *testing.T) {
	tests := []struct {
		rule string
		in   UpdateInput
		want string
	}{
		{"an update changes something", UpdateInput{}, "invalid:"},
		{"a reason alone changes nothing", UpdateInput{Reason: "why"}, "invalid:"},
		{"a new name is not empty", UpdateInput{Name: ptr("")}, "invalid:name"},
		{"a new name is fine", UpdateInput{Name: ptr("deploy")}, ""},
		{"a new description is checked", UpdateInput{Description: ptr(string(make([]byte, 501)))}, "invalid:description"},
		{"security settings change only with a reason", UpdateInput{IPAllowlist: ptr([]string{"10.0.0.1"})}, "invalid:reason"},
		{"a blank reason is no reason", UpdateInput{RateLimit: ptr[*restriction.RateLimit](nil), Reason: "  "}, "invalid:reason"},
		{"a reason is printable", UpdateInput{RateLimit: ptr[*restriction.RateLimit](nil), Reason: "a\x00"}, "invalid:reason"},
		{"a new allowlist is parsed", UpdateInput{IPAllowlist: ptr([]string{"nowhere"}), Reason: "r"}, "invalid:ipAllowlist[0]"},
		{"a new rate limit is checked", UpdateInput{RateLimit: ptr(&restriction.RateLimit{Limit: -1, Per: "hour"}), Reason: "r"}, "invalid:rateLimit.limit"},
		{"a new window is checked", UpdateInput{TimeRestriction: ptr(&restriction.TimeWindow{Days: []string{"mon"}, StartHour: 25, EndHour: 26}), Reason: "r"}, "invalid:timeRestriction.startHour"},
		{"clearing every restriction with a reason is valid", UpdateInput{IPAllowlist: ptr([]string{}), RateLimit: ptr[*restriction.RateLimit](nil), TimeRestriction: ptr[*restriction.TimeWindow](nil), Reason: "r"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			allow, err := checkUpdate(tt.in)
			requireErr(t, tt.want, err)
			if err == nil && tt.in.IPAllowlist != nil && len(*tt.in.IPAllowlist) == 0 {
				require.Nil(t, allow, "an empty allowlist is none")
			}
		})
	}
}

func TestUpdateEdit(t *testing.T) {
	restricted := func(setBy string) func(*Token) {
		return func(t *Token) {
			t.Restrictions = restriction.Set{
				IPAllowlist: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, RateLimit: &restriction.RateLimit{Limit: 10, Per: "hour"},
				TimeRestriction:  &restriction.TimeWindow{Days: []string{"mon", "tue"}, StartHour: 8, EndHour: 18},
				IPAllowlistSetBy: setBy, RateLimitSetBy: setBy, TimeRestrictionSetBy: setBy,
			}
		}
	}
	narrowIP := UpdateInput{IPAllowlist: ptr([]string{"10.1.0.0/16"}), Reason: "r"}
	widenIP := UpdateInput{IPAllowlist: ptr([]string{"0.0.0.0/0"}), Reason: "r"}
	clearIP := UpdateInput{IPAllowlist: ptr([]string{}), Reason: "r"}
	lowerRate := UpdateInput{RateLimit: ptr(&restriction.RateLimit{Limit: 5, Per: "hour"}), Reason: "r"}
	clearRate := UpdateInput{RateLimit: ptr[*restriction.RateLimit](nil), Reason: "r"}
	shorterWindow := UpdateInput{TimeRestriction: ptr(&restriction.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 17}), Reason: "r"}
	widerWindow := UpdateInput{TimeRestriction: ptr(&restriction.TimeWindow{Days: []string{"mon", "tue", "wed"}, StartHour: 8, EndHour: 18}), Reason: "r"}
	owner := caller("alice", access.TokensWrite)
	tests := []struct {
		rule  string
		c     access.Caller
		token func(*Token)
		in    UpdateInput
		want  string
	}{
		{"the owner renames its token", owner, nil, UpdateInput{Name: ptr("new")}, ""},
		{"a revoked token no longer changes", owner, func(t *Token) { t.Status = StatusRevoked }, UpdateInput{Name: ptr("new")}, "state:revoked"},
		{"an expired token no longer changes", owner, func(t *Token) { t.ExpiresAt = now }, UpdateInput{Name: ptr("new")}, "state:expired"},
		{"a disabled token still changes", owner, func(t *Token) { t.Status = StatusDisabled }, UpdateInput{Name: ptr("new")}, ""},
		// Restrictions the owner set itself: it may do anything.
		{"the owner loosens its own allowlist", owner, restricted("alice"), widenIP, ""},
		{"an empty setter means the creator", owner, restricted(""), clearRate, ""},
		// Restrictions an admin set bind the owner: tightening only.
		{"the owner narrows an admin's allowlist", owner, restricted("admin"), narrowIP, ""},
		{"the owner cannot widen an admin's allowlist", owner, restricted("admin"), widenIP, "forbidden:ipAllowlist was set by admin"},
		{"the owner cannot clear an admin's allowlist", owner, restricted("admin"), clearIP, "forbidden:ipAllowlist"},
		{"the owner lowers an admin's rate limit", owner, restricted("admin"), lowerRate, ""},
		{"the owner cannot clear an admin's rate limit", owner, restricted("admin"), clearRate, "forbidden:rateLimit"},
		{"the owner shortens an admin's window", owner, restricted("admin"), shorterWindow, ""},
		{"the owner cannot widen an admin's window", owner, restricted("admin"), widerWindow, "forbidden:timeRestriction"},
		{"an empty setter of a token an admin created binds the owner", owner, func(t *Token) { restricted("")(t); t.CreatedBy = "admin" }, clearRate, "forbidden:rateLimit was set by admin"},
		{"tokens:admin loosens anything", caller("root", access.TokensAdmin), restricted("admin"), clearIP, ""},
		// A delegated token acts for nobody in person, not even its minter.
		{"a token boss minted for alice cannot loosen what boss set", delegated("alice", access.TokensWrite), restricted("boss"), clearRate, "forbidden:rateLimit was set by boss"},
		{"nor what alice set", delegated("alice", access.TokensWrite), restricted("alice"), clearRate, "forbidden:rateLimit"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			allow, err := checkUpdate(tt.in)
			require.NoError(t, err)
			tok := stored(tt.token)
			before := *tok
			changed, err := updateEdit(tt.c, tt.in, allow)(tok, now)
			requireErr(t, tt.want, err)
			require.Equal(t, err == nil, changed)
			if err != nil {
				require.Equal(t, before.Restrictions, tok.Restrictions, "a refused update changes no restriction")
			}
		})
	}
	t.Run("a new restriction records the minter as its setter", func(t *testing.T) {
		tok := stored(restricted("admin"))
		in := UpdateInput{IPAllowlist: ptr([]string{"10.1.0.0/16"}), RateLimit: ptr[*restriction.RateLimit](nil), Reason: "r"}
		allow, err := checkUpdate(in)
		require.NoError(t, err)
		_, err = updateEdit(caller("root", access.TokensAdmin), in, allow)(tok, now)
		require.NoError(t, err)
		require.Equal(t, "root", tok.Restrictions.IPAllowlistSetBy)
		require.Nil(t, tok.Restrictions.RateLimit)
		require.Empty(t, tok.Restrictions.RateLimitSetBy, "no limit, no setter")
		require.Equal(t, "admin", tok.Restrictions.TimeRestrictionSetBy, "untouched")
	})
}

func TestApplyEdit(t *testing.T) {
	rename := func(t *Token, now time.Time) (bool, error) { t.Name = "renamed"; return true, nil }
	nothing := func(t *Token, now time.Time) (bool, error) { return false, nil }
	refuse := func(t *Token, now time.Time) (bool, error) { return false, &fault.StateError{Reason: "no"} }
	o := op{typ: audit.EventUpdate, reason: "tidy", extra: []audit.Change{{Field: "note", To: "x"}}}

	t.Run("If-Match with another version is a conflict", func(t *testing.T) {
		got, ev, err := applyEdit(admin, stored(nil), 2, o, rename, now)
		require.ErrorIs(t, err, fault.ErrConflict)
		require.Nil(t, got)
		require.Nil(t, ev)
	})
	t.Run("a change advances the version and is recorded", func(t *testing.T) {
		got, ev, err := applyEdit(admin, stored(nil), 3, o, rename, now)
		require.NoError(t, err)
		require.Equal(t, int64(4), got.Version)
		require.Equal(t, now, got.UpdatedAt)
		require.Equal(t, audit.Event{ID: ev.ID, Time: now, Version: 4, Type: audit.EventUpdate, ActorID: "admin", ActorTokenID: "calling-token",
			TokenID: "tok", OwnerID: "alice", Reason: "tidy",
			Changes: []audit.Change{{Field: "name", From: "ci", To: "renamed"}, {Field: "note", To: "x"}}}, *ev)
	})
	t.Run("no change, no record", func(t *testing.T) {
		got, ev, err := applyEdit(admin, stored(nil), 0, o, nothing, now)
		require.NoError(t, err)
		require.Nil(t, ev)
		require.Equal(t, int64(3), got.Version)
	})
	t.Run("a refusal is returned with nothing to write", func(t *testing.T) {
		_, ev, err := applyEdit(admin, stored(nil), 0, o, refuse, now)
		requireErr(t, "state:no", err)
		require.Nil(t, ev)
	})
}

func TestPlanRotate(t *testing.T) {
	at := now.Add(48 * time.Hour)
	tests := []struct {
		rule string
		in   RotateInput
		want string
	}{
		{"no grace period", RotateInput{}, ""},
		{"a grace period of 24h", RotateInput{GracePeriod: 24 * time.Hour}, ""},
		{"a grace period over 24h", RotateInput{GracePeriod: 24*time.Hour + time.Second}, "invalid:gracePeriod"},
		{"a negative grace period", RotateInput{GracePeriod: -time.Second}, "invalid:gracePeriod"},
		{"a new expiry by preset", RotateInput{ExpiresIn: "1m"}, ""},
		{"a bad preset", RotateInput{ExpiresIn: "1d"}, "invalid:expiresIn"},
		{"a new expiry in the past", RotateInput{ExpiresAt: ptr(now.Add(-time.Hour))}, "invalid:expiresAt"},
		{"both at once", RotateInput{ExpiresIn: "1m", ExpiresAt: &at}, "invalid:expiresAt"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			_, err := planRotate(tt.in, DefaultPolicy(), now)
			requireErr(t, tt.want, err)
		})
	}
}

func TestRotateEdit(t *testing.T) {
	old := generated(t, "tok")
	fresh := generated(t, "tok")
	pep := ruleKeys.Current()
	withOld := func(f func(*Token)) *Token {
		return stored(func(t *Token) {
			t.Hash = pep.Hash(old.Secret)
			if f != nil {
				f(t)
			}
		})
	}
	rotate := func(t *testing.T, c access.Caller, tok *Token, in RotateInput) error {
		pl, err := planRotate(in, DefaultPolicy(), now)
		require.NoError(t, err)
		// The caller calls with the token it rotates (its own, "self"); an admin with no
		// token of its own in the picture rotates another's.
		var via *Token
		if c.OwnerID == tok.OwnerID {
			via = tok
		}
		changed, err := pl.edit(c, via, fresh, pep, "tg", ruleCatalog(t), DefaultPolicy())(tok, now)
		require.Equal(t, err == nil, changed)
		return err
	}

	t.Run("the new secret verifies, the old one no longer", func(t *testing.T) {
		tok := withOld(nil)
		expires := tok.ExpiresAt
		require.NoError(t, rotate(t, writer, tok, RotateInput{}))
		require.True(t, tok.Verify(ruleKeys, fresh.Secret, now))
		require.False(t, tok.Verify(ruleKeys, old.Secret, now))
		require.Equal(t, fresh.Plaintext.Hint("tg"), tok.Hint)
		require.Equal(t, expires, tok.ExpiresAt, "no new expiry asked: the old one stays")
	})
	t.Run("a grace period keeps the old secret until it ends", func(t *testing.T) {
		tok := withOld(nil)
		require.NoError(t, rotate(t, writer, tok, RotateInput{GracePeriod: time.Hour}))
		require.True(t, tok.Verify(ruleKeys, old.Secret, now.Add(time.Hour-time.Second)))
		ok, until := tok.VerifyUntil(ruleKeys, old.Secret, now)
		require.True(t, ok)
		require.Equal(t, now.Add(time.Hour), until)
		require.False(t, tok.Verify(ruleKeys, old.Secret, now.Add(time.Hour)))
	})
	t.Run("a second rotation ends the first one's grace period", func(t *testing.T) {
		tok := withOld(func(t *Token) {
			t.PrevHash, t.PrevPepperVersion, t.PrevValidUntil = []byte("older"), 1, now.Add(time.Hour)
		})
		require.NoError(t, rotate(t, writer, tok, RotateInput{}))
		require.False(t, tok.Verify(ruleKeys, old.Secret, now), "the secret rotated away works no longer")
		require.Equal(t, now, tok.PrevValidUntil, "no grace period: it ended now")
		require.Equal(t, []RetiredSecret{{Hash: []byte("older"), PepperVersion: 1}}, tok.Retired, "the one before is retired")
	})
	t.Run("rotated-away secrets are reuse, kept for MaxRetired rotations more", func(t *testing.T) {
		tok := withOld(nil)
		require.False(t, tok.Reused(ruleKeys, old.Secret, now), "never rotated: nothing is reuse")
		require.NoError(t, rotate(t, writer, tok, RotateInput{GracePeriod: time.Hour}))
		require.False(t, tok.Reused(ruleKeys, old.Secret, now), "within the grace period it is no reuse")
		require.True(t, tok.Reused(ruleKeys, old.Secret, now.Add(time.Hour)), "past it, it is")
		require.False(t, tok.Reused(ruleKeys, fresh.Secret, now), "the current secret is no reuse")
		for i := 0; i < MaxRetired; i++ {
			require.NoError(t, rotate(t, writer, tok, RotateInput{}))
			require.True(t, tok.Reused(ruleKeys, old.Secret, now.Add(time.Hour)), "rotation %d", i+2)
		}
		require.Len(t, tok.Retired, MaxRetired)
		require.NoError(t, rotate(t, writer, tok, RotateInput{}))
		require.False(t, tok.Reused(ruleKeys, old.Secret, now.Add(time.Hour)), "forgotten after MaxRetired+1 rotations")
		require.Len(t, tok.Retired, MaxRetired)
	})
	t.Run("whoever rotates mints: an admin rotating alice's token delegates it", func(t *testing.T) {
		tok := withOld(nil)
		require.NoError(t, rotate(t, admin, tok, RotateInput{}))
		require.Equal(t, "admin", tok.MintedBy)
		require.True(t, tok.Delegated())
	})
	t.Run("a new expiry is counted from now", func(t *testing.T) {
		tok := withOld(nil)
		require.NoError(t, rotate(t, admin, tok, RotateInput{ExpiresIn: "1w"}))
		require.Equal(t, now.AddDate(0, 0, 7), tok.ExpiresAt)
		requireErr(t, "forbidden:new expiry", rotate(t, writer, withOld(nil), RotateInput{ExpiresIn: "1w"}))
	})
	t.Run("a temporary token stays temporary after a rotation", func(t *testing.T) {
		tok := withOld(func(t *Token) { t.Type, t.ExpiresAt = TypeTemporary, now.Add(time.Hour) })
		requireErr(t, "invalid:expiresIn", rotate(t, writer, tok, RotateInput{ExpiresIn: "1w"}))
		require.True(t, tok.Verify(ruleKeys, old.Secret, now), "a refused rotation changes nothing")
		tok = withOld(func(t *Token) { t.Type, t.ExpiresAt = TypeTemporary, now.Add(time.Hour) })
		requireErr(t, "invalid:expiresAt", rotate(t, writer, tok, RotateInput{ExpiresAt: ptr(now.Add(13 * time.Hour))}))
		// At most MAX_TEMPORARY_TOKEN_LIFETIME from its creation (an hour ago), never
		// from the rotation: rotating again and again never extends it.
		requireErr(t, "invalid:expiresAt", rotate(t, writer, tok, RotateInput{ExpiresAt: ptr(now.Add(12 * time.Hour))}))
		require.NoError(t, rotate(t, writer, tok, RotateInput{ExpiresAt: ptr(now.Add(11 * time.Hour))}))
	})
	t.Run("the audit record says the secret was replaced, never what it is", func(t *testing.T) {
		pl, err := planRotate(RotateInput{GracePeriod: 90 * time.Minute}, DefaultPolicy(), now)
		require.NoError(t, err)
		tok := withOld(nil)
		_, ev, err := applyEdit(writer, tok, 0, op{typ: audit.EventRotate, extra: pl.extra()}, pl.edit(writer, tok, fresh, pep, "tg", ruleCatalog(t), DefaultPolicy()), now)
		require.NoError(t, err)
		require.Contains(t, ev.Changes, audit.Change{Field: "gracePeriod", To: "1h30m0s"})
		requireNoSecret(t, fresh, tok, *ev)
		requireNoSecret(t, old, tok, *ev)
	})
}

// TestTransitions is every status change on every status: what happens when disable,
// enable, revoke, approve, reject, rotate, emergency on/off and update meet a token.
func TestTransitions(t *testing.T) {
	statuses := map[string]func(*Token){
		"active":           nil,
		"pending":          func(t *Token) { t.Status = StatusPending },
		"disabled":         func(t *Token) { t.Status, t.DisabledBy = StatusDisabled, "alice" },
		"revoked":          func(t *Token) { t.Status, t.EndedAt = StatusRevoked, now.Add(-time.Minute) },
		"rejected":         func(t *Token) { t.Status, t.EndedAt = StatusRejected, now.Add(-time.Minute) },
		"expired":          func(t *Token) { t.ExpiresAt = now },
		"disabled+expired": func(t *Token) { t.Status, t.ExpiresAt = StatusDisabled, now.Add(-time.Second) },
		"emergency":        func(t *Token) { t.EmergencyUntil = now.Add(time.Hour) },
	}
	g := generated(t, "tok")
	rot, err := planRotate(RotateInput{}, DefaultPolicy(), now)
	require.NoError(t, err)
	rename := UpdateInput{Name: ptr("x")}
	edits := map[string]edit{
		"disable":       disableEdit(writer),
		"enable":        enableEdit(writer),
		"revoke":        revokeEdit,
		"approve":       decisionEdit(audit.EventApprove),
		"reject":        decisionEdit(audit.EventReject),
		"rotate":        rot.edit(writer, &Token{ID: "tok"}, g, ruleKeys.Current(), "tg", ruleCatalog(t), DefaultPolicy()),
		"emergency.on":  emergencyOnEdit(2 * time.Hour),
		"emergency.off": emergencyOffEdit,
		"update":        updateEdit(writer, rename, nil),
	}
	// want: the status after, "=" for no change, or the refusal.
	tests := []struct{ op, from, want string }{
		{"disable", "active", "disabled"},
		{"disable", "disabled", "="},
		{"disable", "pending", "state:pending and cannot be disabled"},
		{"disable", "revoked", "state:revoked"},
		{"disable", "rejected", "state:rejected"},
		{"disable", "expired", "state:expired"},
		{"disable", "disabled+expired", "state:expired"},
		{"enable", "disabled", "active"},
		{"enable", "active", "="},
		{"enable", "pending", "state:pending and cannot be enabled"},
		{"enable", "revoked", "state:revoked"},
		{"enable", "expired", "state:expired"},
		{"enable", "disabled+expired", "state:expired"},
		{"revoke", "active", "revoked"},
		{"revoke", "pending", "revoked"},
		{"revoke", "disabled", "revoked"},
		{"revoke", "expired", "revoked"},
		{"revoke", "rejected", "revoked"},
		{"revoke", "revoked", "="},
		{"approve", "pending", "active"},
		{"approve", "active", "state:active, not pending"},
		{"approve", "rejected", "state:rejected, not pending"},
		{"reject", "pending", "rejected"},
		{"reject", "disabled", "state:disabled, not pending"},
		{"rotate", "active", "active"},
		{"rotate", "disabled", "disabled"},
		{"rotate", "pending", "pending"},
		{"rotate", "revoked", "state:revoked and cannot be rotated"},
		{"rotate", "rejected", "state:rejected"},
		{"rotate", "expired", "state:expired"},
		{"emergency.on", "active", "active"},
		{"emergency.on", "disabled", "state:disabled; emergency access applies to active tokens"},
		{"emergency.on", "pending", "state:pending"},
		{"emergency.on", "expired", "state:expired"},
		{"emergency.off", "emergency", "active"},
		{"emergency.off", "active", "="},
		{"update", "active", "active"},
		{"update", "pending", "pending"},
		{"update", "revoked", "state:revoked and can no longer be changed"},
		{"update", "expired", "state:expired"},
	}
	for _, tt := range tests {
		t.Run(tt.op+" on "+tt.from, func(t *testing.T) {
			tok := stored(statuses[tt.from])
			before := *tok
			changed, err := edits[tt.op](tok, now)
			switch {
			case tt.want == "=":
				require.NoError(t, err)
				require.False(t, changed)
				require.Equal(t, before, *tok)
			case len(tt.want) > 6 && tt.want[:6] == "state:":
				requireErr(t, tt.want, err)
				require.False(t, changed)
				require.Equal(t, before.Status, tok.Status)
			default:
				require.NoError(t, err)
				require.True(t, changed)
				require.Equal(t, Status(tt.want), tok.Status)
			}
		})
	}

	t.Run("revoking ends a grace period and records when", func(t *testing.T) {
		tok := stored(func(t *Token) { t.PrevHash, t.PrevValidUntil = []byte("old"), now.Add(time.Hour) })
		_, err := revokeEdit(tok, now)
		require.NoError(t, err)
		require.Equal(t, now, tok.EndedAt)
		require.Nil(t, tok.PrevHash)
		require.True(t, tok.Ended(now))
	})
	t.Run("rejecting records when", func(t *testing.T) {
		tok := stored(statuses["pending"])
		_, err := decisionEdit(audit.EventReject)(tok, now)
		require.NoError(t, err)
		require.Equal(t, now, tok.EndedAt)
	})
	t.Run("emergency access lasts as asked and ends by itself", func(t *testing.T) {
		tok := stored(nil)
		_, err := emergencyOnEdit(2*time.Hour)(tok, now)
		require.NoError(t, err)
		require.True(t, tok.EmergencyActive(now.Add(2*time.Hour-time.Second)))
		require.False(t, tok.EmergencyActive(now.Add(2*time.Hour)))
		_, err = emergencyOffEdit(tok, now)
		require.NoError(t, err)
		require.False(t, tok.EmergencyActive(now))
	})
}

// Who may enable a disabled token: whoever disabled it in person, or tokens:admin.
func TestEnableAfterDisable(t *testing.T) {
	tests := []struct {
		rule       string
		disabledBy string
		c          access.Caller
		want       string
	}{
		{"the owner enables what it disabled", "alice", caller("alice", access.TokensWrite), ""},
		{"an empty disabler means the creator", "", caller("alice", access.TokensWrite), ""},
		{"the owner cannot enable what an admin disabled", "admin", caller("alice", access.TokensWrite), "forbidden:disabled by another principal"},
		{"a delegated token cannot enable what its minter disabled", "boss", delegated("alice", access.TokensWrite), "forbidden:tokens:admin"},
		{"tokens:admin enables anything", "admin", caller("root", access.TokensAdmin), ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			tok := stored(func(t *Token) { t.Status, t.DisabledBy = StatusDisabled, tt.disabledBy })
			_, err := enableEdit(tt.c)(tok, now)
			requireErr(t, tt.want, err)
			if err == nil {
				require.Equal(t, StatusActive, tok.Status)
				require.Empty(t, tok.DisabledBy)
			}
		})
	}
	t.Run("disabling records the minter", func(t *testing.T) {
		tok := stored(nil)
		_, err := disableEdit(delegated("alice", access.TokensWrite))(tok, now)
		require.NoError(t, err)
		require.Equal(t, "boss", tok.DisabledBy)
	})
}
