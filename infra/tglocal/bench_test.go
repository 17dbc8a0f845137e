package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/authorizer"
	"tokengate/shared/boot"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// BenchmarkLocalGatewayEcho compares, side by side in one run, the local gateway's
// GET /demo/echo (routing, the authorizer with the token cached, the handler, the access
// log) with the same handler mounted bare on net/http, both on loopback under 16
// concurrent keep-alive clients making b.N requests each per side. It reports requests/s,
// p50 and p99 of each and the ratio of the requests/s (see the rounds below). Logs are
// formatted, then discarded.
func BenchmarkLocalGatewayEcho(b *testing.B) {
	gwHandler, bareHandler, auth := echoSides(b)
	gw := httptest.NewServer(gwHandler) // 127.0.0.1
	defer gw.Close()
	bare := httptest.NewServer(bareHandler)
	defer bare.Close()

	const clients = 16
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2}, Timeout: 10 * time.Second}
	// run sends n requests from each client and returns how long they took and each
	// request's latency.
	run := func(url string, n int) (time.Duration, []time.Duration) {
		lat := make([][]time.Duration, clients)
		var wg sync.WaitGroup
		start := time.Now()
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				for i := 0; i < n; i++ {
					req, _ := http.NewRequest("GET", url+"/demo/echo", nil)
					req.Header.Set("Authorization", auth)
					t0 := time.Now()
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Errorf("status %d", res.StatusCode)
						return
					}
					lat[c] = append(lat[c], time.Since(t0))
				}
			}(c)
		}
		wg.Wait()
		return time.Since(start), slices.Concat(lat...)
	}
	run(gw.URL, 20) // warm: connections, the token in the cache
	run(bare.URL, 20)
	b.ResetTimer()
	// Sixteen rounds, each the gateway and the bare handler one after the other, which
	// one first alternating: the ratio reported is the median of the rounds' ratios, so a
	// burst of the machine's noise that hits one side of one round moves it little (the
	// ratio of the totals is reported too). p50 and p99 are over every request.
	const rounds = 16
	per := max(b.N/rounds, 1)
	var gwT, bareT time.Duration
	var gwLat, bareLat []time.Duration
	ratios := make([]float64, 0, rounds)
	for round := 0; round < rounds; round++ {
		order := []bool{false, true} // gateway?
		if round%2 == 1 {
			order = []bool{true, false}
		}
		var gwD, bareD time.Duration
		for _, isGateway := range order {
			if isGateway {
				d, l := run(gw.URL, per)
				gwD, gwLat = d, append(gwLat, l...)
			} else {
				d, l := run(bare.URL, per)
				bareD, bareLat = d, append(bareLat, l...)
			}
		}
		gwT, bareT = gwT+gwD, bareT+bareD
		ratios = append(ratios, bareD.Seconds()/gwD.Seconds()) // same requests: the ratio of requests/s
	}
	b.StopTimer()
	if len(gwLat) != len(bareLat) || len(gwLat) != rounds*per*clients {
		b.Fatalf("%d and %d requests completed, not %d a side", len(gwLat), len(bareLat), rounds*per*clients)
	}
	slices.Sort(gwLat)
	slices.Sort(bareLat)
	slices.Sort(ratios)
	gwRPS, bareRPS := float64(len(gwLat))/gwT.Seconds(), float64(len(bareLat))/bareT.Seconds()
	b.ReportMetric(gwRPS, "gateway-req/s")
	b.ReportMetric(bareRPS, "bare-req/s")
	b.ReportMetric((ratios[rounds/2-1]+ratios[rounds/2])/2, "gateway/bare")
	b.ReportMetric(gwRPS/bareRPS, "gateway/bare-overall")
	b.ReportMetric(float64(gwLat[len(gwLat)/2].Microseconds()), "gateway-p50-µs")
	b.ReportMetric(float64(gwLat[len(gwLat)*99/100].Microseconds()), "gateway-p99-µs")
	b.ReportMetric(float64(bareLat[len(bareLat)/2].Microseconds()), "bare-p50-µs")
	b.ReportMetric(float64(bareLat[len(bareLat)*99/100].Microseconds()), "bare-p99-µs")
}

// BenchmarkLocalGatewayInProcess is BenchmarkLocalGatewayEcho without the network: the
// gateway's handler and the bare one called directly with a recorded response, a
// request of each in turn (which first alternating) on every core. It reports the median
// of each in ns and their difference: what the gateway adds to a request (routing, the
// throttle, the authorizer's cache hit and decision line, the access log), with the HTTP
// stack and loopback, which both sides pay, left out.
func BenchmarkLocalGatewayInProcess(b *testing.B) {
	gw, bare, auth := echoSides(b)
	procs := runtime.GOMAXPROCS(0)
	per := max(b.N/procs, 1)
	times := make([][2][]time.Duration, procs)
	var wg sync.WaitGroup
	b.ResetTimer()
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				for k := range 2 {
					side := (i + k) % 2 // 0 gateway, 1 bare
					h := []http.Handler{gw, bare}[side]
					req := httptest.NewRequest("GET", "/demo/echo", nil)
					req.Header.Set("Authorization", auth)
					w := httptest.NewRecorder()
					t0 := time.Now()
					h.ServeHTTP(w, req)
					times[p][side] = append(times[p][side], time.Since(t0))
					if w.Code != http.StatusOK {
						b.Errorf("side %d: status %d", side, w.Code)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	var gwT, bareT []time.Duration
	for _, t := range times {
		gwT, bareT = append(gwT, t[0]...), append(bareT, t[1]...)
	}
	if len(gwT) == 0 || len(bareT) == 0 {
		b.Fatal("no request completed")
	}
	slices.Sort(gwT)
	slices.Sort(bareT)
	g, r := float64(gwT[len(gwT)/2].Nanoseconds()), float64(bareT[len(bareT)/2].Nanoseconds())
	b.ReportMetric(g, "gateway-p50-ns")
	b.ReportMetric(r, "bare-p50-ns")
	b.ReportMetric(g-r, "added-p50-ns")
}

// echoSides is the local gateway with its GET /demo/echo (the stage's throttle raised,
// the token cached after its first request; its access and decision logs formatted,
// then discarded) and the same handler bare, given the caller the gateway's authorizer
// names; and the Authorization header of the token both answer for. The two answer
// alike, byte for byte.
func echoSides(b *testing.B) (gateway, bare http.Handler, authorization string) {
	b.Helper()
	svc := localtest.Service(b, nil)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { devnull.Close() })
	stderr := os.Stderr
	os.Stderr = devnull // the gateway's access log: formatted, then discarded
	// The stage's throttling (ApiRateLimit, 100 requests/s by default) would refuse most
	// of this load: the copy raises every limit, so the bucket is still taken per request.
	tmpl := *localtest.Template(b)
	tmpl.Throttles = slices.Clone(tmpl.Throttles)
	for i := range tmpl.Throttles {
		tmpl.Throttles[i].Rate, tmpl.Throttles[i].Burst = 1e9, 1e9
	}
	s := testServer(b, &tmpl, svc, 30*time.Second, io.Discard) // decision lines: formatted, then discarded
	os.Stderr = stderr
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	b.Cleanup(func() { slog.SetDefault(old) })
	tok, err := svc.Create(context.Background(), localtest.Admin, token.CreateInput{Name: "bench", Scopes: []string{access.TokensRead}, Reason: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	// The caller the gateway's authorizer names, as the bare side's handler gets it.
	decide, _, err := boot.NewAuthorizer(testSettings(svc, 30*time.Second), svc.Store.(*store.Table), svc.Keys, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	d := decide.Check(context.Background(), authorizer.Request{Token: tok.Plaintext.Reveal(), SourceIP: "127.0.0.1", Route: "GET /demo/echo"})
	if !d.Allow {
		b.Fatalf("the authorizer refused the bench token: %s", d.Reason)
	}
	caller := d.Caller
	// The bare side is the same handler the gateway mounts, given the caller directly:
	// the ratio is what the gateway adds (routing, throttling, the authorizer, the log).
	echo := api.DemoEcho()
	bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo.ServeHTTP(w, r.WithContext(access.WithCaller(r.Context(), caller)))
	})
	authorization = "Bearer " + tok.Plaintext.Reveal()
	// Both sides must do the same work: the same answer, byte for byte.
	answer := func(h http.Handler) string {
		req := httptest.NewRequest("GET", "/demo/echo", nil)
		req.Header.Set("Authorization", authorization)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return fmt.Sprint(w.Code, " ", w.Header().Get("Content-Type"), " ", w.Body.String())
	}
	if g, w := answer(s.Handler), answer(bare); g != w {
		b.Fatalf("the gateway answered %s, the bare handler %s", g, w)
	}
	return s.Handler, bare, authorization
}
