// Package lambdaruntime runs a function that answers one JSON event with one JSON answer
// on Lambda's Runtime API (the loop aws-lambda-go's lambda.Start runs), in about a
// hundred lines and without an HTTP client: the Runtime API is plain HTTP/1.1 on a
// local address, so net/http's Transport and crypto/tls, which lambda.Start links for
// it, are not needed. That keeps every HTTP function about 2.5 MB smaller and its cold
// start shorter. The authorizer keeps lambda.Start: it registers an extension and
// handles SIGTERM.
package lambdaruntime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Handler answers one event; its answer is marshalled to JSON.
type Handler func(ctx context.Context, event json.RawMessage) (any, error)

// Start serves h on the Runtime API at AWS_LAMBDA_RUNTIME_API until the process ends.
// It returns only if the Runtime API cannot be reached (the caller exits).
func Start(h Handler) error {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		return errors.New("lambda runtime: AWS_LAMBDA_RUNTIME_API is not set: this binary runs under Lambda or its runtime interface emulator")
	}
	c := &client{addr: api}
	for {
		if err := c.serveOne(h); err != nil {
			return err
		}
	}
}

// client is one keep-alive connection to the Runtime API, dialled again when it breaks.
type client struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
}

// serveOne takes the next event, answers it and reports the answer.
func (c *client) serveOne(h Handler) error {
	res, body, err := c.do(http.MethodGet, "/2018-06-01/runtime/invocation/next", nil, nil)
	if err != nil {
		return fmt.Errorf("lambda runtime: next invocation: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("lambda runtime: next invocation: status %d", res.StatusCode)
	}
	id := res.Header.Get("Lambda-Runtime-Aws-Request-Id")
	ctx := context.Background()
	if ms, err := strconv.ParseInt(res.Header.Get("Lambda-Runtime-Deadline-Ms"), 10, 64); err == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.UnixMilli(ms))
		defer cancel()
	}
	if trace := res.Header.Get("Lambda-Runtime-Trace-Id"); trace != "" {
		os.Setenv("_X_AMZN_TRACE_ID", trace) // as the Lambda runtimes do, for the X-Ray SDK
	} else {
		os.Unsetenv("_X_AMZN_TRACE_ID")
	}
	out, herr := invoke(ctx, h, body)
	var payload []byte
	if herr == nil {
		if payload, herr = json.Marshal(out); herr != nil {
			herr = fmt.Errorf("marshal the answer: %w", herr)
		}
	}
	path, header := "/2018-06-01/runtime/invocation/"+id+"/response", http.Header{}
	if herr != nil {
		path = "/2018-06-01/runtime/invocation/" + id + "/error"
		payload = errorPayload(herr)
		header.Set("Lambda-Runtime-Function-Error-Type", "Unhandled")
	}
	res, _, err = c.do(http.MethodPost, path, header, payload)
	if err != nil {
		return fmt.Errorf("lambda runtime: report invocation %s: %w", id, err)
	}
	if res.StatusCode != http.StatusAccepted {
		// Lambda refuses an answer too large (413) or for an invocation already timed
		// out; the next event still comes.
		slog.Error("lambda runtime: answer refused", "requestId", id, "status", res.StatusCode)
	}
	return nil
}

// invoke runs h, turning a panic into an error answer rather than a crashed instance.
func invoke(ctx context.Context, h Handler, event []byte) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			slog.ErrorContext(ctx, "handler panicked", "panic", fmt.Sprint(p))
			out, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return h(ctx, event)
}

// errorPayload is the Runtime API's error body; the message is the handler's error,
// which the functions keep free of secrets like every error they return.
func errorPayload(err error) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{err.Error(), strings.TrimPrefix(fmt.Sprintf("%T", err), "*")})
	return b
}

// do sends one request on the connection, redialling once if the kept one broke.
func (c *client) do(method, path string, header http.Header, body []byte) (*http.Response, []byte, error) {
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		if c.conn == nil {
			conn, err := net.Dial("tcp", c.addr)
			if err != nil {
				return nil, nil, err
			}
			c.conn, c.r = conn, bufio.NewReader(conn)
		}
		res, resBody, err := c.roundTrip(method, path, header, body)
		if err == nil {
			return res, resBody, nil
		}
		c.conn.Close()
		c.conn, lastErr = nil, err
	}
	return nil, nil, lastErr
}

func (c *client) roundTrip(method, path string, header http.Header, body []byte) (*http.Response, []byte, error) {
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, path, c.addr, len(body))
	if body != nil {
		req.WriteString("Content-Type: application/json\r\n")
	}
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	req.WriteString("\r\n")
	req.Write(body)
	if _, err := c.conn.Write(req.Bytes()); err != nil {
		return nil, nil, err
	}
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, err
	}
	if res.Close {
		c.conn.Close()
		c.conn = nil
	}
	return res, b, nil
}
