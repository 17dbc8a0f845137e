package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// afterEachInvoke runs work after every invocation's answer, off the response path, on
// Lambda: it registers an internal extension (Lambda Extensions API) in the same
// process. Lambda freezes an instance only once the runtime has answered and every
// extension has asked for the next event, so work the extension does after the handler
// returned completes before the freeze without delaying the answer. An internal
// extension may register for INVOKE only: Lambda refuses SHUTDOWN for it (403,
// ShutdownEventNotSupportedForInternalExtension) and sends the runtime SIGTERM instead
// (lambda.WithEnableSIGTERM). The returned function is what the handler calls once it
// has its answer.
func afterEachInvoke(work func(ctx context.Context)) (func(), error) {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		return nil, errors.New("AWS_LAMBDA_RUNTIME_API is not set")
	}
	base := "http://" + api + "/2020-01-01/extension"
	req, err := http.NewRequest(http.MethodPost, base+"/register", strings.NewReader(`{"events":["INVOKE"]}`))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Lambda-Extension-Name", "tokengate-usage")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("register extension: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	res.Body.Close()
	id := res.Header.Get("Lambda-Extension-Identifier")
	if res.StatusCode != http.StatusOK || id == "" {
		return nil, fmt.Errorf("register extension: status %d: %s", res.StatusCode, body)
	}
	answered := make(chan struct{}, 1)
	go func() {
		for {
			req, _ := http.NewRequest(http.MethodGet, base+"/event/next", nil)
			req.Header.Set("Lambda-Extension-Identifier", id)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				slog.Error("usage extension: next event", "err", err)
				return
			}
			var ev struct {
				EventType  string `json:"eventType"`
				DeadlineMs int64  `json:"deadlineMs"`
			}
			err = json.NewDecoder(res.Body).Decode(&ev)
			res.Body.Close()
			if err != nil {
				slog.Error("usage extension: decode event", "err", err)
				return
			}
			deadline := time.UnixMilli(ev.DeadlineMs)
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			select { // the handler's answer first, then the work
			case <-answered:
			case <-ctx.Done():
			}
			work(ctx)
			cancel()
		}
	}()
	return func() {
		select {
		case answered <- struct{}{}:
		default:
		}
	}, nil
}

// LambdaHandler is the handler the authorizer's main starts. Usage counts that are due
// are written after each answer by an internal extension (afterEachInvoke), so no write
// delays a decision; the pending ones are written when Lambda sends SIGTERM (OnSIGTERM,
// which Lambda does because an extension is registered), so no use is lost when an
// instance ends.
func (f *Function) LambdaHandler() func(context.Context, json.RawMessage) (any, error) {
	answered, err := afterEachInvoke(func(ctx context.Context) { f.FlushDue(ctx, time.Now()) })
	if err != nil {
		// Without the extension, due counts are written in the background after each
		// answer; if Lambda freezes the instance first, the write finishes when it next
		// runs (and a failed one is kept for the next flush).
		slog.Warn("usage extension not registered: flushing at the next invocation", "err", err)
		answered = func() { go f.FlushDue(context.Background(), time.Now()) }
	}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		out, err := f.Handle(ctx, raw)
		answered()
		return out, err
	}
}

// OnSIGTERM writes every pending usage count: lambda.WithEnableSIGTERM(f.OnSIGTERM).
func (f *Function) OnSIGTERM() { f.Flush(context.Background()) }
