package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tokengate/infra/localtest"
)

// BenchmarkLocalColdStart starts the authorizer binary as Lambda would, against the local
// stack, and times process start to ready: the moment it asks the Lambda runtime API
// for its first event (served here by a stub that only answers that request). The
// pepper load (a DynamoDB Query and a KMS Decrypt) is reported apart, from the binary's
// own "cold start" log line, and subtracted in "ready-without-pepper-ms".
func BenchmarkLocalColdStart(b *testing.B) {
	tb := localtest.Table(b)
	localtest.Keyring(b, tb) // creates the pepper, as the first deployment would
	bin := filepath.Join(b.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	ready := make(chan time.Time, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/invocation/next") {
			select {
			case ready <- time.Now():
			default:
			}
			<-r.Context().Done() // hold the request: the process is killed next
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer api.Close()

	var total, pepper time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "TABLE_NAME="+tb.Name, "KMS_KEY_ID="+localtest.KMSKey(b),
			"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(api.URL, "http://"))
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		var at time.Time
		select {
		case at = <-ready:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			b.Fatal("the authorizer never became ready")
		}
		total += at.Sub(start)
		_ = cmd.Process.Kill()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var line struct {
				Msg          string  `json:"msg"`
				PepperLoadMs float64 `json:"pepperLoadMs"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "cold start" {
				pepper += time.Duration(line.PepperLoadMs * float64(time.Millisecond))
			}
		}
		_ = cmd.Wait()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(total.Microseconds())/1000/n, "ready-ms")
	b.ReportMetric(float64(pepper.Microseconds())/1000/n, "pepper-load-ms")
	b.ReportMetric(float64((total-pepper).Microseconds())/1000/n, "ready-without-pepper-ms")
}
