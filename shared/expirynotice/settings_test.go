package expirynotice_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/audit"
	"tokengate/shared/settings"
)

// TestTheNotifierFollowsTheRunTimeSettings: the window, backoff and extra recipients a
// superuser set (PATCH /settings) replace the deployment's on the next run, through
// SES: a token outside the deployment's window but inside the new one is mailed to the
// new recipient, not to the deployment's.
func TestTheNotifierFollowsTheRunTimeSettings(t *testing.T) {
	e := newEnv(t)
	deployed, added := localtest.Address("deployed"), localtest.Address("added")
	tok := e.token(e.principal("quiet", ""), "ten days out", 10*24*time.Hour)
	n := e.notifier(deployed)
	n.Settings = &settings.Source{Store: e.tb, Now: e.clock.Now, Defaults: settings.Values{
		DetectionWindow: n.Window, Backoff: n.Backoff, Recipients: n.Recipients,
	}}
	require.Zero(t, e.run(n).Notified, "10 days out is outside the deployment's 7-day window")

	window, list := 336*time.Hour, []string{added}
	require.NoError(t, e.tb.PutSettings(context.Background(), settings.Stored{DetectionWindow: &window, Recipients: &list, Version: 1},
		0, audit.Event{ID: audit.NewID(), Time: e.clock.Now(), Version: 1, Type: audit.EventSettingsChange, ActorID: "root", Reason: "two weeks"}))
	e.clock.Add(settings.ReadEvery)
	sum := e.run(n)
	require.Equal(t, 1, sum.Notified, "inside the 14-day window set at run time")
	require.Equal(t, 1, sum.EmailsSent)
	mails := localtest.Mails(t, added)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0].Text, string(tok.ID))
	require.Empty(t, localtest.Mails(t, deployed), "the deployment's recipients are replaced, not added to")
}
