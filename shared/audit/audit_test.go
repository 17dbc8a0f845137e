package audit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/audit"
)

// TestFilterMatch: the conditions of the activity log that no index serves.
func TestFilterMatch(t *testing.T) {
	ev := &audit.Event{Type: audit.EventUpdate, ActorID: "alice", ActorMintedBy: "boss", TokenID: "tok"}
	cases := []struct {
		rule string
		f    audit.Filter
		want bool
	}{
		{"no condition", audit.Filter{}, true},
		{"the type", audit.Filter{Type: audit.EventUpdate}, true},
		{"another type", audit.Filter{Type: audit.EventRevoke}, false},
		{"the actor", audit.Filter{ActorID: "alice"}, true},
		{"the minter of the actor's delegated token", audit.Filter{ActorID: "boss"}, true},
		{"another actor", audit.Filter{ActorID: "bob"}, false},
		{"the token", audit.Filter{TokenID: "tok"}, true},
		{"another token", audit.Filter{TokenID: "other"}, false},
		{"every condition holds", audit.Filter{Type: audit.EventUpdate, ActorID: "boss", TokenID: "tok"}, true},
		{"one fails", audit.Filter{Type: audit.EventUpdate, ActorID: "boss", TokenID: "other"}, false},
	}
	for _, tt := range cases {
		t.Run(tt.rule, func(t *testing.T) {
			require.Equal(t, tt.want, tt.f.Match(ev))
		})
	}
}

// TestPrincipalEventNamesTheMinter: a record of an action on a principal names the
// actor and, for a delegated token, who minted it.
func TestPrincipalEventNamesTheMinter(t *testing.T) {
	now := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	p := audit.PrincipalEvent(audit.EventEnrollSend, access.Caller{OwnerID: "admin", MinterID: "boss", TokenID: "calling-token"}, "bob", now, "welcome")
	require.Equal(t, audit.Event{ID: p.ID, Time: now, Type: audit.EventEnrollSend, ActorID: "admin", ActorTokenID: "calling-token", ActorMintedBy: "boss", OwnerID: "bob", Reason: "welcome"}, p)
	require.Empty(t, audit.PrincipalEvent(audit.EventEnrollSend, access.Caller{OwnerID: "admin"}, "bob", now, "").ActorMintedBy)
}
