package expiry

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// A run's own work, around the decisions: what it reads, claims, mails and hands back,
// and what it logs. The stores and the mailer here answer as each test scripts them and
// record what they were asked; they keep nothing (the claim's condition is
// shared/store's, tested against DynamoDB Local in expiry_test.go, as is SES).

type scriptedTokens struct {
	expiring   []*token.Token
	indexErr   error
	claims     map[token.ID]claimAnswer // absent: won, never notified before
	releaseErr error
	claimed    []token.ID
	released   []released
}

type claimAnswer struct {
	prev time.Time
	lost bool
	err  error
}

type released struct {
	id       token.ID
	at, prev time.Time
	ctxErr   error
}

var _ Tokens = (*scriptedTokens)(nil)

func (s *scriptedTokens) Expiring(_ context.Context, _, _ time.Time) ([]*token.Token, error) {
	return s.expiring, s.indexErr
}

func (s *scriptedTokens) ClaimNotice(_ context.Context, t *token.Token, _, _ time.Time) (time.Time, bool, error) {
	s.claimed = append(s.claimed, t.ID)
	a := s.claims[t.ID]
	return a.prev, !a.lost && a.err == nil, a.err
}

func (s *scriptedTokens) ReleaseNotice(ctx context.Context, id token.ID, at, prev time.Time) error {
	s.released = append(s.released, released{id: id, at: at, prev: prev, ctxErr: ctx.Err()})
	return s.releaseErr
}

// owners answers look-ups from its principals (absent: fault.ErrNotFound), failing those
// of the ids in failing.
type owners struct {
	principals map[string]*access.Principal
	failing    map[string]error
	asked      []string
}

func (o *owners) GetPrincipal(_ context.Context, id string) (*access.Principal, error) {
	o.asked = append(o.asked, id)
	if err := o.failing[id]; err != nil {
		return nil, err
	}
	if p, ok := o.principals[id]; ok {
		return p, nil
	}
	return nil, fault.ErrNotFound
}

// mailbox answers each address with its error in fail (nil: accepted), or with the
// context's error once the run's context is done, and records what it was asked to send.
type mailbox struct {
	fail map[string]error
	sent map[string][]token.ID
	to   []string
}

func (m *mailbox) Send(ctx context.Context, to string, alerts []token.Alert) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.to = append(m.to, to)
	if m.sent == nil {
		m.sent = map[string][]token.ID{}
	}
	for _, a := range alerts {
		m.sent[to] = append(m.sent[to], a.Token.ID)
	}
	return m.fail[to]
}

type runFixture struct {
	tokens *scriptedTokens
	owners *owners
	mail   *mailbox
	logs   *bytes.Buffer
	n      *Notifier
}

func newRun(recipients ...string) *runFixture {
	f := &runFixture{tokens: &scriptedTokens{claims: map[token.ID]claimAnswer{}}, owners: &owners{principals: map[string]*access.Principal{}, failing: map[string]error{}},
		mail: &mailbox{fail: map[string]error{}}, logs: &bytes.Buffer{}}
	f.n = &Notifier{Tokens: f.tokens, Principals: f.owners, Mailer: f.mail, Window: 168 * time.Hour, Backoff: 24 * time.Hour,
		Recipients: recipients, Now: func() time.Time { return now.Add(400 * time.Millisecond) }, Log: slog.New(slog.NewJSONHandler(f.logs, nil))}
	return f
}

// token adds an active permanent token of owner expiring in left to the index.
func (f *runFixture) token(id, owner string, left time.Duration) {
	f.tokens.expiring = append(f.tokens.expiring, alert(id, owner, left, time.Time{}).Token)
}

func (f *runFixture) owner(id, email string) {
	f.owners.principals[id] = &access.Principal{ID: id, Email: email}
}

// lines are the run's log lines of level.
func (f *runFixture) lines(t *testing.T, level string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(f.logs.Bytes()))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		if m["level"] == level {
			out = append(out, m)
		}
	}
	return out
}

func msgs(lines []map[string]any) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l["msg"].(string)
	}
	return out
}

func TestRunClaimsLogsMailsAndHandsBackWhatNoMessageCarried(t *testing.T) {
	f := newRun()
	f.owner("ann", "ann@example.com")
	f.owner("dan", "dan@example.com")
	f.owner("eve", "eve@example.com")
	f.token("a", "ann", time.Hour)     // mailed
	f.token("b", "bob", 2*time.Hour)   // no principal: its warning is its notice
	f.token("c", "ann", 3*time.Hour)   // won by an overlapping run
	f.token("d", "ann", 4*time.Hour)   // notified within the backoff, says the index
	f.token("e", "carl", 5*time.Hour)  // owner look-up fails
	f.token("f", "dan", 6*time.Hour)   // its message is refused
	f.token("g", "eve", 7*time.Hour)   // its message's answer is lost
	f.token("h", "ann", 200*time.Hour) // past the window: the index is eventually consistent
	f.tokens.expiring[3].LastNotifiedAt = now.Add(-time.Hour)
	prev := now.Add(-48 * time.Hour)
	f.tokens.claims["c"] = claimAnswer{lost: true}
	f.tokens.claims["f"] = claimAnswer{prev: prev}
	f.owners.failing["carl"] = errors.New("throttled")
	f.mail.fail["dan@example.com"] = errors.New("MessageRejected")
	f.mail.fail["eve@example.com"] = ErrMaybeSent

	sum, err := f.n.Run(context.Background())
	require.NoError(t, err)
	sum.Duration = 0
	require.Equal(t, Summary{TokensRead: 7, Notified: 5, Skipped: 2, EmailsSent: 1, Failures: 2, Unconfirmed: 1}, sum)
	require.Equal(t, []token.ID{"a", "b", "c", "e", "f", "g"}, f.tokens.claimed, "a notice the index shows as sent costs no claim")
	require.Equal(t, []string{"ann", "bob", "carl", "dan", "eve"}, f.owners.asked, "each owner of a claimed notice, once")
	require.Equal(t, map[string][]token.ID{"ann@example.com": {"a"}, "dan@example.com": {"f"}, "eve@example.com": {"g"}}, f.mail.sent)
	require.Equal(t, []released{{id: "e", at: now}, {id: "f", at: now, prev: prev}}, f.tokens.released,
		"the claims no message carried go back to what they replaced, conditioned on this run's claim")

	warns := f.lines(t, "WARN")
	require.Equal(t, []string{
		Warning(alert("a", "ann", time.Hour, time.Time{})), Warning(alert("b", "bob", 2*time.Hour, time.Time{})),
		Warning(alert("e", "carl", 5*time.Hour, time.Time{})), Warning(alert("f", "dan", 6*time.Hour, time.Time{})),
		Warning(alert("g", "eve", 7*time.Hour, time.Time{})),
		"expiry notice email unconfirmed: kept as sent, not mailed again before the backoff",
	}, msgs(warns), "one warning per claimed notice, soonest first")
	require.Equal(t, "a", warns[0]["tokenId"])
	require.Equal(t, "ann", warns[0]["ownerId"])
	require.Equal(t, now.Add(time.Hour).Format(time.RFC3339), warns[0]["expiresAt"])
	require.Equal(t, []string{"expiry notice: owner look-up failed, not emailed", "expiry notice email failed"}, msgs(f.lines(t, "ERROR")))
	infos := f.lines(t, "INFO")
	require.Equal(t, []string{"expiry notice: owner is not a known principal, not emailed", "expiry notifier run"}, msgs(infos))
	require.EqualValues(t, 5, infos[1]["notified"])
	require.Contains(t, infos[1], "durationMs")
}

func TestRunMailsTheListEveryToken(t *testing.T) {
	f := newRun("ops@example.com", "ANN@example.com")
	f.owner("ann", "ann@example.com")
	f.owner("bob", "")
	f.token("a", "ann", time.Hour)
	f.token("b", "bob", 2*time.Hour)
	sum, err := f.n.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, sum.EmailsSent)
	require.Equal(t, []string{"ops@example.com", "ANN@example.com"}, f.mail.to, "the owner on the list gets one message")
	require.Equal(t, map[string][]token.ID{"ops@example.com": {"a", "b"}, "ANN@example.com": {"a", "b"}}, f.mail.sent, "the list gets every token, each once")
	require.Equal(t, []string{"expiry notice: owner has no email address, not emailed", "expiry notifier run"}, msgs(f.lines(t, "INFO")))
}

func TestRunFailsOnlyWhenTheIndexCannotBeRead(t *testing.T) {
	f := newRun("ops@example.com")
	f.tokens.indexErr = errors.New("table unavailable")
	sum, err := f.n.Run(context.Background())
	require.ErrorIs(t, err, f.tokens.indexErr)
	require.Equal(t, 1, sum.Failures)
	require.Empty(t, f.tokens.claimed)
	require.Empty(t, f.mail.to)
	require.Equal(t, []string{"expiry notifier run"}, msgs(f.lines(t, "INFO")), "the summary line is written all the same")
}

func TestRunGoesOnPastUnreadableItemsAndFailedClaims(t *testing.T) {
	f := newRun("ops@example.com")
	f.token("a", "ann", time.Hour)
	f.token("b", "ann", 2*time.Hour)
	f.tokens.indexErr = &token.SkippedError{IDs: []token.ID{"x"}}
	f.tokens.claims["a"] = claimAnswer{err: errors.New("throttled")}
	sum, err := f.n.Run(context.Background())
	require.NoError(t, err)
	sum.Duration = 0
	require.Equal(t, Summary{TokensRead: 2, Notified: 1, EmailsSent: 1, Failures: 1, Unreadable: 1}, sum)
	require.Equal(t, map[string][]token.ID{"ops@example.com": {"b"}}, f.mail.sent, "a notice is mailed only once claimed")
	require.Equal(t, []string{"expiry notice not claimed"}, msgs(f.lines(t, "ERROR")))
}

func TestRunHandsBackClaimsAfterItsContextEnds(t *testing.T) {
	f := newRun("ops@example.com")
	f.token("a", "ann", time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	f.n.Mailer = cancelling{cancel: cancel, next: f.mail}
	f.tokens.releaseErr = errors.New("table unavailable")
	sum, err := f.n.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, sum.Failures, "the message and the release")
	require.Len(t, f.tokens.released, 1)
	require.NoError(t, f.tokens.released[0].ctxErr, "the release outlives the run's deadline")
	require.Equal(t, []string{"expiry notice email failed", "expiry notice not released: retried after the backoff"}, msgs(f.lines(t, "ERROR")))
}

// cancelling ends the run's context as the first message is sent, as a Lambda deadline
// would.
type cancelling struct {
	cancel context.CancelFunc
	next   Mailer
}

func (c cancelling) Send(ctx context.Context, to string, alerts []token.Alert) error {
	c.cancel()
	return c.next.Send(ctx, to, alerts)
}
