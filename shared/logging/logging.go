// Package logging sets up the JSON log every function writes and times its cold start.
// It is a leaf: a function that needs no AWS client (the console, the demo) imports this
// and not boot, so it links none.
package logging

import (
	"io"
	"log/slog"
	"os"
	"time"
)

// Setup installs the JSON logger on standard output, where Lambda sends it to CloudWatch.
func Setup() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	output = os.Stdout
}

// output is where Setup sends the log (nil before it runs).
var output io.Writer

// Output is where Setup sends the log, for lines written by hand on the hot path (the
// authorizer's decisions); nil before Setup.
func Output() io.Writer { return output }

// ColdStart logs how long this cold start took, from process start until the function
// is ready for its first event, with attrs added: one line per instance, for dashboards
// and for the local gateway's report of init times under the Lambda emulator.
func ColdStart(attrs ...any) {
	function := os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
	slog.Info("cold start", append([]any{"function", function, "initMs", Ms(SinceStart())}, attrs...)...)
}

// Fatal logs that the cold start failed, and why, and exits: Lambda then reports the
// init error and starts a new instance for the next event.
func Fatal(err error) {
	slog.Error("cold start failed", "err", err)
	os.Exit(1)
}

// SinceStart is the time since the process started (as close as Go code gets: when this
// package initialised).
func SinceStart() time.Duration { return time.Since(processStart) }

var processStart = time.Now()

// Ms is d in milliseconds with microsecond precision, as the log lines give durations.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
