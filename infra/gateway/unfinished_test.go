package gateway_test

import (
	"bufio"
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/gateway"
	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/api"
)

// TestUnfinishedBodyIsNoServerError: a client that stops sending its body makes the
// gateway's read timeout end the request; the real POST /tokens handler then answers
// 400 (when the client still reads) and logs no ERROR line: it is not a server fault.
// Not parallel: it reads the default logger.
func TestUnfinishedBodyIsNoServerError(t *testing.T) {
	var logs syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	svc := localtest.Service(t, nil)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.CreateToken(api.Issuing{Tokens: svc}).ServeHTTP(w, r.WithContext(access.WithCaller(r.Context(), localtest.Admin)))
	})
	lim := gateway.APIGatewayLimits
	lim.ReadTimeout = 300 * time.Millisecond
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = gateway.Server(h, lim)
	srv.Start()
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("POST /tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":"))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	require.NotContains(t, logs.String(), `"level":"ERROR"`)
	require.Contains(t, logs.String(), "request body not read")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Clone(s.b.String())
}
