package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Browser tests drive Debian's chromium (make test installs it when missing) through
// chromedp. Under CI=true a missing browser fails the test.

// browser starts a headless chromium with a fresh profile and returns a tab; the browser
// ends with the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		why := "no chromium on PATH: `make test` installs it (apt-get install chromium)"
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 860))
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "start chromium")
	return ctx
}

// tab opens another tab in its own browser context: its own sessionStorage.
func tab(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")))
	return ctx
}

// ax finds the element with this accessible role and exact name in the page's
// accessibility tree (what a screen reader sees), waiting up to 10 s for it.
func ax(t *testing.T, ctx context.Context, role, name string) cdp.BackendNodeID {
	t.Helper()
	id, err := findAX(ctx, role, name, 10*time.Second)
	require.NoError(t, err, "no %s named %q", role, name)
	return id
}

func findAX(ctx context.Context, role, name string, wait time.Duration) (cdp.BackendNodeID, error) {
	deadline := time.Now().Add(wait)
	for {
		doc, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{Expression: "document"})
		if err != nil {
			return 0, err
		}
		res, err := chromedp.Call(ctx, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{
			ObjectID: doc.Result.ObjectID, AccessibleName: name, Role: role,
		})
		if err != nil {
			return 0, err
		}
		for _, n := range res.Nodes {
			if !n.Ignored && n.BackendDOMNodeID != 0 {
				return n.BackendDOMNodeID, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("not found within %s", wait)
		}
		if err := chromedp.Do(ctx, chromedp.Sleep(50*time.Millisecond)); err != nil { // polling, as WaitVisible does
			return 0, err
		}
	}
}

// on calls the JavaScript function fn with the element as this.
func on(t *testing.T, ctx context.Context, id cdp.BackendNodeID, fn string, args ...any) {
	t.Helper()
	obj, err := chromedp.Call(ctx, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: id})
	require.NoError(t, err)
	var callArgs []*runtime.CallArgument
	for _, a := range args {
		b, _ := json.Marshal(a)
		callArgs = append(callArgs, &runtime.CallArgument{Value: b})
	}
	res, err := chromedp.Call(ctx, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: fn, ObjectID: obj.Object.ObjectID, Arguments: callArgs,
	})
	require.NoError(t, err)
	require.Nil(t, res.ExceptionDetails, "%s threw", fn)
}

func click(t *testing.T, ctx context.Context, role, name string) {
	t.Helper()
	on(t, ctx, ax(t, ctx, role, name), "function() { this.focus(); this.click(); }")
}

// fill sets a labelled control's value the way typing would, with the input and change events.
func fill(t *testing.T, ctx context.Context, role, name, value string) {
	t.Helper()
	on(t, ctx, ax(t, ctx, role, name), `function(v) { this.value = v; this.dispatchEvent(new Event("input", {bubbles: true})); this.dispatchEvent(new Event("change", {bubbles: true})); }`, value)
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(t, err, js)
	return v
}

// waitJS waits until the expression is true.
func waitJS(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.JSPath(`(`+js+`) ? document.body : null`))), "waiting for %s", js)
}

// screenshot saves a PNG of the page: into TG_SCREENSHOTS_DIR (make screenshots) or the
// test's temporary directory.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	writePNG(t, filepath.Join(dir, name+".png"), raw)
}

// writePNG writes a screenshot recompressed at png.BestCompression, to keep docs/img small.
func writePNG(t *testing.T, path string, raw []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

func screenshotDir(t *testing.T) string {
	if d := os.Getenv("TG_SCREENSHOTS_DIR"); d != "" {
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.TempDir()
}

// httpStatus sends a request with a token through the gateway.
func httpStatus(t *testing.T, method, url, tok string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

func chromedpNavigate(ctx context.Context, url string) error {
	return chromedp.Do(ctx, chromedp.Navigate(url))
}

func chromedpReload(ctx context.Context) error { return chromedp.Do(ctx, chromedp.Reload()) }

// listenDialogs reports every JavaScript dialog (alert, confirm) a page opens, and
// dismisses it.
func listenDialogs(ctx context.Context, out chan<- string) error {
	return chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			select {
			case out <- d.Message:
			default:
			}
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}()
		}
	})
}

// pageErrors gathers what a tab reports as wrong: uncaught exceptions, console.error,
// log entries of level error (a CSP violation, a failed load) and responses of 400 or
// more (a favicon.ico 404 among them).
type pageErrors struct {
	mu   sync.Mutex
	list []string
}

func watchErrors(t *testing.T, ctx context.Context) *pageErrors {
	t.Helper()
	p := &pageErrors{}
	add := func(s string) { p.mu.Lock(); p.list = append(p.list, s); p.mu.Unlock() }
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			add("exception: " + msg)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				add("console.error")
			}
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				add("log: " + e.Entry.Text + " " + e.Entry.URL)
			}
		case *network.EventResponseReceived:
			if e.Response.Status >= 400 {
				add(fmt.Sprintf("HTTP %d %s", e.Response.Status, e.Response.URL))
			}
		}
	}))
	return p
}

// take returns the errors gathered since the last take.
func (p *pageErrors) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.list
	p.list = nil
	return out
}

// fits checks the page is no wider than the window (no sideways scrolling) and that
// Sign out, when signed in, is on screen.
func fits(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	w := eval[int](t, ctx, `innerWidth`)
	require.LessOrEqual(t, eval[int](t, ctx, `document.scrollingElement.scrollWidth`), w, "%s: wider than the %d px window", where, w)
	if eval[bool](t, ctx, `!document.getElementById("signout").hidden`) {
		require.True(t, eval[bool](t, ctx, `(() => { const r = document.getElementById("signout").getBoundingClientRect(); return r.left >= 0 && r.right <= innerWidth && r.width > 0; })()`),
			"%s: Sign out is on screen", where)
	}
}
