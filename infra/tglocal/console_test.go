package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/console"
	"tokengate/shared/email"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// consoleStack is the local gateway on a fresh table with two administrators: root (a
// superuser whose token holds every scope, high-risk ones approved) and admin.
type consoleStack struct {
	svc             *token.Service
	url             string
	root, admin     string // token strings
	revoked, xssTok string
	expired         string
	xssID           token.ID
}

func newConsoleStack(t *testing.T, catalog ...*access.Catalog) *consoleStack {
	t.Helper()
	svc := localtest.Service(t, nil)
	if len(catalog) > 0 {
		svc.Catalog = catalog[0]
	}
	tb := svc.Store.(*store.Table)
	s := testServer(t, localtest.Template(t), svc, 0, nil)
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	// Usage counts are written off the response path, as serve does it.
	usageCtx, stopUsage := context.WithCancel(context.Background())
	usageDone := make(chan struct{})
	go func() { s.Usage.Run(usageCtx, 100*time.Millisecond, time.Now); close(usageDone) }()
	t.Cleanup(func() { stopUsage(); <-usageDone })
	ctx := context.Background()
	all := []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead, access.EmergencyActivate}

	st := &consoleStack{svc: svc, url: srv.URL}
	root, err := svc.Create(ctx, access.Caller{OwnerID: "root", Scopes: all}, token.CreateInput{Name: "root kit", Scopes: all, Reason: "console test"})
	require.NoError(t, err)
	_, err = svc.Approve(ctx, localtest.Admin, root.Token.ID, "console test")
	require.NoError(t, err)
	st.root = root.Plaintext.Reveal()
	admin, err := svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "admin kit", Scopes: localtest.Admin.Scopes, Reason: "console test"})
	require.NoError(t, err)
	st.admin = admin.Plaintext.Reveal()
	gone, err := svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "gone", Scopes: []string{access.TokensRead}})
	require.NoError(t, err)
	_, err = svc.Revoke(ctx, localtest.Admin, gone.Token.ID, "")
	require.NoError(t, err)
	st.revoked = gone.Plaintext.Reveal()
	old, err := svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "old", Scopes: []string{access.TokensRead}})
	require.NoError(t, err)
	localtest.Change(t, tb, old.Token, func(tok *token.Token) { tok.ExpiresAt = time.Now().Add(-time.Hour) })
	st.expired = old.Plaintext.Reveal()
	// A token that expires in two days, named like markup: the banner and the list must
	// show it as text.
	in2d := time.Now().Add(49 * time.Hour).UTC()
	xss, err := svc.Create(ctx, localtest.Admin, token.CreateInput{Name: `<img src=x onerror=alert(1)>`, Scopes: []string{access.TokensRead}, ExpiresAt: &in2d})
	require.NoError(t, err)
	st.xssTok, st.xssID = xss.Plaintext.Reveal(), xss.Token.ID
	return st
}

// TestConsoleHeaders: the console is served by the gateway from template.yaml, with a
// strict CSP and the other headers, hashed assets cached for a year, index.html never.
func TestConsoleHeaders(t *testing.T) {
	st := newConsoleStack(t)
	res, err := http.Get(st.url + "/console/")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, console.CSP, res.Header.Get("Content-Security-Policy"))
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		require.Contains(t, res.Header.Get("Content-Security-Policy"), want)
	}
	require.NotContains(t, res.Header.Get("Content-Security-Policy"), "unsafe-inline")
	require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
	require.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
	body := new(strings.Builder)
	_, _ = ioCopy(body, res)
	require.NotRegexp(t, `<script>|<script [^>]*>[^<]|style=|<style`, body.String(), "no inline script or style")
	assets := regexp.MustCompile(`assets/[a-z]+\.[0-9a-f]{12}\.(js|css)`).FindAllString(body.String(), -1)
	require.Len(t, assets, 2, "index.html names the hashed script and style sheet")
	for _, a := range assets {
		r, err := http.Get(st.url + "/console/" + a)
		require.NoError(t, err)
		r.Body.Close()
		require.Equal(t, http.StatusOK, r.StatusCode, a)
		require.Equal(t, "public, max-age=31536000, immutable", r.Header.Get("Cache-Control"), a)
		require.Equal(t, console.CSP, r.Header.Get("Content-Security-Policy"), a)
	}
	for path, want := range map[string]int{"/console/assets/app.js": 404, "/console/nope": 404} {
		r, err := http.Get(st.url + path)
		require.NoError(t, err)
		r.Body.Close()
		require.Equal(t, want, r.StatusCode, path)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noRedirect.Get(st.url + "/console")
	require.NoError(t, err)
	r.Body.Close()
	require.Equal(t, http.StatusMovedPermanently, r.StatusCode)
	require.Equal(t, "console/", r.Header.Get("Location"))

	h, err := console.New()
	require.NoError(t, err)
	index, files := h.Assets()
	total := index
	for name, n := range files {
		t.Logf("console weight: %s %d bytes", name, n)
		total += n
	}
	t.Logf("console weight: index.html %d bytes; total %d bytes", index, total)
}

func ioCopy(w *strings.Builder, res *http.Response) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := res.Body.Read(buf)
		w.Write(buf[:k])
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}

// TestConsoleInBrowser drives the console in chromium as a platform engineer would.
func TestConsoleInBrowser(t *testing.T) {
	st := newConsoleStack(t)
	ctx := browser(t)
	shots := screenshotDir(t)
	console := st.url + "/console/"

	alerted := make(chan string, 4)
	// No page may ever open a JavaScript dialog (the XSS name would, if parsed as HTML).
	require.NoError(t, listenDialogs(ctx, alerted))

	require.NoError(t, chromedpNavigate(ctx, console))
	t.Run("sign in refuses garbage, revoked and expired tokens with a clear message", func(t *testing.T) {
		for _, bad := range []string{"tg_garbage", st.revoked, st.expired} {
			fill(t, ctx, "textbox", "API token", bad)
			click(t, ctx, "button", "Sign in")
			waitJS(t, ctx, `document.querySelector(".signin .error[data-field='']").textContent.includes("not accepted")`)
			require.Equal(t, "", eval[string](t, ctx, `sessionStorage.getItem("tokengate.session") || ""`))
			_ = eval[bool](t, ctx, `(document.querySelector(".signin .error[data-field='']").textContent = "", true)`)
		}
		require.True(t, eval[bool](t, ctx, `getComputedStyle(document.getElementById("nav")).display === "none"`), "no navigation before sign-in")
		screenshot(t, ctx, shots, "console-signin")
	})

	var sessionID string
	t.Run("sign in keeps only a temporary session token", func(t *testing.T) {
		fill(t, ctx, "textbox", "API token", st.root)
		click(t, ctx, "button", "Sign in")
		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "tokens"`)
		stored := eval[string](t, ctx, `sessionStorage.getItem("tokengate.session")`)
		require.NotContains(t, stored, st.root, "the pasted token is not kept")
		require.Equal(t, 1, strings.Count(stored, `"token":"tg_`))
		sessionID = eval[string](t, ctx, `JSON.parse(sessionStorage.getItem("tokengate.session")).id`)
		sess, err := st.svc.Get(context.Background(), localtest.Admin, token.ID(sessionID))
		require.NoError(t, err)
		require.Equal(t, token.TypeTemporary, sess.Type)
		require.Equal(t, "root", sess.OwnerID)
		require.Equal(t, token.StatusActive, sess.Status, "a session of an approved token needs no second approval")
		require.LessOrEqual(t, time.Until(sess.ExpiresAt), time.Hour+time.Minute)
		require.Equal(t, 0, eval[int](t, ctx, `localStorage.length`))
	})

	t.Run("time to first render of the Tokens page", func(t *testing.T) {
		require.NoError(t, chromedpReload(ctx))
		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "tokens"`)
		ms := eval[float64](t, ctx, `window.tokensRenderedAt`)
		t.Logf("time to first render of the Tokens page: %.0f ms (navigation start to the list drawn, API calls included)", ms)
		require.Greater(t, ms, 0.0)
	})

	t.Run("expiry banner and a markup name shown as text", func(t *testing.T) {
		waitJS(t, ctx, `!document.getElementById("banner").hidden`)
		banner := eval[string](t, ctx, `document.getElementById("banner").textContent`)
		require.Contains(t, banner, `<img src=x onerror=alert(1)>`)
		require.Contains(t, banner, "expires soon")
		row := eval[string](t, ctx, `document.querySelector("tr[data-id='`+string(st.xssID)+`']").textContent`)
		require.Contains(t, row, `<img src=x onerror=alert(1)>`)
		require.Contains(t, row, "Expires in < 3 days", "the warning badge in the detection window")
		require.Equal(t, 0, eval[int](t, ctx, `document.querySelectorAll("main img, #banner img").length`))
		screenshot(t, ctx, shots, "console-tokens")
	})

	t.Run("accessible names on the Tokens page", func(t *testing.T) {
		for _, name := range []string{"Name", "Token", "Created", "Last used", "Expires", "Status"} {
			ax(t, ctx, "columnheader", name)
		}
		ax(t, ctx, "button", "Sign out")
		ax(t, ctx, "button", "Generate token")
	})

	var ciToken, ciID string
	t.Run("generate, copy, listed with Last used Never", func(t *testing.T) {
		click(t, ctx, "button", "Generate token")
		for _, name := range []string{"Token name", "Description", "Role", "Expiration", "Reason"} {
			ax(t, ctx, "", name)
		}
		ax(t, ctx, "group", "Scopes")
		screenshot(t, ctx, shots, "console-generate")
		fill(t, ctx, "textbox", "Token name", "ci-deploy")
		fill(t, ctx, "textbox", "Description", "GitHub Actions deploy job")
		click(t, ctx, "checkbox", "tokens:read")
		fill(t, ctx, "combobox", "Expiration", "3m")
		click(t, ctx, "button", "Generate")
		click(t, ctx, "button", "Copy")
		waitJS(t, ctx, `document.querySelector("dialog [role=status]").textContent === "Copied."`)
		ciToken = eval[string](t, ctx, `document.getElementById("new-token").value`)
		require.Regexp(t, `^tg_[A-Za-z0-9]+_[A-Za-z0-9]+$`, ciToken)
		require.Contains(t, eval[string](t, ctx, `document.querySelector("dialog").textContent`), "It will not be shown again.")
		screenshot(t, ctx, shots, "console-reveal")
		click(t, ctx, "button", "Done")
		waitJS(t, ctx, `[...document.querySelectorAll("main tbody tr")].some(r => r.textContent.includes("ci-deploy"))`)
		ciID = eval[string](t, ctx, `[...document.querySelectorAll("main tbody tr")].find(r => r.textContent.includes("ci-deploy")).dataset.id`)
		require.Equal(t, "Never", eval[string](t, ctx, `document.querySelector("tr[data-id='`+ciID+`'] .last-used").textContent`))
		require.NotContains(t, eval[string](t, ctx, `document.body.textContent`), ciToken, "the secret is gone once the dialog closes")
	})

	t.Run("used through /demo/echo, then a last-used time shows", func(t *testing.T) {
		require.Equal(t, http.StatusOK, httpStatus(t, "GET", st.url+"/demo/echo", ciToken))
		// The use is written after the answer (within a flush tick): reload until it shows.
		var lastUsed string
		for range 50 {
			require.NoError(t, chromedpReload(ctx))
			waitJS(t, ctx, `document.querySelector("main").dataset.ready === "tokens"`)
			lastUsed = eval[string](t, ctx, `document.querySelector("tr[data-id='`+ciID+`'] .last-used").textContent`)
			if lastUsed != "Never" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		require.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d UTC$`, lastUsed)
	})

	t.Run("detail tabs and rotate", func(t *testing.T) {
		require.NoError(t, chromedpNavigate(ctx, console+"#/tokens/"+ciID))
		for _, name := range []string{"Overview", "ACL", "Security", "Activity"} {
			ax(t, ctx, "tab", name)
		}
		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "detail-Overview"`)
		require.Contains(t, eval[string](t, ctx, `document.querySelector(".timeline").textContent`), "Created by root")
		meta := eval[string](t, ctx, `document.querySelector("dl.meta").textContent`)
		require.Contains(t, meta, "GitHub Actions deploy job")
		require.Contains(t, meta, "tokens:read")
		require.NotContains(t, eval[string](t, ctx, `document.body.textContent`), "[object", "every value is rendered as text")
		screenshot(t, ctx, shots, "console-detail")
		click(t, ctx, "tab", "ACL")
		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "detail-ACL"`)
		click(t, ctx, "tab", "Activity")
		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "detail-Activity"`)
		click(t, ctx, "tab", "Security")
		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "detail-Security"`)
		for _, name := range []string{"Rotate", "Disable", "Revoke", "Activate emergency access"} {
			ax(t, ctx, "button", name)
		}
		_ = eval[bool](t, ctx, `(document.querySelector(".danger-zone").scrollIntoView(), true)`)
		screenshot(t, ctx, shots, "console-security")
		click(t, ctx, "button", "Rotate")
		ax(t, ctx, "heading", "Rotate this token?")
		ax(t, ctx, "radio", "Now: the old secret stops at once")
		click(t, ctx, "radio", "Custom (at most 24 hours)")
		fill(t, ctx, "textbox", "Custom grace period", "2 days")
		click(t, ctx, "button", "Rotate token")
		waitJS(t, ctx, `document.querySelector("dialog [data-field=gracePeriod]").textContent === "Give the grace period as a duration such as 90m, 6h or 1h30m."`)
		fill(t, ctx, "textbox", "Custom grace period", "25h")
		click(t, ctx, "button", "Rotate token")
		waitJS(t, ctx, `document.querySelector("dialog [data-field=gracePeriod]").textContent === "A grace period is from 1 minute to 24 hours."`)
		screenshot(t, ctx, shots, "console-rotate")
		click(t, ctx, "radio", "1 hour")
		require.NotContains(t, eval[string](t, ctx, `document.querySelector("dialog select").textContent`), "Never", "the policy refuses never: not offered")
		fill(t, ctx, "combobox", "New expiry", "1m")
		click(t, ctx, "button", "Rotate token")
		click(t, ctx, "button", "Copy")
		rotated := eval[string](t, ctx, `document.getElementById("new-token").value`)
		require.NotEqual(t, ciToken, rotated)
		click(t, ctx, "button", "Done")
		require.Equal(t, http.StatusOK, httpStatus(t, "GET", st.url+"/demo/echo", rotated))
		require.Equal(t, http.StatusOK, httpStatus(t, "GET", st.url+"/demo/echo", ciToken), "a grace period of 1 hour: the old secret still works")
		tok, err := st.svc.Get(context.Background(), localtest.Admin, token.ID(ciID))
		require.NoError(t, err)
		require.WithinDuration(t, time.Now().Add(time.Hour), tok.PrevValidUntil, time.Minute)

		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "detail-Security"`)
		for _, name := range []string{"Reason for this change", "Reason for emergency access", "Reason for the status change"} {
			ax(t, ctx, "textbox", name)
		}
		click(t, ctx, "button", "Save restrictions")
		waitJS(t, ctx, `document.querySelector("form[aria-label='Security settings'] [data-field=reason]").textContent !== ""`)
		require.Equal(t, "Reason is required to change IP allowlist, rate limit or time window.",
			eval[string](t, ctx, `document.querySelector("form[aria-label='Security settings'] [data-field=reason]").textContent`), "a whole sentence, in words")
		click(t, ctx, "tab", "Overview")
		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "detail-Overview"`)
		history := eval[string](t, ctx, `document.querySelector(".timeline").textContent`)
		require.Contains(t, history, "Rotated by root")
		require.Contains(t, history, "Grace period: — → 1h")
		require.Regexp(t, `Expires: \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC → \d{1,2} [A-Z][a-z]{2} \d{4}`, history)
		require.NotContains(t, history, "expiresAt")
		click(t, ctx, "tab", "Security")

		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "detail-Security"`)
		click(t, ctx, "button", "Disable")
		ax(t, ctx, "button", "Enable")
		click(t, ctx, "button", "Enable")
		ax(t, ctx, "button", "Disable")
	})

	var highID string
	t.Run("a high-risk token ends pending, and a second admin approves it", func(t *testing.T) {
		require.NoError(t, chromedpNavigate(ctx, console+"#/tokens"))
		click(t, ctx, "button", "Generate token")
		fill(t, ctx, "textbox", "Token name", "break glass")
		click(t, ctx, "checkbox", "emergency:activate")
		click(t, ctx, "button", "Generate")
		waitJS(t, ctx, `document.querySelector("dialog [data-field=reason]").textContent.includes("required")`)
		fill(t, ctx, "textbox", "Reason", "on-call kit")
		click(t, ctx, "button", "Generate")
		ax(t, ctx, "heading", "Pending approval")
		click(t, ctx, "button", "Done")
		waitJS(t, ctx, `[...document.querySelectorAll("main tbody tr")].some(r => r.textContent.includes("break glass"))`)
		highID = eval[string](t, ctx, `[...document.querySelectorAll("main tbody tr")].find(r => r.textContent.includes("break glass")).dataset.id`)

		// The requester may not approve it.
		require.NoError(t, chromedpNavigate(ctx, console+"#/approvals"))
		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "approvals"`)
		click(t, ctx, "button", "Approve")
		waitJS(t, ctx, `document.querySelector("main form .error[data-field='']").textContent !== ""`)

		other := tab(t, ctx)
		require.NoError(t, chromedpNavigate(other, console))
		fill(t, other, "textbox", "API token", st.admin)
		click(t, other, "button", "Sign in")
		waitJS(t, other, `document.querySelector("main").dataset.ready === "tokens"`)
		require.NoError(t, chromedpNavigate(other, console+"#/approvals"))
		waitJS(t, other, `document.querySelector("main").dataset.ready === "approvals"`)
		ax(t, other, "button", "Reject")
		screenshot(t, other, shots, "console-approvals")
		request := eval[string](t, other, `document.querySelector("main form.request").textContent`)
		for _, want := range []string{"Requested by", "root", "Reason given", "on-call kit", "high", "emergency:activate"} {
			require.Contains(t, request, want, "the approver sees who asks, why, the risk and the scopes in one view")
		}
		fill(t, other, "textbox", "Your reason for the decision", "checked with the on-call lead")
		click(t, other, "button", "Approve")
		waitJS(t, other, `document.querySelector("main").textContent.includes("Nothing waits for approval")`)
		tok, err := st.svc.Get(context.Background(), localtest.Admin, token.ID(highID))
		require.NoError(t, err)
		require.Equal(t, token.StatusActive, tok.Status)

		require.NoError(t, chromedpNavigate(other, console+"#/principals"))
		waitJS(t, other, `document.querySelector("main").dataset.ready === "principals"`)
		require.Contains(t, eval[string](t, other, `document.querySelector("main table").textContent`), "root")
		screenshot(t, other, shots, "console-principals")
	})

	t.Run("revoke from the list, after a confirmation", func(t *testing.T) {
		require.NoError(t, chromedpNavigate(ctx, console+"#/tokens"))
		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "tokens"`)
		click(t, ctx, "button", "Revoke ci-deploy")
		ax(t, ctx, "heading", "Revoke this token?")
		fill(t, ctx, "textbox", "Reason", "moved to OIDC")
		click(t, ctx, "button", "Revoke")
		waitJS(t, ctx, `document.querySelector("main").dataset.ready === "tokens" && document.querySelector("tr[data-id='`+ciID+`']") === null`)
		click(t, ctx, "checkbox", "Show ended (revoked, rejected, expired)")
		waitJS(t, ctx, `document.querySelector("tr[data-id='`+ciID+`'] .badge.revoked") !== null`)
		tok, err := st.svc.Get(context.Background(), localtest.Admin, token.ID(ciID))
		require.NoError(t, err)
		require.Equal(t, token.StatusRevoked, tok.Status)
	})

	t.Run("sign out revokes the session token", func(t *testing.T) {
		click(t, ctx, "button", "Sign out")
		waitJS(t, ctx, `document.querySelector(".signin") !== null`)
		require.Equal(t, "", eval[string](t, ctx, `sessionStorage.getItem("tokengate.session") || ""`))
		sess, err := st.svc.Get(context.Background(), localtest.Admin, token.ID(sessionID))
		require.NoError(t, err)
		require.Equal(t, token.StatusRevoked, sess.Status)
	})

	select {
	case msg := <-alerted:
		t.Fatalf("a page opened a JavaScript dialog: %q", msg)
	default:
	}
}

// TestExpiryEmailAt600px renders the expiry notice's HTML in chromium 600, 375 and 320 px
// wide: it must fit without sideways scrolling, long names, descriptions and ids included.
func TestExpiryEmailAt600px(t *testing.T) {
	at := time.Date(2026, 3, 8, 9, 30, 0, 0, time.UTC)
	alert := func(name string, days int) token.Alert {
		id, err := token.NewID("platform", nil)
		require.NoError(t, err)
		return token.Alert{Token: &token.Token{ID: id, Name: name, Hint: "tg_…" + string(id[len(id)-4:]), ExpiresAt: at.Add(time.Duration(days-1) * 24 * time.Hour),
			OwnerID: "platform-team", Description: "Deploys the storefront from GitHub Actions; rotate it in the repository's secrets too"}, DaysLeft: days}
	}
	msg, err := email.Render([]token.Alert{
		alert("ci-deploy", 2),
		alert("nightly-backup-to-the-object-store-in-the-second-region-with-a-rather-long-name-indeed", 5),
		alert(`<img src=x onerror=alert(1)>`, 7),
	}, "http://127.0.0.1:3000/console/")
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(msg.HTML))
	}))
	defer srv.Close()

	ctx := browser(t)
	for _, w := range []int64{320, 375, 600} {
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(w, 900), chromedp.Navigate(srv.URL)))
		require.EqualValues(t, w, eval[int](t, ctx, `document.documentElement.clientWidth`))
		require.LessOrEqual(t, eval[int64](t, ctx, `document.documentElement.scrollWidth`), w, "no sideways scrolling at %d px", w)
	}
	require.Equal(t, 3, eval[int](t, ctx, `[...document.querySelectorAll("a")].filter(a => a.textContent === "Rotate this token").length`))
	require.Equal(t, 3, eval[int](t, ctx, `[...document.querySelectorAll("p")].filter(p => p.textContent === "Owner platform-team").length`), "whose token each one is")
	require.Equal(t, 0, eval[int](t, ctx, `document.querySelectorAll("img").length`))
	raw, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	writePNG(t, filepath.Join(screenshotDir(t), "expiry-email.png"), raw)
}

// TestConsoleLayoutsAndList walks every page at 1280 × 900 and at 375 × 800 (a phone):
// nothing is wider than the window, Sign out is on screen, and no page logs an error
// (a failed load, favicon.ico included). Then the list as an administrator uses it: an
// Owner column, mine / everyone's, search by name, ended tokens behind a filter, and
// console sessions apart, each revocable.
func TestConsoleLayoutsAndList(t *testing.T) {
	st := newConsoleStack(t)
	ctx := context.Background()
	// root's own token, a pending request with its reason, and a console
	// session of admin's (another sign-in).
	mine, err := st.svc.Create(ctx, access.Caller{OwnerID: "root", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin}},
		token.CreateInput{Name: "root-nightly", Scopes: []string{access.TokensRead}})
	require.NoError(t, err)
	all := []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead, access.EmergencyActivate}
	pending, err := st.svc.Create(ctx, access.Caller{OwnerID: "root", Scopes: all}, token.CreateInput{Name: "pager duty kit", Scopes: []string{access.EmergencyActivate}, Reason: "the on-call rota needs break-glass"})
	require.NoError(t, err)
	other, err := st.svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "Console session", Type: token.TypeTemporary, Scopes: []string{access.TokensRead}, Reason: "Console sign-in"})
	require.NoError(t, err)

	b := browser(t)
	shots := screenshotDir(t)
	errs := watchErrors(t, b)
	console := st.url + "/console/"
	require.NoError(t, chromedpNavigate(b, console))
	fill(t, b, "textbox", "API token", st.root)
	click(t, b, "button", "Sign in")
	waitJS(t, b, `document.querySelector("main").dataset.ready === "tokens"`)
	sessionID := eval[string](t, b, `JSON.parse(sessionStorage.getItem("tokengate.session")).id`)

	pages := []struct{ name, hash, ready string }{
		{"tokens", "#/tokens", "tokens"},
		{"overview", "#/tokens/" + string(mine.Token.ID), "detail-Overview"},
		{"acl", "#/tokens/" + string(mine.Token.ID) + "/acl", "detail-ACL"},
		{"security", "#/tokens/" + string(mine.Token.ID) + "/security", "detail-Security"},
		{"activity", "#/tokens/" + string(mine.Token.ID) + "/activity", "detail-Activity"},
		{"approvals", "#/approvals", "approvals"},
		{"principals", "#/principals", "principals"},
		{"principal", "#/principals/admin", "principal-Details"},
		{"principal tokens", "#/principals/admin/tokens", "principal-Tokens"},
	}
	for _, size := range []struct{ w, h int64 }{{1280, 900}, {375, 800}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			require.NoError(t, chromedp.Do(b, chromedp.EmulateViewport(size.w, size.h)))
			for _, p := range pages {
				require.NoError(t, chromedpNavigate(b, console+p.hash))
				waitJS(t, b, `document.querySelector("main").dataset.ready === "`+p.ready+`"`)
				fits(t, b, p.name)
				if size.w == 375 && (p.name == "tokens" || p.name == "overview") {
					screenshot(t, b, shots, "console-phone-"+p.name)
				}
			}
			require.NoError(t, chromedpNavigate(b, console+"#/tokens/"+string(mine.Token.ID)+"/security"))
			waitJS(t, b, `document.querySelector("main").dataset.ready === "detail-Security"`)
			click(t, b, "button", "Rotate")
			ax(t, b, "heading", "Rotate this token?")
			fits(t, b, "rotate dialog")
			click(t, b, "button", "Cancel")
			require.NoError(t, chromedpNavigate(b, console+"#/tokens"))
			waitJS(t, b, `document.querySelector("main").dataset.ready === "tokens"`)
			click(t, b, "button", "Generate token")
			ax(t, b, "heading", "Generate token")
			fits(t, b, "generate dialog")
			require.NotContains(t, eval[string](t, b, `[...document.querySelectorAll("#generate select option")].map(o => o.value).join(" ")`), "never",
				"the policy refuses never: not offered")
			click(t, b, "button", "Cancel")
			require.Equal(t, 200, eval[int](t, b, `fetch(document.querySelector("link[rel=icon]").href).then(r => r.status)`), "the icon is served")
			require.Empty(t, errs.take(), "no errors in the page")
		})
	}
	require.NoError(t, chromedp.Do(b, chromedp.EmulateViewport(1280, 900)))
	require.NoError(t, chromedpNavigate(b, console+"#/tokens"))
	waitJS(t, b, `document.querySelector("main").dataset.ready === "tokens"`)
	names := func() []string {
		return eval[[]string](t, b, `[...document.querySelectorAll("table[aria-label=Tokens] tbody tr[data-id] td:first-child a")].map(a => a.textContent)`)
	}

	t.Run("an Owner column for admins, and no row per sign-in", func(t *testing.T) {
		ax(t, b, "columnheader", "Owner")
		require.Equal(t, "admin", eval[string](t, b, `document.querySelector("tr[data-id='`+string(st.xssID)+`'] td[data-label=Owner]").textContent`))
		require.NotContains(t, names(), "Console session")
		require.Equal(t, "active", eval[string](t, b, `document.querySelector("table[aria-label=Tokens] tbody tr .badge.active, table[aria-label=Tokens] tbody tr .badge.pending").textContent`))
		statuses := eval[[]string](t, b, `[...document.querySelectorAll("table[aria-label=Tokens] tbody tr td[data-label=Status]")].map(td => td.textContent)`)
		require.Equal(t, "active", statuses[0], "active first")
		require.Equal(t, "pending", statuses[len(statuses)-1])
	})
	t.Run("ended tokens only on request", func(t *testing.T) {
		require.NotContains(t, names(), "gone")
		require.NotContains(t, names(), "old")
		click(t, b, "checkbox", "Show ended (revoked, rejected, expired)")
		require.Contains(t, names(), "gone")
		require.Contains(t, names(), "old")
		click(t, b, "checkbox", "Show ended (revoked, rejected, expired)")
	})
	t.Run("search by name", func(t *testing.T) {
		fill(t, b, "searchbox", "Search by name", "KIT")
		require.ElementsMatch(t, []string{"root kit", "admin kit", "pager duty kit"}, names())
		fill(t, b, "searchbox", "Search by name", "nothing like it")
		require.Contains(t, eval[string](t, b, `document.querySelector("table[aria-label=Tokens]").textContent`), "No token name contains “nothing like it”.")
		// (fill cannot pass an empty string: chromedp sends it as undefined)
		_ = eval[bool](t, b, `(q => { q.value = ""; q.dispatchEvent(new Event("input")); return true; })(document.getElementById("filter-q"))`)
		require.Contains(t, names(), "root-nightly")
	})
	t.Run("mine or everyone's", func(t *testing.T) {
		fill(t, b, "combobox", "Owner", "mine")
		waitJS(t, b, `document.querySelector("main").dataset.ready === "tokens" && document.getElementById("filter-owner").value === "mine"`)
		owners := eval[[]string](t, b, `[...document.querySelectorAll("table[aria-label=Tokens] td[data-label=Owner]")].map(td => td.textContent)`)
		require.NotEmpty(t, owners)
		for _, o := range owners {
			require.Equal(t, "root", o)
		}
		require.Contains(t, names(), "root-nightly")
		fill(t, b, "combobox", "Owner", "all")
		waitJS(t, b, `document.querySelector("main").dataset.ready === "tokens" && document.getElementById("filter-owner").value === "all"`)
		require.Contains(t, names(), "admin kit")
	})
	t.Run("sessions apart, each revocable", func(t *testing.T) {
		sessions := eval[string](t, b, `document.querySelector("table[aria-label=Sessions]").textContent`)
		require.Contains(t, sessions, "This tab")
		require.Contains(t, sessions, "Another sign-in")
		require.Equal(t, 1, eval[int](t, b, `document.querySelectorAll("table[aria-label=Sessions] tr[data-id='`+sessionID+`'] button").length`))
		click(t, b, "button", "Revoke session "+other.Token.Hint)
		ax(t, b, "heading", "Revoke this token?")
		click(t, b, "button", "Revoke")
		waitJS(t, b, `document.querySelector("main").dataset.ready === "tokens" && document.querySelector("table[aria-label=Sessions] tr[data-id='`+string(other.Token.ID)+`']") === null`)
		got, err := st.svc.Get(ctx, localtest.Admin, other.Token.ID)
		require.NoError(t, err)
		require.Equal(t, token.StatusRevoked, got.Status)
	})
	_ = pending
	require.Empty(t, errs.take(), "no errors in the page")
}

// TestConsolePrincipals walks an administrator through the Principals pages at 1280 and
// 375 px: add a principal (a refusal first, in whole sentences), its page, a token for it
// through its Tokens tab's "+ Add", an enrollment mail (read back from the SES emulator),
// and an edit of its roles and email; no page is wider than the window, none logs an error.
func TestConsolePrincipals(t *testing.T) {
	localtest.SES(t)
	cat, err := access.ParseCatalog([]byte(`{"roles": {"reader": {"description": "Reads tokens", "scopes": ["tokens:read"]},
		"writer": {"description": "Manages its own tokens", "scopes": ["tokens:read", "tokens:write"]}}}`))
	require.NoError(t, err)
	st := newConsoleStack(t, cat)
	tb := st.svc.Store.(*store.Table)
	ctx := context.Background()
	b := browser(t)
	shots := screenshotDir(t)
	errs := watchErrors(t, b)
	console := st.url + "/console/"
	require.NoError(t, chromedpNavigate(b, console))
	fill(t, b, "textbox", "API token", st.root)
	click(t, b, "button", "Sign in")
	waitJS(t, b, `document.querySelector("main").dataset.ready === "tokens"`)
	ready := func(what string) { waitJS(t, b, `document.querySelector("main").dataset.ready === "`+what+`"`) }

	for _, size := range []struct{ w, h int64 }{{1280, 900}, {375, 800}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			require.NoError(t, chromedp.Do(b, chromedp.EmulateViewport(size.w, size.h)))
			id := fmt.Sprintf("dana-%d", size.w)
			addr := localtest.Address("dana")
			require.NoError(t, chromedpNavigate(b, console+"#/principals"))
			ready("principals")
			fits(t, b, "principals")

			click(t, b, "button", "Add principal")
			ax(t, b, "heading", "Add principal")
			ax(t, b, "checkbox", "Superuser") // root is a superuser
			fits(t, b, "add principal dialog")
			fill(t, b, "textbox", "ID", id)
			click(t, b, "button", "Add")
			waitJS(t, b, `document.querySelector("#add-principal [data-field=name]").textContent !== ""`)
			msg := eval[string](t, b, `document.querySelector("#add-principal [data-field=name]").textContent`)
			require.Regexp(t, `^Name .+\.$`, msg, "a refusal as a whole sentence")
			for _, e := range errs.take() {
				require.Regexp(t, `\b400\b.*/principals$`, e, "only the refusal")
			}
			fill(t, b, "textbox", "Name", "Dana")
			fill(t, b, "textbox", "Email", addr)
			click(t, b, "checkbox", "reader")
			click(t, b, "button", "Add")
			ready("principal-Details")
			require.Contains(t, eval[string](t, b, `document.getElementById("principal-status").textContent`), "An enrollment mail went to "+addr)
			require.Len(t, localtest.Mails(t, addr), 1, "the enrollment mail, once")
			meta := eval[string](t, b, `document.querySelector("dl.meta").textContent`)
			require.Contains(t, meta, addr)
			require.Contains(t, meta, "reader")
			fits(t, b, "principal page")
			if size.w == 375 {
				screenshot(t, b, shots, "console-phone-principal")
			}

			click(t, b, "button", "Send enrollment")
			waitJS(t, b, `document.getElementById("principal-status").textContent.startsWith("An enrollment mail went to")`)
			require.Len(t, localtest.Mails(t, addr), 2, "sent again")
			require.NotRegexp(t, enrollSecret, eval[string](t, b, `document.body.textContent`), "the admin never sees the enrollment secret")

			click(t, b, "button", "Edit")
			ax(t, b, "heading", "Edit "+id)
			fits(t, b, "edit dialog")
			click(t, b, "checkbox", "reader")
			click(t, b, "checkbox", "writer")
			click(t, b, "button", "Save")
			waitJS(t, b, `document.querySelector("main").dataset.ready === "principal-Details" && document.getElementById("principal-status").textContent.startsWith("Saved")`)
			require.Contains(t, eval[string](t, b, `document.querySelector("dl.meta").textContent`), "writer")
			p, err := tb.GetPrincipal(ctx, id)
			require.NoError(t, err)
			require.Equal(t, []string{"writer"}, p.Roles)
			require.Equal(t, addr, p.Email)

			click(t, b, "tab", "Tokens")
			ready("principal-Tokens")
			require.Contains(t, eval[string](t, b, `document.querySelector("table[aria-label=Tokens]").textContent`), "has no tokens yet")
			fits(t, b, "principal tokens")
			click(t, b, "button", "+ Add")
			ax(t, b, "heading", "Generate token")
			require.Contains(t, eval[string](t, b, `document.getElementById("gen-owner").textContent`), id)
			fill(t, b, "textbox", "Token name", "dana's laptop")
			click(t, b, "checkbox", "tokens:read")
			click(t, b, "button", "Generate")
			click(t, b, "button", "Copy")
			secret := eval[string](t, b, `document.getElementById("new-token").value`)
			require.Regexp(t, `^tg_`, secret)
			click(t, b, "button", "Done")
			waitJS(t, b, `document.querySelector("main").dataset.ready === "principal-Tokens" && document.querySelector("table[aria-label=Tokens] tr[data-id]") !== null`)
			tokID := eval[string](t, b, `document.querySelector("table[aria-label=Tokens] tr[data-id]").dataset.id`)
			tok, err := st.svc.Get(ctx, localtest.Admin, token.ID(tokID))
			require.NoError(t, err)
			require.Equal(t, id, tok.OwnerID, "the token is the principal's")
			require.Equal(t, "dana's laptop", tok.Name)
			require.NotContains(t, eval[string](t, b, `document.body.textContent + JSON.stringify(sessionStorage) + JSON.stringify(localStorage)`), secret,
				"the secret is gone once the dialog closes")
			fits(t, b, "principal tokens, one token")
			require.Empty(t, errs.take(), "no errors in the page")
		})
	}
}

// TestConsoleUsesChart: a token's Overview draws its uses of the last 30 days as 30 bars,
// each labelled with its day and count, with the total and the largest day as text, at
// 1280 and at 375 px without sideways scrolling or an error in the page; a token without
// uses in that time gets one line instead of an empty chart.
func TestConsoleUsesChart(t *testing.T) {
	st := newConsoleStack(t)
	tb := st.svc.Store.(*store.Table)
	ctx := context.Background()
	busy, err := st.svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "busy", Scopes: []string{access.TokensRead}})
	require.NoError(t, err)
	idle, err := st.svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "idle", Scopes: []string{access.TokensRead}})
	require.NoError(t, err)
	now := time.Now().UTC()
	day := func(ago int) string { return now.AddDate(0, 0, -ago).Format(token.DayFormat) }
	for _, u := range []struct {
		ago int
		n   int64
	}{{40, 500}, {29, 1}, {1, 12}, {0, 3}} { // oldest first, as flushes come
		require.NoError(t, tb.RecordUse(ctx, busy.Token.ID, u.n, now.AddDate(0, 0, -u.ago), "192.0.2.9"))
	}
	require.NoError(t, tb.RecordUse(ctx, idle.Token.ID, 7, now.AddDate(0, 0, -35), "192.0.2.9"))

	b := browser(t)
	shots := screenshotDir(t)
	errs := watchErrors(t, b)
	console := st.url + "/console/"
	require.NoError(t, chromedpNavigate(b, console))
	fill(t, b, "textbox", "API token", st.root)
	click(t, b, "button", "Sign in")
	waitJS(t, b, `document.querySelector("main").dataset.ready === "tokens"`)

	for _, size := range []struct{ w, h int64 }{{1280, 900}, {375, 800}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			require.NoError(t, chromedp.Do(b, chromedp.EmulateViewport(size.w, size.h)))
			require.NoError(t, chromedpNavigate(b, console+"#/tokens/"+string(busy.Token.ID)))
			waitJS(t, b, `document.querySelector("main").dataset.ready === "detail-Overview"`)
			ax(t, b, "heading", "Uses, last 30 days")
			require.Equal(t, 30, eval[int](t, b, `document.querySelectorAll("figure.uses svg rect").length`))
			require.Equal(t, []string{day(29), day(0)}, eval[[]string](t, b, `[...document.querySelectorAll("figure.uses svg rect")].filter((r, i, all) => i === 0 || i === all.length - 1).map(r => r.dataset.day)`),
				"oldest first, ending today")
			require.Equal(t, day(1)+": 12 uses", eval[string](t, b, `document.querySelector("figure.uses rect[data-day='`+day(1)+`'] title").textContent`))
			// Each bar is an image to a screen reader (role img; chromium names the role "image").
			ax(t, b, "image", day(1)+": 12 uses")
			ax(t, b, "image", day(29)+": 1 use")
			ax(t, b, "image", day(2)+": 0 uses")
			require.Equal(t, "16 uses in the last 30 days", eval[string](t, b, `document.querySelector("figure.uses .uses-total").textContent`), "day 40 is outside the window")
			require.Equal(t, "12", eval[string](t, b, `document.querySelector("figure.uses .uses-max").textContent`))
			require.True(t, eval[bool](t, b, `(() => { const r = document.querySelector("figure.uses svg").getBoundingClientRect(); return r.width > 100 && r.left >= 0 && r.right <= innerWidth; })()`),
				"the chart scales to its container")
			require.True(t, eval[bool](t, b, `(() => { const r = [...document.querySelectorAll("figure.uses rect")].map(e => e.getBoundingClientRect()); return r.every((x, i) => i === 0 || x.left > r[i - 1].left) && r[28].height > r[29].height && r[29].height > r[0].height; })()`),
				"bars left to right, as high as their counts")
			fits(t, b, "overview with uses")
			_ = eval[bool](t, b, `(document.querySelector("figure.uses").scrollIntoView(), true)`)
			screenshot(t, b, shots, fmt.Sprintf("console-uses-%d", size.w))

			require.NoError(t, chromedpNavigate(b, console+"#/tokens/"+string(idle.Token.ID)))
			waitJS(t, b, `document.querySelector("main").dataset.ready === "detail-Overview"`)
			require.Equal(t, "No uses in the last 30 days", eval[string](t, b, `document.querySelector("figure.uses p").textContent`))
			require.Equal(t, 0, eval[int](t, b, `document.querySelectorAll("figure.uses svg").length`), "no empty chart")
			require.Equal(t, "7", eval[string](t, b, `[...document.querySelectorAll("dl.meta dt")].find(dt => dt.textContent === "Uses").nextElementSibling.textContent`))
			fits(t, b, "overview without uses")
			require.Empty(t, errs.take(), "no errors in the page")
		})
	}
}

// TestConsoleSettings: a superuser changes the run-time settings on the Settings page,
// refusals name the field beside it, what was saved is what the API and notifier read;
// an admin who is no superuser sees them read only. The Security tab sets onReuse. Both
// at 1280 and 375 px, with no page wider than the window and no errors in the page.
func TestConsoleSettings(t *testing.T) {
	st := newConsoleStack(t)
	tb := st.svc.Store.(*store.Table)
	ctx := context.Background()
	b := browser(t)
	shots := screenshotDir(t)
	errs := watchErrors(t, b)
	console := st.url + "/console/"
	ready := func(what string) { waitJS(t, b, `document.querySelector("main").dataset.ready === "`+what+`"`) }
	signIn := func(tok string) {
		require.NoError(t, chromedpNavigate(b, console))
		_ = eval[bool](t, b, `(sessionStorage.clear(), true)`)
		require.NoError(t, chromedpReload(b))
		fill(t, b, "textbox", "API token", tok)
		click(t, b, "button", "Sign in")
		ready("tokens")
	}
	signIn(st.root)
	for i, size := range []struct{ w, h int64 }{{1280, 900}, {375, 800}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			require.NoError(t, chromedp.Do(b, chromedp.EmulateViewport(size.w, size.h)))
			require.NoError(t, chromedpNavigate(b, console+"#/settings"))
			ready("settings")
			fits(t, b, "settings")
			require.Equal(t, []string{"7", "14"}[i], eval[string](t, b, `document.getElementById("set-detectionWindow").value`), "in days: the 168h default, then what was saved")

			// A refusal beside its field, as a whole sentence, and nothing saved.
			days := fmt.Sprint(14 + i)
			fill(t, b, "spinbutton", "Detection window (days)", days)
			fill(t, b, "textbox", "Extra recipients of expiry notices", "security@example.com\nnot-an-address")
			click(t, b, "button", "Save settings")
			waitJS(t, b, `document.querySelector("form[aria-label=Settings] [data-field=recipients]").textContent !== ""`)
			require.Regexp(t, `^Extra recipients \(item 2\) is not an email address`, eval[string](t, b, `document.querySelector("form[aria-label=Settings] [data-field=recipients]").textContent`))
			require.Regexp(t, `^Reason is required`, eval[string](t, b, `document.querySelector("form[aria-label=Settings] [data-field=reason]").textContent`))
			for _, e := range errs.take() {
				require.Regexp(t, `\b400\b.*/settings$`, e, "only the refusal")
			}
			stored, err := tb.GetSettings(ctx)
			require.NoError(t, err)
			require.EqualValues(t, i, stored.Version, "a refusal changes nothing")
			require.False(t, eval[bool](t, b, `document.querySelector("#set-detectionWindow").closest(".setting").querySelector("input[type=checkbox]").checked`),
				"typing a value turns off the default")
			fits(t, b, "settings with errors")

			fill(t, b, "textbox", "Extra recipients of expiry notices", "security@example.com")
			fill(t, b, "textbox", "Reason for this change", "two weeks' notice")
			click(t, b, "button", "Save settings")
			waitJS(t, b, `document.querySelector("main").dataset.ready === "settings" && document.getElementById("settings-status").textContent.startsWith("Saved")`)
			require.Contains(t, eval[string](t, b, `document.getElementById("settings-changed").textContent`), "Last changed by root")
			stored, err = tb.GetSettings(ctx)
			require.NoError(t, err)
			require.EqualValues(t, i+1, stored.Version)
			require.Equal(t, time.Duration(14+i)*24*time.Hour, *stored.DetectionWindow)
			require.Equal(t, []string{"security@example.com"}, *stored.Recipients)
			require.Nil(t, stored.Backoff, "a field left alone stays the default")
			fits(t, b, "settings saved")
			if size.w == 375 {
				screenshot(t, b, shots, "console-phone-settings")
			} else {
				screenshot(t, b, shots, "console-settings")
			}

			// onReuse on the Security tab.
			c, err := st.svc.Create(ctx, access.Caller{OwnerID: "root", TokenID: "x", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin}},
				token.CreateInput{Name: fmt.Sprintf("deploy %d", size.w), Scopes: []string{access.TokensRead}, ExpiresIn: "1m"})
			require.NoError(t, err)
			require.NoError(t, chromedpNavigate(b, console+"#/tokens/"+string(c.Token.ID)+"/security"))
			ready("detail-Security")
			click(t, b, "radio", "Alert and revoke this token and its temporary children")
			fill(t, b, "textbox", "Reason for this change", "CI secret: revoke on reuse")
			_ = eval[bool](t, b, `(document.querySelector("form[aria-label='Security settings']").dataset.before = "1", true)`)
			click(t, b, "button", "Save restrictions")
			waitJS(t, b, `document.querySelector("main").dataset.ready === "detail-Security" && !document.querySelector("form[aria-label='Security settings']").dataset.before && document.querySelector("input[name=onReuse][value=revoke]").checked`)
			tok, err := st.svc.Get(ctx, localtest.Admin, c.Token.ID)
			require.NoError(t, err)
			require.Equal(t, token.ReuseRevoke, tok.OnReuse)
			fits(t, b, "security tab")
			require.Empty(t, errs.take(), "no errors in the page")
		})
	}

	// An admin who is no superuser reads them, and cannot change them.
	signIn(st.admin)
	require.NoError(t, chromedpNavigate(b, console+"#/settings"))
	ready("settings")
	require.Contains(t, eval[string](t, b, `document.querySelector("main").textContent`), "Only a superuser may change these.")
	require.True(t, eval[bool](t, b, `document.getElementById("set-detectionWindow").disabled`))
	require.Equal(t, 0, eval[int](t, b, `document.querySelectorAll("form[aria-label=Settings] button[type=submit]").length`))
	require.Equal(t, "15", eval[string](t, b, `document.getElementById("set-detectionWindow").value`))
	require.Empty(t, errs.take(), "no errors in the page")
}
