package localstack

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The test binary doubles as the supervised service: with TG_LOCALSTACK_HELPER set it
// serves HTTP on the address it is given (with a child process in its group), or fails.
func TestMain(m *testing.M) {
	switch os.Getenv("TG_LOCALSTACK_HELPER") {
	case "serve":
		child := exec.Command("sleep", "300")
		_ = child.Start()
		_ = os.WriteFile(os.Getenv("TG_LOCALSTACK_CHILD"), []byte(strconv.Itoa(child.Process.Pid)), 0o644)
		_ = http.ListenAndServe(os.Args[len(os.Args)-1], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		os.Exit(1)
	case "fail":
		println("boom: cannot start")
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func TestPorts(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		name string
		mode Mode
		env  map[string]string
		want [6]int // dynamodb, ses, kms, api, aws, lambda
		err  string
	}{
		{"run defaults", Run, nil, [6]int{8000, 8005, 8006, 3000, 3010, 0}, ""},
		{"test defaults", Test, nil, [6]int{18000, 18005, 18006, 13000, 13010, 0}, ""},
		{"overrides; the AWS router follows the API port", Test, map[string]string{"TG_DYNAMODB_PORT": "21000", "TG_API_PORT": "21130"}, [6]int{21000, 18005, 18006, 21130, 21140, 0}, ""},
		{"explicit AWS router and Lambda ports", Run, map[string]string{"TG_AWS_PORT": "4000", "TG_LAMBDA_PORT": "5000"}, [6]int{8000, 8005, 8006, 3000, 4000, 5000}, ""},
		{"not a number", Run, map[string]string{"TG_KMS_PORT": "80a"}, [6]int{}, `TG_KMS_PORT="80a" is not a port number`},
		{"out of range", Run, map[string]string{"TG_SES_PORT": "70000"}, [6]int{}, `TG_SES_PORT="70000"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(t.TempDir(), c.mode, env(c.env))
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, [6]int{s.DynamoDB, s.SES, s.KMS, s.API, s.AWS, s.Lambda})
		})
	}
	_, err := ParseMode("prod")
	require.Error(t, err)
	m, err := ParseMode("")
	require.NoError(t, err)
	require.Equal(t, Run, m)
}

func TestEmulatorsBindLoopbackAndKeepRunData(t *testing.T) {
	for _, m := range []Mode{Run, Test} {
		s, err := New(t.TempDir(), m, func(string) string { return "" })
		require.NoError(t, err)
		for _, svc := range s.Emulators() {
			args := strings.Join(svc.Argv, " ")
			require.Contains(t, args, Host, "%s binds 127.0.0.1", svc.Name)
			if svc.Name == "dynamodb" {
				require.Equal(t, m == Run, strings.Contains(args, "-dbPath"), "DynamoDB Local keeps its data in run mode only")
				require.Equal(t, m == Test, strings.Contains(args, "-inMemory"))
			}
			if svc.Name == "kms" {
				require.Contains(t, svc.Env, "KMS_DATA_PATH="+s.KMSData())
			}
		}
		require.Contains(t, s.Env(), "AWS_ENDPOINT_URL_KMS="+URL(s.KMS))
	}
}

func helper(t *testing.T, s *Stack, mode string, port int) Service {
	self, err := os.Executable()
	require.NoError(t, err)
	return Service{
		Name: "helper", Port: port, Argv: []string{self, "-test.run=^$", Host + ":" + strconv.Itoa(port)}, Marker: self, Dir: s.State,
		Env:   []string{"TG_LOCALSTACK_HELPER=" + mode, "TG_LOCALSTACK_CHILD=" + filepath.Join(s.State, "child.pid")},
		Probe: func(ctx context.Context, url string) error { return ok2xx(get(ctx, http.MethodGet, url+"/", nil)) },
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestSupervision(t *testing.T) {
	s, err := New(t.TempDir(), Test, func(string) string { return "" })
	require.NoError(t, err)
	ctx := context.Background()
	svc := helper(t, s, "serve", freePort(t))

	pid, started, err := s.Start(ctx, svc)
	require.NoError(t, err)
	require.True(t, started)
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })
	_, pgid, ok := stat(pid)
	require.True(t, ok)
	require.Equal(t, pid, pgid, "its own process group")
	require.FileExists(t, s.LogFile("helper"))

	again, started, err := s.Start(ctx, svc)
	require.NoError(t, err)
	require.False(t, started, "running already: not started twice")
	require.Equal(t, pid, again)

	other := helper(t, s, "serve", svc.Port)
	other.Name = "other"
	_, _, err = s.Start(ctx, other)
	require.ErrorContains(t, err, "in use by a process this stack did not start")

	require.Eventually(t, func() bool { return readPid(s) > 0 }, 10*time.Second, 50*time.Millisecond)
	child := readPid(s)
	stopped, was, err := s.Stop(svc)
	require.NoError(t, err)
	require.True(t, was)
	require.Equal(t, pid, stopped)
	require.False(t, alive(pid))
	require.False(t, alive(child), "the whole process group is stopped, children too")
	_, running := s.Running(svc)
	require.False(t, running)
	_, was, err = s.Stop(svc)
	require.NoError(t, err)
	require.False(t, was, "stopping twice is no error")

	t.Run("a stale pidfile is not running", func(t *testing.T) {
		// A live process (this test) that is not the service on its port.
		require.NoError(t, os.WriteFile(s.pidfile("helper"), []byte(strconv.Itoa(os.Getpid())), 0o644))
		_, running := s.Running(svc)
		require.False(t, running)
		require.NoError(t, os.WriteFile(s.pidfile("helper"), []byte("999999999"), 0o644))
		_, running = s.Running(svc)
		require.False(t, running)
		pid, started, err := s.Start(ctx, svc)
		require.NoError(t, err, "a stale pidfile does not stop a start")
		require.True(t, started)
		_, _, err = s.Stop(svc)
		require.NoError(t, err)
		require.False(t, alive(pid))
	})

	t.Run("a service that fails to start: a clear error with its log's tail", func(t *testing.T) {
		bad := helper(t, s, "fail", freePort(t))
		bad.Name = "bad"
		_, _, err := s.Start(ctx, bad)
		require.ErrorContains(t, err, "exited")
		require.ErrorContains(t, err, "boom: cannot start")
		require.NoFileExists(t, s.pidfile("bad"))
	})

	t.Run("a missing tool is named", func(t *testing.T) {
		svc := helper(t, s, "serve", freePort(t))
		svc.Requires = map[string]string{filepath.Join(s.Tools, "bin", "nothing"): "a tool"}
		_, _, err := s.Start(ctx, svc)
		require.ErrorContains(t, err, "a tool is not installed")
		require.ErrorContains(t, err, "infra/install.sh")
	})
}

func readPid(s *Stack) int {
	b, _ := os.ReadFile(filepath.Join(s.State, "child.pid"))
	n, _ := strconv.Atoi(string(b))
	return n
}
