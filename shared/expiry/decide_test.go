package expiry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// The notifier's decisions as tables, without a table or a mailer: what the index
// returned, which notices are due, who gets which, what a message's answer means, and
// which claims go back. docs/notifier.md says the same in prose.

var now = time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)

// alert is an active permanent token of owner, expiring in left, last notified at last
// (zero: never).
func alert(id, owner string, left time.Duration, last time.Time) token.Alert {
	return token.Alert{Token: &token.Token{ID: token.ID(id), Name: "token " + id, OwnerID: owner, Type: token.TypePermanent, Status: token.StatusActive,
		ExpiresAt: now.Add(left), LastNotifiedAt: last}, DaysLeft: token.DaysLeft(now.Add(left), now)}
}

func claimed(alerts ...token.Alert) []*notice {
	out := make([]*notice, len(alerts))
	for i, a := range alerts {
		out[i] = &notice{alert: a}
	}
	return out
}

func TestFoundCountsUnreadableItemsAndFailsOnlyOnTheIndex(t *testing.T) {
	two := []token.Alert{alert("a", "ann", time.Hour, time.Time{}), alert("b", "ann", 2*time.Hour, time.Time{})}
	down := errors.New("table unavailable")
	tests := []struct {
		rule   string
		alerts []token.Alert
		err    error
		want   Summary
		fails  bool
	}{
		{"what the index returned is read", two, nil, Summary{TokensRead: 2}, false},
		{"nothing expiring is nothing read", nil, nil, Summary{}, false},
		{"items that do not decode are counted, and the run goes on", two, &token.SkippedError{IDs: []token.ID{"x", "y", "z"}}, Summary{TokensRead: 2, Unreadable: 3}, false},
		{"an index that cannot be read fails the run", nil, down, Summary{Failures: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			var sum Summary
			err := found(&sum, tt.alerts, tt.err)
			require.Equal(t, tt.want, sum)
			if tt.fails {
				require.ErrorIs(t, err, down)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestDueOncePerBackoff(t *testing.T) {
	backoff := 24 * time.Hour
	since := now.Add(-backoff)
	tests := []struct {
		rule string
		last time.Time
		due  bool
	}{
		{"never notified: due", time.Time{}, true},
		{"notified before the backoff: due again", since.Add(-time.Second), true},
		{"notified exactly one backoff ago: due again, as the claim allows", since, true},
		{"notified within the backoff: skipped without a write", since.Add(time.Second), false},
		{"notified this run's second: skipped", now, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			var sum Summary
			a := alert("a", "ann", time.Hour, tt.last)
			got := due(&sum, []token.Alert{a}, since)
			if tt.due {
				require.Equal(t, []token.Alert{a}, got)
				require.Zero(t, sum.Skipped)
				return
			}
			require.Empty(t, got)
			require.Equal(t, 1, sum.Skipped)
		})
	}
	t.Run("due notices keep the index's order, soonest first", func(t *testing.T) {
		var sum Summary
		alerts := []token.Alert{alert("a", "ann", time.Hour, time.Time{}), alert("b", "ann", 2*time.Hour, now), alert("c", "bob", 3*time.Hour, time.Time{})}
		require.Equal(t, []token.Alert{alerts[0], alerts[2]}, due(&sum, alerts, since))
		require.Equal(t, 1, sum.Skipped)
	})
}

func TestWarningLineIsSpecs(t *testing.T) {
	tests := []struct {
		rule string
		left time.Duration
		want string
	}{
		{"36h left is less than 2 days", 36 * time.Hour, "Warn: API Token [token a] (ID [a]) will expire in less than 2 days."},
		{"exactly a day is less than 1", 24 * time.Hour, "Warn: API Token [token a] (ID [a]) will expire in less than 1 days."},
		{"a day and a second is less than 2", 24*time.Hour + time.Second, "Warn: API Token [token a] (ID [a]) will expire in less than 2 days."},
		{"the last second of the window is less than 7", 168 * time.Hour, "Warn: API Token [token a] (ID [a]) will expire in less than 7 days."},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			require.Equal(t, tt.want, Warning(alert("a", "ann", tt.left, time.Time{})))
		})
	}
}

func TestOwnersAreLookedUpOnceEach(t *testing.T) {
	notices := claimed(alert("a", "ann", time.Hour, time.Time{}), alert("b", "bob", time.Hour, time.Time{}), alert("c", "ann", time.Hour, time.Time{}))
	require.Equal(t, []string{"ann", "bob"}, ownersOf(notices), "in the order they first come up")
	require.Empty(t, ownersOf(nil))
}

func TestAddressOfAnOwner(t *testing.T) {
	tests := []struct {
		rule string
		p    *access.Principal
		err  error
		want address
	}{
		{"an owner with an address is mailed", &access.Principal{ID: "ann", Email: "ann@example.com"}, nil, address{email: "ann@example.com"}},
		{"a malformed address is passed on, for the mailer to refuse", &access.Principal{ID: "ann", Email: "not an address"}, nil, address{email: "not an address"}},
		{"an owner without an address is not mailed", &access.Principal{ID: "ann"}, nil, address{why: "expiry notice: owner has no email address, not emailed"}},
		{"an owner that is no principal is not mailed", nil, fault.ErrNotFound, address{why: "expiry notice: owner is not a known principal, not emailed"}},
		{"a failed look-up is a failure", nil, errors.New("throttled"), address{failed: true, why: "expiry notice: owner look-up failed, not emailed"}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			require.Equal(t, tt.want, addressOf(tt.p, tt.err))
		})
	}
}

// sent is who gets which tokens: address -> token ids, and the addresses in order.
func sentTo(ms []*mailing) (map[string][]string, []string) {
	by := map[string][]string{}
	var order []string
	for _, m := range ms {
		order = append(order, m.to)
		for _, nt := range m.notices {
			by[m.to] = append(by[m.to], string(nt.alert.Token.ID))
		}
	}
	return by, order
}

func TestRecipients(t *testing.T) {
	annMail := address{email: "ann@example.com"}
	none := address{why: "no address"}
	tests := []struct {
		rule       string
		alerts     []token.Alert
		owners     map[string]address
		recipients []string
		want       map[string][]string
		order      []string
		addressed  []bool
	}{
		{"an owner with an address gets its own tokens", []token.Alert{alert("a", "ann", time.Hour, time.Time{}), alert("b", "bob", time.Hour, time.Time{}), alert("c", "ann", time.Hour, time.Time{})},
			map[string]address{"ann": annMail, "bob": none}, nil,
			map[string][]string{"ann@example.com": {"a", "c"}}, []string{"ann@example.com"}, []bool{true, false, true}},
		{"every configured address gets every token", []token.Alert{alert("a", "ann", time.Hour, time.Time{}), alert("b", "bob", time.Hour, time.Time{})},
			map[string]address{"ann": annMail, "bob": none}, []string{"ops@example.com", "sec@example.com"},
			map[string][]string{"ops@example.com": {"a", "b"}, "sec@example.com": {"a", "b"}, "ann@example.com": {"a"}},
			[]string{"ops@example.com", "sec@example.com", "ann@example.com"}, []bool{true, true}},
		{"an owner on the list gets one message, whatever the case", []token.Alert{alert("a", "ann", time.Hour, time.Time{})},
			map[string]address{"ann": annMail}, []string{"ANN@example.com"},
			map[string][]string{"ANN@example.com": {"a"}}, []string{"ANN@example.com"}, []bool{true}},
		{"an address listed twice gets one message", []token.Alert{alert("a", "bob", time.Hour, time.Time{})},
			map[string]address{"bob": none}, []string{"ops@example.com", "Ops@example.com"},
			map[string][]string{"ops@example.com": {"a"}}, []string{"ops@example.com"}, []bool{true}},
		{"a token meant for nobody is in no message", []token.Alert{alert("a", "bob", time.Hour, time.Time{})},
			map[string]address{"bob": none}, nil, map[string][]string{}, nil, []bool{false}},
		{"a token whose owner could not be looked up still reaches the list", []token.Alert{alert("a", "bob", time.Hour, time.Time{})},
			map[string]address{"bob": {failed: true}}, []string{"ops@example.com"},
			map[string][]string{"ops@example.com": {"a"}}, []string{"ops@example.com"}, []bool{true}},
		{"a token whose owner could not be looked up is meant for its owner, so its claim goes back", []token.Alert{alert("a", "bob", time.Hour, time.Time{})},
			map[string]address{"bob": {failed: true}}, nil, map[string][]string{}, nil, []bool{true}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			notices := claimed(tt.alerts...)
			ms := mailingsOf(notices, tt.owners, tt.recipients)
			got, order := sentTo(ms)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.order, order, "in the order the addresses first come up")
			for i, nt := range notices {
				require.Equal(t, tt.addressed[i], nt.addressed, "notice %d", i)
			}
		})
	}
	t.Run("the list is not changed by an owner's address", func(t *testing.T) {
		list := make([]string, 1, 4)
		list[0] = "ops@example.com"
		mailingsOf(claimed(alert("a", "ann", time.Hour, time.Time{}), alert("b", "bob", time.Hour, time.Time{})),
			map[string]address{"ann": annMail, "bob": {email: "bob@example.com"}}, list)
		require.Equal(t, []string{"ops@example.com"}, list[:cap(list)][:1])
		require.Empty(t, list[:cap(list)][1], "no owner's address is written into the list's spare capacity")
	})
}

func TestDeliveredKeepsWhatMayHaveGoneOut(t *testing.T) {
	tests := []struct {
		rule      string
		err       error
		want      outcome
		sum       Summary
		delivered bool
	}{
		{"an accepted message delivers its notices", nil, sent, Summary{EmailsSent: 1}, true},
		{"a message whose answer was lost counts as delivered, unconfirmed", fmt.Errorf("send: %w", ErrMaybeSent), unconfirmed, Summary{Unconfirmed: 1}, true},
		{"a refused message delivers nothing", errors.New("MessageRejected"), failed, Summary{Failures: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			var sum Summary
			m := &mailing{to: "ann@example.com", notices: claimed(alert("a", "ann", time.Hour, time.Time{}), alert("b", "ann", time.Hour, time.Time{}))}
			require.Equal(t, tt.want, delivered(&sum, m, tt.err))
			require.Equal(t, tt.sum, sum)
			for _, nt := range m.notices {
				require.Equal(t, tt.delivered, nt.delivered)
			}
		})
	}
}

func TestUnsentClaimsAreHandedBack(t *testing.T) {
	tests := []struct {
		rule                 string
		addressed, delivered bool
		released             bool
	}{
		{"a notice no message carried is handed back, for the next run", true, false, true},
		{"a notice a message carried is kept: sent once", true, true, false},
		{"a notice meant for nobody is kept: the warning line was its notice", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			nt := &notice{alert: alert("a", "ann", time.Hour, time.Time{}), addressed: tt.addressed, delivered: tt.delivered}
			require.Equal(t, tt.released, slices.Contains(unsent([]*notice{nt}), nt))
		})
	}
}

// TestEachNoticeReachesEachRecipientOnce: whatever the owners, their addresses and the
// list, every recipient a notice has gets it in exactly one message, and nobody else
// gets it.
func TestEachNoticeReachesEachRecipientOnce(t *testing.T) {
	owners := []string{"ann", "bob", "cat"}
	emails := []string{"", "ann@example.com", "ANN@example.com", "bob@example.com", "ops@example.com"}
	rapid.Check(t, func(t *rapid.T) {
		book := map[string]address{}
		for _, o := range owners {
			switch rapid.IntRange(0, 2).Draw(t, "lookup "+o) {
			case 0:
				book[o] = address{email: rapid.SampledFrom(emails).Draw(t, "email "+o)}
			case 1:
				book[o] = address{failed: true}
			}
		}
		list := rapid.SliceOf(rapid.SampledFrom(emails[1:])).Draw(t, "list")
		var alerts []token.Alert
		for i, o := range rapid.SliceOf(rapid.SampledFrom(owners)).Draw(t, "tokens") {
			alerts = append(alerts, alert(fmt.Sprint(i), o, time.Hour, time.Time{}))
		}
		notices := claimed(alerts...)
		ms := mailingsOf(notices, book, list)

		seen := map[string]bool{}
		for _, m := range ms {
			key := strings.ToLower(m.to)
			if seen[key] {
				t.Fatalf("two messages to %s", m.to)
			}
			seen[key] = true
		}
		for _, nt := range notices {
			want := map[string]bool{}
			for _, to := range list {
				want[strings.ToLower(to)] = true
			}
			if e := book[nt.alert.Token.OwnerID].email; e != "" {
				want[strings.ToLower(e)] = true
			}
			got := map[string]int{}
			for _, m := range ms {
				got[strings.ToLower(m.to)] += countOf(m.notices, nt)
			}
			for to := range want {
				if got[to] != 1 {
					t.Fatalf("token %s reached %s %d times", nt.alert.Token.ID, to, got[to])
				}
			}
			for to, n := range got {
				if n > 0 && !want[to] {
					t.Fatalf("token %s reached %s, which is neither its owner nor on the list", nt.alert.Token.ID, to)
				}
			}
		}
	})
}

// TestAClaimGoesBackExactlyWhenNoMessageCarriedIt: whatever becomes of each message, a
// notice that some message carried (or may have) keeps its claim, and one meant for a
// recipient that no message carried is handed back.
func TestAClaimGoesBackExactlyWhenNoMessageCarriedIt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		owners := map[string]address{"ann": {email: "ann@example.com"}, "bob": {}, "cat": {failed: true}}
		var list []string
		if rapid.Bool().Draw(t, "list") {
			list = []string{"ops@example.com"}
		}
		var alerts []token.Alert
		for i, o := range rapid.SliceOf(rapid.SampledFrom([]string{"ann", "bob", "cat"})).Draw(t, "tokens") {
			alerts = append(alerts, alert(fmt.Sprint(i), o, time.Hour, time.Time{}))
		}
		notices := claimed(alerts...)
		ms := mailingsOf(notices, owners, list)
		answers := []error{nil, ErrMaybeSent, errors.New("refused")}
		wentOut := map[*notice]bool{}
		var sum Summary
		for _, m := range ms {
			err := rapid.SampledFrom(answers).Draw(t, "answer to "+m.to)
			delivered(&sum, m, err)
			for _, nt := range m.notices {
				wentOut[nt] = wentOut[nt] || !errors.Is(err, answers[2])
			}
		}
		released := unsent(notices)
		for _, nt := range notices {
			meant := len(list) > 0 || owners[nt.alert.Token.OwnerID].email != "" || owners[nt.alert.Token.OwnerID].failed
			if want := meant && !wentOut[nt]; slices.Contains(released, nt) != want {
				t.Fatalf("token %s of %s: released %v, want %v", nt.alert.Token.ID, nt.alert.Token.OwnerID, !want, want)
			}
		}
		if sum.EmailsSent+sum.Unconfirmed+sum.Failures != len(ms) {
			t.Fatalf("%d messages, %+v counted", len(ms), sum)
		}
	})
}

func countOf(ns []*notice, nt *notice) int {
	n := 0
	for _, x := range ns {
		if x == nt {
			n++
		}
	}
	return n
}
