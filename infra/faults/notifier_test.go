package faults_test

import (
	"context"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/faults"
	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/boot"
	"tokengate/shared/expirynotice"
)

// notifierFixture is the notifier as its function builds it (boot.Notifier), its
// DynamoDB and SES behind the fault proxies, on a clock the test moves, with two owners
// whose tokens expire in two days.
type notifierFixture struct {
	*fixture
	n            *expirynotice.Notifier
	clock        *localtest.Clock
	ann, ben     string // the owners' addresses
	annID, benID string
}

func newNotifierFixture(t *testing.T) *notifierFixture {
	f := &notifierFixture{fixture: newFixture(t)}
	n, err := boot.Notifier(context.Background(), func(k string) string {
		if k == "NOTIFICATION_SENDER" {
			return "tokengate@example.com"
		}
		return f.env(k)
	})
	require.NoError(t, err)
	// A month ahead: DynamoDB Local's TTL must not remove the test's tokens.
	f.clock = localtest.NewClock(time.Now().UTC().AddDate(0, 1, 0).Truncate(time.Hour))
	n.Now, n.Log = f.clock.Now, slog.New(slog.DiscardHandler)
	f.n = n
	f.ann, f.ben = localtest.Address("ann"), localtest.Address("ben")
	for _, p := range []struct{ id, addr *string }{{&f.annID, &f.ann}, {&f.benID, &f.ben}} {
		*p.id = localtest.Name("owner")
		require.NoError(t, f.tb.PutPrincipal(context.Background(), &access.Principal{ID: *p.id, Name: "owner", Email: *p.addr, Kind: "user", Version: 1}, 0))
		localtest.PutToken(t, f.tb, localtest.NewToken(t, *p.id, "deploy", f.clock.Now().Add(48*time.Hour)))
	}
	return f
}

func (f *notifierFixture) run() expirynotice.Summary {
	f.t.Helper()
	var sum expirynotice.Summary
	f.timed(func() {
		var err error
		sum, err = f.n.Run(context.Background())
		require.NoError(f.t, err)
	})
	return sum
}

// mails is how many notices each owner has received.
func (f *notifierFixture) mails() (ann, ben int) {
	return len(localtest.Mails(f.t, f.ann)), len(localtest.Mails(f.t, f.ben))
}

// TestNotifierSESFailureRetriedLater: SES throttles one recipient (or refuses its
// message) on every attempt; the other is mailed, the failed one gets its notice on the
// next run, and nobody gets two.
func TestNotifierSESFailureRetriedLater(t *testing.T) {
	for _, fault := range []struct {
		name string
		err  faults.AWSError
	}{{"throttling", faults.SESThrottling}, {"rejected", faults.SESMessageRejected}, {"unavailable", faults.SESServiceUnavailble}} {
		t.Run(fault.name, func(t *testing.T) {
			f := newNotifierFixture(t)
			f.deps.SES.FailFor("SendEmail", url.QueryEscape(f.ann), fault.err, -1)
			sum := f.run()
			require.Equal(t, 2, sum.Notified)
			require.Equal(t, 1, sum.EmailsSent)
			require.Equal(t, 1, sum.Failures)
			ann, ben := f.mails()
			require.Equal(t, [2]int{0, 1}, [2]int{ann, ben}, "one bad address never stops the rest")

			f.deps.Clear(t)
			f.clock.Add(time.Hour)
			sum = f.run()
			require.Equal(t, 1, sum.EmailsSent, "the failed notice is retried on the next run")
			ann, ben = f.mails()
			require.Equal(t, [2]int{1, 1}, [2]int{ann, ben}, "no notice lost, none twice")
		})
	}
}

// TestNotifierAnswerLost: SES takes a message but the answer never comes back (a reset
// after the send). The message is not sent again, by the SDK or by the next run: the
// claim is kept; after the backoff the token is announced again, as any token is.
func TestNotifierAnswerLost(t *testing.T) {
	f := newNotifierFixture(t)
	f.deps.SES.LoseAnswers("SendEmail", -1)
	sum := f.run()
	require.Equal(t, 2, sum.Unconfirmed)
	ann, ben := f.mails()
	require.Equal(t, [2]int{1, 1}, [2]int{ann, ben}, "sent once: SendEmail is not retried once it may have gone through")
	require.Equal(t, 2, f.deps.SES.Seen("SendEmail"))

	f.deps.Clear(t)
	f.clock.Add(time.Hour)
	require.Zero(t, f.run().EmailsSent)
	ann, ben = f.mails()
	require.Equal(t, [2]int{1, 1}, [2]int{ann, ben}, "no second copy within the backoff")
}

// TestNotifierDynamoDBFaults: with the table down or throttling, a run fails (nothing is
// mailed, nothing claimed); with claims failing, nothing is mailed for them; the next
// run, with the table back, sends each notice once.
func TestNotifierDynamoDBFaults(t *testing.T) {
	f := newNotifierFixture(t)
	f.deps.DynamoDB.Down(t)
	_, err := f.n.Run(context.Background())
	require.Error(t, err, "the index cannot be read: the run fails")
	f.deps.Clear(t)

	f.deps.DynamoDB.Fail("UpdateItem", faults.DynamoDBThrottling, -1) // every claim
	sum := f.run()
	require.Equal(t, 2, sum.Failures)
	require.Zero(t, sum.EmailsSent, "a notice is mailed only once claimed")
	f.deps.Clear(t)

	f.clock.Add(time.Hour)
	sum = f.run()
	require.Equal(t, 2, sum.EmailsSent)
	ann, ben := f.mails()
	require.Equal(t, [2]int{1, 1}, [2]int{ann, ben}, "each notice once, after the table came back")
}

// TestNotifierDiesBeforeRelease: the mail to one owner fails and the table is gone when
// the run would hand that claim back (as when the run dies there). The notice is late,
// not lost and never doubled: the next runs skip it while the claim holds, the first run
// after the backoff sends it.
func TestNotifierDiesBeforeRelease(t *testing.T) {
	f := newNotifierFixture(t)
	f.deps.SES.FailFor("SendEmail", url.QueryEscape(f.ann), faults.SESMessageRejected, -1)
	f.deps.DynamoDB.FailAfter("UpdateItem", 2, faults.DynamoDBInternal, -1) // the two claims pass, the release fails
	sum := f.run()
	require.Equal(t, 1, sum.EmailsSent)
	require.Equal(t, 2, sum.Failures, "the mail and the release")
	f.deps.Clear(t)

	f.clock.Add(time.Hour)
	require.Zero(t, f.run().EmailsSent, "the claim holds: nobody is mailed twice within the backoff")
	f.clock.Add(24 * time.Hour)
	require.Equal(t, 2, f.run().EmailsSent)
	ann, ben := f.mails()
	require.Equal(t, [2]int{1, 2}, [2]int{ann, ben}, "ann's notice came late, not never; ben's is the one of the next backoff")
}
