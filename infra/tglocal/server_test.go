package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/infra/samtemplate"
	"tokengate/shared/boot"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// testSettings are the functions' settings for a test on svc's table: prefix "tg", the
// authorizer cache for cacheTTL, usage written every minute, the local sender.
func testSettings(svc *token.Service, cacheTTL time.Duration) boot.Settings {
	tb := svc.Store.(*store.Table)
	return boot.Settings{
		TableName: tb.Name, Prefix: "tg", Policy: svc.Policy, AuthCacheTTL: cacheTTL,
		UsageFlushInterval: time.Minute, Sender: localSender,
		Backoff: 24 * time.Hour, // LoadSettings' default
	}
}

// testServer is the in-process local gateway for tmpl on svc's table and keys, wired as
// serve wires it (boot.Assemble, boot.NewAuthorizer, the functions table); decision lines go
// to log (nil: the JSON log).
func testServer(t testing.TB, tmpl *samtemplate.Template, svc *token.Service, cacheTTL time.Duration, log io.Writer) *InProcessServer {
	t.Helper()
	s := testSettings(svc, cacheTTL)
	tb := svc.Store.(*store.Table)
	clients := localtest.Clients(t)
	auth, usage, err := boot.NewAuthorizer(s, tb, svc.Keys, log)
	require.NoError(t, err)
	srv, err := NewServer(tmpl, boot.Assemble(s, tb, svc.Keys, svc.Catalog, &clients), auth, usage)
	require.NoError(t, err)
	return srv
}
