package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/boot"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// BenchmarkLocalGatewayEcho compares, side by side in one run, the local gateway's
// GET /demo/echo (routing, the authorizer with the token cached, the handler, the access
// log) with a bare net/http handler answering the same JSON, both on loopback under 16
// concurrent keep-alive clients making b.N requests each. It reports requests/s, p50 and
// p99 of each and the ratio of the requests/s. Logs are formatted, then discarded.
func BenchmarkLocalGatewayEcho(b *testing.B) {
	svc := localtest.Service(b, nil)
	tb := svc.Store.(*store.Table)
	deps := &boot.Deps{
		Settings: boot.Settings{TableName: tb.Name, Prefix: "tg", Policy: svc.Policy, AuthCacheTTL: 30 * time.Second, UsageFlushInterval: time.Minute},
		Table:    tb, Keys: svc.Keys, Catalog: svc.Catalog,
	}
	devnull, _ := os.Open(os.DevNull)
	stderr := os.Stderr
	os.Stderr = devnull // the gateway's access log: formatted, then discarded
	s, err := NewServer(localtest.Template(b), deps)
	os.Stderr = stderr
	if err != nil {
		b.Fatal(err)
	}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	defer slog.SetDefault(old)
	tok, err := svc.Create(context.Background(), adminCaller, token.CreateInput{Name: "bench", Scopes: []string{access.TokensRead}, Reason: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	gw := httptest.NewServer(s.Handler) // 127.0.0.1
	defer gw.Close()
	caller := access.Caller{TokenID: string(tok.Token.ID), OwnerID: "admin", Scopes: []string{access.TokensRead}, Risk: access.RiskLow}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := json.Marshal(map[string]any{
			"message":    "Hello from an API protected by the tokengate authorizer.",
			"authorizer": caller.Context(),
		})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}))
	defer bare.Close()

	const clients = 16
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2}, Timeout: 10 * time.Second}
	auth := "Bearer " + tok.Plaintext.Reveal()
	run := func(url string, n int) (rps float64, p50, p99 time.Duration) {
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
		elapsed := time.Since(start)
		all := slices.Concat(lat...)
		slices.Sort(all)
		if len(all) == 0 {
			b.Fatal("no request completed")
		}
		return float64(len(all)) / elapsed.Seconds(), all[len(all)/2], all[len(all)*99/100]
	}
	run(gw.URL, 20) // warm: connections, the token in the cache
	run(bare.URL, 20)
	b.ResetTimer()
	// Alternate the two, twice each, so the machine's noise hits them alike; keep the sums.
	var gwN, bareN, gwT, bareT float64
	var gwLat, bareLat [2]time.Duration
	for round := 0; round < 2; round++ {
		for _, side := range []string{"bare", "gateway"} {
			url := bare.URL
			if side == "gateway" {
				url = gw.URL
			}
			rps, p50, p99 := run(url, b.N/2+1)
			n := float64(clients * (b.N/2 + 1))
			if side == "gateway" {
				gwN, gwT = gwN+n, gwT+n/rps
				gwLat = [2]time.Duration{max(gwLat[0], p50), max(gwLat[1], p99)}
			} else {
				bareN, bareT = bareN+n, bareT+n/rps
				bareLat = [2]time.Duration{max(bareLat[0], p50), max(bareLat[1], p99)}
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(gwN/gwT, "gateway-req/s")
	b.ReportMetric(bareN/bareT, "bare-req/s")
	b.ReportMetric((gwN/gwT)/(bareN/bareT), "gateway/bare")
	b.ReportMetric(float64(gwLat[0].Microseconds()), "gateway-p50-µs")
	b.ReportMetric(float64(gwLat[1].Microseconds()), "gateway-p99-µs")
	b.ReportMetric(float64(bareLat[0].Microseconds()), "bare-p50-µs")
	b.ReportMetric(float64(bareLat[1].Microseconds()), "bare-p99-µs")
}
