package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"tokengate/infra/localstack"
)

// soak is `tglocal soak`: it starts the local gateway in its own process on a free
// loopback port, against the stack the environment names (make soak: the test stack),
// on a table and key of its own, and drives it at a bounded rate for a bounded time with
// a mix of creates, lists, rotations, revocations and authorized calls (vegeta). It
// reports throughput, p50 and p99 per operation, the errors, and the gateway's memory
// and goroutines at the start and the end.
func soak(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	state := fs.String("state", ".local/soak", "state folder of the soak's table, key and admin token (made fresh)")
	tmpl := fs.String("template", "template.yaml", "the SAM template")
	duration := fs.Duration("duration", 10*time.Minute, "how long to drive the gateway")
	rate := fs.Int("rate", 40, "requests per second (below the stage throttle of template.yaml, 100/s)")
	if err := fs.Parse(args); err != nil {
		return &exitError{2, err.Error()}
	}
	if err := os.RemoveAll(*state); err != nil {
		return err
	}
	if err := os.MkdirAll(*state, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*state, "table-name"), []byte(fmt.Sprintf("soak-%d", time.Now().UnixNano())), 0o644); err != nil {
		return err
	}
	if err := setup(ctx, *state, *tmpl); err != nil {
		return fmt.Errorf("soak setup: %w", err)
	}
	tokenFile := filepath.Join(*state, "admin-token")
	if err := bootstrap(ctx, []string{"-state", *state, "-token-file", tokenFile, "-email", "soak@localhost", "-name", "Soak admin"}); err != nil {
		return fmt.Errorf("soak bootstrap: %w", err)
	}
	admin, err := os.ReadFile(tokenFile)
	if err != nil {
		return err
	}

	addr, statsAddr := freeAddr(), freeAddr()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(*state, "gateway.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	gw := exec.CommandContext(ctx, self, "serve", "-state", *state, "-template", *tmpl, "-addr", addr, "-stats-addr", statsAddr)
	gw.Stdout, gw.Stderr = logFile, logFile
	if err := gw.Start(); err != nil {
		return err
	}
	defer func() { _ = gw.Process.Signal(os.Interrupt); _ = gw.Wait() }()
	base := "http://" + addr
	if err := waitReady(ctx, base+"/scopes", strings.TrimSpace(string(admin))); err != nil {
		return fmt.Errorf("soak: the gateway did not start (%s): %w", logFile.Name(), err)
	}
	before, err := readStats(statsAddr)
	if err != nil {
		return err
	}

	d := newDriver(base, strings.TrimSpace(string(admin)))
	d.seed(ctx, 20)
	fmt.Printf("soak: %s at %d requests/s against %s (gateway log: %s)\n", *duration, *rate, base, logFile.Name())
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}}
	atk := vegeta.NewAttacker(vegeta.Client(client), vegeta.MaxWorkers(64))
	go func() { <-ctx.Done(); atk.Stop() }()
	// The gateway's figures every tenth of the run: flat, or growing.
	samples := []runtimeStats{before}
	sampling := time.NewTicker(max(*duration/10, time.Second))
	defer sampling.Stop()
	results := atk.Attack(d.target, vegeta.ConstantPacer{Freq: *rate, Per: time.Second}, *duration, "soak")
	for done := false; !done; {
		select {
		case res, ok := <-results:
			if !ok {
				done = true
				break
			}
			d.record(res)
		case <-sampling.C:
			if s, err := readStats(statsAddr); err == nil {
				samples = append(samples, s)
			}
		}
	}
	client.CloseIdleConnections()
	time.Sleep(time.Second) // the gateway's connection goroutines end once it sees the close
	after, err := readStats(statsAddr)
	if err != nil {
		return err
	}
	return d.report(os.Stdout, append(samples, after))
}

// freeAddr is a free loopback address.
func freeAddr() string {
	ln, err := net.Listen("tcp", localstack.Host+":0")
	if err != nil {
		return localstack.Host + ":0"
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(ctx context.Context, url, tok string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %d", url, res.StatusCode)
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// runtimeStats is what the gateway's -stats-addr answers.
type runtimeStats struct {
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heapAlloc"`
	HeapInuse  uint64 `json:"heapInuse"`
	Sys        uint64 `json:"sys"`
	RSS        uint64 `json:"rss"`
}

func readStats(addr string) (runtimeStats, error) {
	var s runtimeStats
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		return s, fmt.Errorf("gateway stats: %w", err)
	}
	defer res.Body.Close()
	return s, json.NewDecoder(res.Body).Decode(&s)
}

// serveStats answers the gateway process's runtime figures on addr (loopback), for the
// soak: goroutines after a GC, heap, and resident memory from /proc.
func serveStats(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("stats listen: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		s := runtimeStats{Goroutines: runtime.NumGoroutine(), HeapAlloc: m.HeapAlloc, HeapInuse: m.HeapInuse, Sys: m.Sys, RSS: rss()}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	})}
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// rss is this process's resident set size (Linux /proc), 0 elsewhere.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb uint64
			_, _ = fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10
		}
	}
	return 0
}

// driver makes the requests of the mix and keeps the tokens they create.
type driver struct {
	base, admin string
	mu          sync.Mutex
	pool        []pooled // tokens created and not revoked
	busy        map[string]bool
	metrics     map[string]*vegeta.Metrics
	unexpected  map[string]int // op and status (or error) of answers that are neither success nor 429
}

type pooled struct{ id, secret string }

func newDriver(base, admin string) *driver {
	return &driver{base: base, admin: admin, busy: map[string]bool{}, metrics: map[string]*vegeta.Metrics{}, unexpected: map[string]int{}}
}

const createBody = `{"name":"soak","scopes":["tokens:read"],"type":"temporary"}`

// seed creates n tokens before the clock starts, so every operation has targets.
func (d *driver) seed(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/tokens", strings.NewReader(createBody))
		req.Header.Set("Authorization", "Bearer "+d.admin)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		d.keep(b)
	}
}

func (d *driver) keep(body []byte) {
	var out struct{ ID, Token string }
	if json.Unmarshal(body, &out) == nil && out.ID != "" && out.Token != "" {
		d.mu.Lock()
		d.pool = append(d.pool, pooled{out.ID, out.Token})
		d.mu.Unlock()
	}
}

// pick returns a pooled token no other request is rotating or revoking.
func (d *driver) pick(claim bool) (pooled, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for range 8 {
		if len(d.pool) == 0 {
			return pooled{}, false
		}
		p := d.pool[rand.IntN(len(d.pool))]
		if !d.busy[p.id] {
			if claim {
				d.busy[p.id] = true
			}
			return p, true
		}
	}
	return pooled{}, false
}

// target is the mix: 20% creates, 20% lists, 35% authorized calls (GET /tokens/self
// with a created token), 15% rotations, 10% revocations.
func (d *driver) target(t *vegeta.Target) error {
	t.Header = http.Header{"Authorization": {"Bearer " + d.admin}, "Content-Type": {"application/json"}}
	t.Body = nil
	n := rand.IntN(100)
	switch {
	case n < 20:
		t.Method, t.URL, t.Body = http.MethodPost, d.base+"/tokens", []byte(createBody)
		return nil
	case n < 40:
		t.Method, t.URL = http.MethodGet, d.base+"/tokens?limit=20"
		return nil
	}
	p, ok := d.pick(n >= 75)
	if !ok {
		t.Method, t.URL = http.MethodGet, d.base+"/tokens?limit=20"
		return nil
	}
	switch {
	case n < 75:
		t.Method, t.URL = http.MethodGet, d.base+"/tokens/self"
		t.Header.Set("Authorization", "Bearer "+p.secret)
	case n < 90:
		t.Method, t.URL, t.Body = http.MethodPost, d.base+"/tokens/"+p.id+"/rotate", []byte(`{}`)
	default:
		t.Method, t.URL = http.MethodDelete, d.base+"/tokens/"+p.id
	}
	return nil
}

// op names a request's operation from its method and path.
func op(method, url string) string {
	switch {
	case method == http.MethodPost && strings.HasSuffix(url, "/rotate"):
		return "rotate"
	case method == http.MethodPost:
		return "create"
	case method == http.MethodDelete:
		return "revoke"
	case strings.HasSuffix(url, "/tokens/self"):
		return "authorized"
	}
	return "list"
}

func (d *driver) record(r *vegeta.Result) {
	name := op(r.Method, r.URL)
	d.mu.Lock()
	m := d.metrics[name]
	if m == nil {
		m = &vegeta.Metrics{}
		d.metrics[name] = m
	}
	m.Add(r)
	ok := r.Error == "" && r.Code >= 200 && r.Code < 300
	if !ok && r.Code != http.StatusTooManyRequests {
		key := fmt.Sprintf("%s %d", name, r.Code)
		if r.Error != "" {
			key += " " + r.Error
		}
		d.unexpected[key]++
	}
	id := ""
	if name == "rotate" || name == "revoke" {
		parts := strings.Split(strings.TrimSuffix(r.URL, "/rotate"), "/")
		id = parts[len(parts)-1]
		delete(d.busy, id)
	}
	switch {
	case name == "revoke" && ok:
		d.pool = removeID(d.pool, id)
	case name == "rotate" && ok:
		var out struct{ Token string }
		if json.Unmarshal(r.Body, &out) == nil && out.Token != "" {
			for i := range d.pool {
				if d.pool[i].id == id {
					d.pool[i].secret = out.Token
				}
			}
		}
	}
	d.mu.Unlock()
	if name == "create" && ok {
		d.keep(r.Body)
	}
}

func removeID(pool []pooled, id string) []pooled {
	for i, p := range pool {
		if p.id == id {
			return append(pool[:i], pool[i+1:]...)
		}
	}
	return pool
}

// report prints the figures and fails when an answer was neither a success nor a 429.
func (d *driver) report(w io.Writer, samples []runtimeStats) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	names := make([]string, 0, len(d.metrics))
	var total uint64
	var elapsed time.Duration
	for n, m := range d.metrics {
		m.Close()
		names = append(names, n)
		total += m.Requests
		elapsed = max(elapsed, m.Duration)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\n%-11s %8s %10s %9s %9s %9s  %s\n", "operation", "requests", "success/s", "p50", "p99", "max", "status codes")
	for _, n := range names {
		m := d.metrics[n]
		fmt.Fprintf(w, "%-11s %8d %10.1f %9s %9s %9s  %v\n", n, m.Requests, m.Throughput,
			m.Latencies.P50.Round(10*time.Microsecond), m.Latencies.P99.Round(10*time.Microsecond), m.Latencies.Max.Round(10*time.Microsecond), m.StatusCodes)
	}
	if elapsed > 0 {
		fmt.Fprintf(w, "all         %8d %10.1f requests/s over %s\n", total, float64(total)/elapsed.Seconds(), elapsed.Round(time.Second))
	}
	mb := func(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
	fmt.Fprintf(w, "\ngateway     %10s %10s %10s %10s   (start, every tenth of the run, end after closing the client's connections)\n", "goroutines", "heap", "heap inuse", "rss")
	for i, s := range samples {
		label := fmt.Sprintf("%d", i)
		switch i {
		case 0:
			label = "start"
		case len(samples) - 1:
			label = "end"
		}
		fmt.Fprintf(w, "%-11s %10d %10s %10s %10s\n", label, s.Goroutines, mb(s.HeapAlloc), mb(s.HeapInuse), mb(s.RSS))
	}
	if len(d.unexpected) == 0 {
		fmt.Fprintln(w, "\nerrors: none (429s, if any, are the stage throttle and expected)")
		return nil
	}
	keys := make([]string, 0, len(d.unexpected))
	for k := range d.unexpected {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "\nerrors:")
	for _, k := range keys {
		fmt.Fprintf(w, "  %6d  %s\n", d.unexpected[k], k)
	}
	return errors.New("soak: answers other than successes and 429s")
}
