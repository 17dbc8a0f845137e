package expirynotice_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/email"
	"tokengate/shared/token"
)

// TestAReuseIsMailedToTheOwnerOnce: a reuse the authorizer recorded (RecordReuse, as it
// calls it) reaches the owner's inbox on the next run, through the SES emulator, once
// however many runs follow; a reuse recorded an hour later is mailed again.
func TestAReuseIsMailedToTheOwnerOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	addr := localtest.Address("reuse")
	owner := e.principal("reuse-owner", addr)
	tok := e.token(owner, "ci deploy", 30*24*time.Hour)
	svc := &token.Service{Store: e.tb, Principals: e.tb, Now: e.clock.Now}
	n := e.notifier()
	mailer := &email.Mailer{Client: e.ses, From: "tokengate@example.com", ConsoleURL: "https://tokens.example.com/console/"}
	n.Reuses, n.ReuseMailer = e.tb, mailer

	require.Zero(t, e.run(n).ReuseMails, "no reuse recorded: nothing mailed")
	revoked, err := svc.RecordReuse(ctx, tok.ID, "198.51.100.7", e.clock.Now())
	require.NoError(t, err)
	require.False(t, revoked, "onReuse alert only alerts")

	require.Equal(t, 1, e.run(n).ReuseMails)
	require.Zero(t, e.run(n).ReuseMails, "claimed: the next run mails nothing")
	mails := localtest.Mails(t, addr)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0].Subject, "ci deploy")
	require.Contains(t, mails[0].Text, "198.51.100.7")
	require.Contains(t, mails[0].Text, string(tok.ID))
	require.Contains(t, mails[0].Text, "still works")

	e.clock.Add(token.ReuseRecordEvery)
	_, err = svc.RecordReuse(ctx, tok.ID, "198.51.100.8", e.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 1, e.run(n).ReuseMails, "a reuse an hour later is news again")
	require.Len(t, localtest.Mails(t, addr), 2)
}
