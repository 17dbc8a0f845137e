package expirynotice_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/email"
	"tokengate/shared/expirynotice"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// env is the notifier on a fresh table, mailing through the SES emulator, with a clock
// the test moves. Every address is unique to the test, since the emulator's mailbox is
// shared by all tests.
type env struct {
	t     *testing.T
	tb    *store.Table
	ses   *ses.Client
	clock *localtest.Clock
	logs  *lockedBuffer
}

func newEnv(t *testing.T) *env {
	t.Parallel()
	// A month ahead of the real clock: DynamoDB Local runs TTL and would delete tokens
	// that ended long ago.
	start := time.Now().UTC().AddDate(0, 1, 0).Truncate(time.Hour)
	return &env{t: t, tb: localtest.Table(t), ses: localtest.SES(t), clock: localtest.NewClock(start), logs: &lockedBuffer{}}
}

// notifier returns a notifier with the default window and backoff.
func (e *env) notifier(recipients ...string) *expirynotice.Notifier {
	return &expirynotice.Notifier{
		Tokens: e.tb, Principals: e.tb,
		Mailer:  &email.Mailer{Client: e.ses, From: "tokengate@example.com", ConsoleURL: "https://tokens.example.com/console/"},
		Window:  168 * time.Hour,
		Backoff: 24 * time.Hour, Recipients: recipients,
		Now: e.clock.Now, Log: slog.New(slog.NewJSONHandler(e.logs, nil)),
	}
}

func (e *env) run(n *expirynotice.Notifier) expirynotice.Summary {
	e.t.Helper()
	sum, err := n.Run(context.Background())
	require.NoError(e.t, err)
	return sum
}

// principal stores an owner; email may be empty.
func (e *env) principal(prefix, email string) string {
	e.t.Helper()
	id := localtest.Name(prefix)
	require.NoError(e.t, e.tb.PutPrincipal(context.Background(), &access.Principal{ID: id, Name: prefix, Email: email, Kind: "user", Version: 1}, 0))
	return id
}

// token stores an active permanent token of owner that expires in d.
func (e *env) token(owner, name string, d time.Duration) *token.Token {
	e.t.Helper()
	return localtest.PutToken(e.t, e.tb, localtest.NewToken(e.t, owner, name, e.clock.Now().Add(d)))
}

// warnings are the messages of the WARN lines logged so far, in order.
func (e *env) warnings() []string {
	e.t.Helper()
	var out []string
	for _, l := range e.logs.lines(e.t) {
		if l["level"] == "WARN" {
			out = append(out, l["msg"].(string))
			require.NotEmpty(e.t, l["tokenId"], "the warning names the token id as an attribute")
		}
	}
	return out
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "every log line is JSON: %s", sc.Text())
		out = append(out, m)
	}
	return out
}

func warning(tok *token.Token, days string) string {
	return "Warn: API Token [" + tok.Name + "] (ID [" + string(tok.ID) + "]) will expire in less than " + days + " days."
}

func TestRecipientsAndContent(t *testing.T) {
	e := newEnv(t)
	aliceMail, daveMail := localtest.Address("alice"), localtest.Address("dave")
	ops1, ops2 := localtest.Address("ops1"), localtest.Address("ops2")
	alice := e.principal("alice", aliceMail)
	bob := e.principal("bob", "") // no address: its tokens reach the configured addresses only
	carol := "carol-unknown"      // not a principal at all
	dave := e.principal("dave", daveMail)

	deploy := e.token(alice, "deploy", 36*time.Hour)
	backup := e.token(alice, "backup", 5*24*time.Hour)
	ci := e.token(bob, "ci", 3*24*time.Hour)
	legacy := e.token(carol, "legacy", 6*24*time.Hour)
	e.token(dave, "far away", 30*24*time.Hour)

	sum := e.run(e.notifier(ops1, ops2))
	require.Equal(t, 4, sum.TokensRead)
	require.Equal(t, 4, sum.Notified)
	require.Equal(t, 3, sum.EmailsSent, "alice, ops1, ops2")
	require.Zero(t, sum.Failures)

	require.Equal(t, []string{
		warning(deploy, "2"), warning(ci, "3"), warning(backup, "5"), warning(legacy, "6"),
	}, e.warnings(), "one line per token, soonest first, X rounded up")

	mails := localtest.Mails(t, aliceMail)
	require.Len(t, mails, 1, "one message per recipient per run")
	m := mails[0]
	require.Equal(t, "tokengate@example.com", m.From)
	require.Equal(t, []string{aliceMail}, m.To, "one recipient per message: nobody sees another's address")
	require.Equal(t, "Action needed: 2 API tokens expire soon, the first in less than 2 days", m.Subject)
	for _, body := range []string{m.Text, m.HTML} {
		for _, tok := range []*token.Token{deploy, backup} {
			require.Contains(t, body, tok.Name)
			require.Contains(t, body, tok.Hint)
			require.Contains(t, body, "https://tokens.example.com/console/#/tokens/"+string(tok.ID)+"/security", "a link to the token's page")
		}
		require.NotContains(t, body, string(ci.ID), "only the recipient's own tokens")
		require.NotContains(t, body, string(legacy.ID))
		require.Less(t, strings.Index(body, "deploy"), strings.Index(body, "backup"), "soonest first")
	}
	require.Contains(t, m.Text, "Expires:  "+deploy.ExpiresAt.UTC().Format("Mon 2 Jan 2006, 15:04")+" UTC (in less than 2 days)")

	for _, ops := range []string{ops1, ops2} {
		mails := localtest.Mails(t, ops)
		require.Len(t, mails, 1)
		require.True(t, strings.HasPrefix(mails[0].Subject, "Action needed: 4 API tokens expire soon"), mails[0].Subject)
		for _, tok := range []*token.Token{deploy, backup, ci, legacy} {
			require.Contains(t, mails[0].Text, string(tok.ID), "configured addresses get every token")
		}
	}
	require.Empty(t, localtest.Mails(t, daveMail), "nothing expires within the window for dave")
}

func TestOwnerOnTheList(t *testing.T) {
	e := newEnv(t)
	addr := localtest.Address("owner")
	owner := e.principal("owner", addr)
	e.token(owner, "a", 48*time.Hour)
	sum := e.run(e.notifier(strings.ToUpper(addr)))
	require.Equal(t, 1, sum.EmailsSent, "an owner who is also on the list gets one message")
	require.Len(t, localtest.Mails(t, addr), 1)
}

func TestBackoff(t *testing.T) {
	e := newEnv(t)
	addr := localtest.Address("owner")
	owner := e.principal("owner", addr)
	tok := e.token(owner, "nightly", 5*24*time.Hour)
	n := e.notifier()

	require.Equal(t, 1, e.run(n).EmailsSent)
	sum := e.run(n)
	require.Zero(t, sum.Notified, "a second run sends nothing")
	require.Equal(t, 1, sum.Skipped)
	require.Zero(t, sum.EmailsSent)

	e.clock.Add(23 * time.Hour)
	require.Zero(t, e.run(n).EmailsSent, "still within the backoff")
	e.clock.Add(time.Hour)
	require.Equal(t, 1, e.run(n).EmailsSent, "after the backoff it sends again")

	mails := localtest.Mails(t, addr)
	require.Len(t, mails, 2)
	require.Contains(t, mails[0].Subject, "in less than 5 days")
	require.Contains(t, mails[1].Subject, "in less than 4 days")
	require.Equal(t, []string{warning(tok, "5"), warning(tok, "4")}, e.warnings(), "the warning is logged once per notice too")
}

func TestOverlappingRunsSendOneNotice(t *testing.T) {
	e := newEnv(t)
	ops := localtest.Address("ops")
	owner := e.principal("owner", "")
	var want []token.ID
	for i := range 20 {
		want = append(want, e.token(owner, "t", time.Duration(i+1)*time.Hour).ID)
	}
	var wg sync.WaitGroup
	sums := make([]expirynotice.Summary, 4)
	for i := range sums {
		n := e.notifier(ops) // a notifier per run, as separate Lambda instances would have
		wg.Go(func() { sums[i] = e.run(n) })
	}
	wg.Wait()

	notified := 0
	for _, s := range sums {
		notified += s.Notified
		require.Zero(t, s.Failures)
	}
	require.Equal(t, len(want), notified, "each notice claimed by exactly one run")
	seen := map[token.ID]int{}
	for _, m := range localtest.Mails(t, ops) {
		for _, id := range want {
			seen[id] += strings.Count(m.Text, "(id "+string(id)+")")
		}
	}
	for _, id := range want {
		require.Equal(t, 1, seen[id], "token %s mailed once", id)
	}
	require.Len(t, e.warnings(), len(want))
}

func TestWindowEdgesAndDaysLeft(t *testing.T) {
	e := newEnv(t)
	owner := e.principal("owner", "")
	oneSecond := e.token(owner, "one second", time.Second)
	oneDay := e.token(owner, "exactly one day", 24*time.Hour)
	overOneDay := e.token(owner, "one day and a second", 24*time.Hour+time.Second)
	lastSecond := e.token(owner, "last second of the window", 168*time.Hour)
	e.token(owner, "just past the window", 168*time.Hour+time.Second)
	e.token(owner, "expired an hour ago", -time.Hour)
	e.token(owner, "expires now", 0)

	sum := e.run(e.notifier())
	require.Equal(t, 4, sum.Notified)
	require.Equal(t, []string{
		warning(oneSecond, "1"), warning(oneDay, "1"), warning(overOneDay, "2"), warning(lastSecond, "7"),
	}, e.warnings())
}

func TestOnlyActivePermanentTokens(t *testing.T) {
	e := newEnv(t)
	addr := localtest.Address("owner")
	owner := e.principal("owner", addr)
	in := 2 * 24 * time.Hour
	active := e.token(owner, "active", in)

	temporary := localtest.NewToken(t, owner, "temporary", e.clock.Now().Add(in))
	temporary.Type = token.TypeTemporary
	localtest.PutToken(t, e.tb, temporary)
	localtest.PutToken(t, e.tb, localtest.NewToken(t, owner, "no expiry", time.Time{}))
	for name, status := range map[string]token.Status{"revoked": token.StatusRevoked, "disabled": token.StatusDisabled, "pending": token.StatusPending} {
		tok := e.token(owner, name, in)
		localtest.Change(t, e.tb, tok, func(tok *token.Token) { tok.Status = status })
	}

	sum := e.run(e.notifier())
	require.Equal(t, 1, sum.TokensRead, "the sparse index holds active permanent tokens only")
	require.Equal(t, []string{warning(active, "2")}, e.warnings())
	mails := localtest.Mails(t, addr)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0].Subject, "API token “active” expires")
}

// closedMailer is a mailer whose SES endpoint refuses connections.
func closedMailer(t *testing.T) *email.Mailer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	client := ses.NewFromConfig(localtest.Clients(t).AWS, func(o *ses.Options) {
		o.BaseEndpoint = aws.String("http://" + addr)
		o.RetryMaxAttempts = 1
	})
	return &email.Mailer{Client: client, From: "tokengate@example.com"}
}

func TestFailedEmailRetriedNextRun(t *testing.T) {
	e := newEnv(t)
	addr := localtest.Address("owner")
	owner := e.principal("owner", addr)
	tok := e.token(owner, "payments", 3*24*time.Hour)

	down := e.notifier()
	down.Mailer = closedMailer(t)
	sum := e.run(down)
	require.Equal(t, 1, sum.Notified)
	require.Zero(t, sum.EmailsSent)
	require.Equal(t, 1, sum.Failures)
	require.Empty(t, localtest.Mails(t, addr))

	e.clock.Add(time.Hour)
	sum = e.run(e.notifier())
	require.Equal(t, 1, sum.Notified, "the failed notice was released")
	require.Equal(t, 1, sum.EmailsSent)
	mails := localtest.Mails(t, addr)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0].Text, string(tok.ID))

	e.clock.Add(time.Hour)
	require.Zero(t, e.run(e.notifier()).Notified, "delivered: now the backoff holds")
}

func TestBadAddressDoesNotStopTheOthers(t *testing.T) {
	e := newEnv(t)
	ops, good := localtest.Address("ops"), localtest.Address("good")
	broken := e.principal("broken", "not an address")
	fine := e.principal("fine", good)
	e.token(broken, "a", 48*time.Hour)
	e.token(fine, "b", 72*time.Hour)

	n := e.notifier(ops)
	sum := e.run(n)
	require.Equal(t, 2, sum.Notified)
	require.Equal(t, 2, sum.EmailsSent, "ops and the good owner")
	require.Equal(t, 1, sum.Failures, "the malformed owner address")
	require.Len(t, localtest.Mails(t, good), 1)
	require.Len(t, localtest.Mails(t, ops), 1)

	e.clock.Add(time.Hour)
	require.Zero(t, e.run(n).EmailsSent, "a notice that reached ops is kept: ops gets no second copy")
}

func TestSummaryLine(t *testing.T) {
	e := newEnv(t)
	owner := e.principal("owner", localtest.Address("owner"))
	e.token(owner, "a", time.Hour)
	e.run(e.notifier())
	var summaries []map[string]any
	for _, l := range e.logs.lines(t) {
		if l["msg"] == "expiry notifier run" {
			summaries = append(summaries, l)
		}
	}
	require.Len(t, summaries, 1, "one summary line per run")
	s := summaries[0]
	require.EqualValues(t, 1, s["tokensRead"])
	require.EqualValues(t, 1, s["notified"])
	require.EqualValues(t, 1, s["emailsSent"])
	require.EqualValues(t, 0, s["failures"])
	require.Contains(t, s, "durationMs")
}

// TestUnreadableItemDoesNotStopTheRun: a token item that no longer decodes, written
// straight to DynamoDB Local, is skipped and counted; the other tokens are notified.
func TestUnreadableItemDoesNotStopTheRun(t *testing.T) {
	e := newEnv(t)
	addr := localtest.Address("owner")
	owner := e.principal("owner", addr)
	good := e.token(owner, "good", 48*time.Hour)
	bad := e.token(owner, "bad", 72*time.Hour)
	localtest.Corrupt(t, e.tb, bad.ID)

	sum := e.run(e.notifier())
	require.Equal(t, 1, sum.Unreadable)
	require.Equal(t, 1, sum.Notified)
	require.Equal(t, 1, sum.EmailsSent)
	require.Equal(t, []string{warning(good, "2")}, e.warnings())
	mails := localtest.Mails(t, addr)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0].Text, string(good.ID))
	for _, l := range e.logs.lines(t) {
		if l["msg"] == "expiry notifier run" {
			require.EqualValues(t, 1, l["unreadable"], "the summary line counts it")
		}
	}
}
