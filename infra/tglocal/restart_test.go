package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLocalStackKeepsItsData is `make stop && make run` on a stack of its own (a temp
// state folder, its own ports, the tools make installs): the processes are the ones
// make run starts, driven through the tglocal binary. A token created through the API,
// the admin token, the principals and the audit records survive a restart of every
// process (DynamoDB Local on disk, local-kms's keys under KMS_DATA_PATH); and make run
// after the admin token was rotated through the API says so and mints a new one.
func TestLocalStackKeepsItsData(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	for _, tool := range []string{".local/tools/dynamodb/DynamoDBLocal.jar", ".local/tools/bin/localkms", ".local/tools/ses/node_modules/aws-ses-v2-local/dist/cli.js"} {
		if _, err := os.Stat(filepath.Join(root, tool)); err != nil {
			missingTool(t, tool+" is not installed: run the tests with `make test` (infra/install.sh stack)")
		}
	}
	dir := t.TempDir()
	// make test builds bin/tglocal just before and names it in TG_TGLOCAL.
	bin := os.Getenv("TG_TGLOCAL")
	if bin == "" {
		bin = filepath.Join(dir, "tglocal")
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		require.NoError(t, err, "%s", out)
	}

	state := filepath.Join(dir, "state")
	ports := freePorts(t, 5)
	// The functions' settings come from the stack's env file, as with make run.
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "AWS_") && !strings.HasPrefix(k, "TG_") && !settingNames[k] {
			env = append(env, kv)
		}
	}
	env = append(env, "STACK_MODE=run", "TG_DYNAMODB_PORT="+ports[0], "TG_SES_PORT="+ports[1], "TG_KMS_PORT="+ports[2],
		"TG_API_PORT="+ports[3], "TG_AWS_PORT="+ports[4])
	tglocal := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = root, env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "tglocal %s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
	at := []string{"-state", state}
	tglocal(append([]string{"stack", "up"}, at...)...)
	t.Cleanup(func() {
		cmd := exec.Command(bin, "stack", "down", "-state", state)
		cmd.Dir, cmd.Env = root, env
		_ = cmd.Run()
	})
	// make run: the stack's endpoints, setup, bootstrap, the gateway.
	sc := bufio.NewScanner(strings.NewReader(tglocal(append([]string{"stack", "env"}, at...)...)))
	for sc.Scan() {
		if line := sc.Text(); !strings.HasPrefix(line, "#") {
			env = append(env, line)
		}
	}
	run := func() string {
		t.Helper()
		tglocal(append([]string{"stack", "up"}, at...)...)
		tglocal("setup", "-state", state)
		boot := tglocal("bootstrap", "-state", state, "-email", "admin@localhost", "-name", "Local admin")
		tglocal(append([]string{"gateway", "start"}, at...)...)
		return boot
	}
	stop := func() { t.Helper(); tglocal(append([]string{"stack", "down"}, at...)...) }

	built := time.Now()
	run()
	api := "http://127.0.0.1:" + ports[3]
	adminFile := filepath.Join(state, "admin-token")
	admin := strings.TrimSpace(readFile(adminFile))
	call := func(tok, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, api+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	code, created := call(admin, "POST", "/tokens", `{"name":"ci-deploy","scopes":["tokens:read"],"expiresIn":"1m"}`)
	require.Equal(t, http.StatusCreated, code, "%v", created)
	tok := created["token"].(string)
	code, _ = call(tok, "GET", "/tokens/self", "")
	require.Equal(t, http.StatusOK, code)
	_, auditBefore := call(admin, "GET", "/audit", "")
	keyID, table := readFile(filepath.Join(state, "kms-key-id")), readFile(filepath.Join(state, "table-name"))

	t.Run("make stop && make run keeps tokens, principals, audit records and the admin token", func(t *testing.T) {
		stop()
		// Without the key file, setup finds the key again by its alias.
		require.NoError(t, os.Remove(filepath.Join(state, "kms-key-id")))
		boot := run()
		require.Contains(t, boot, "bootstrapped already", "the admin token on file still authenticates")
		require.Equal(t, admin, strings.TrimSpace(readFile(adminFile)), "no new admin token")
		require.Equal(t, keyID, readFile(filepath.Join(state, "kms-key-id")), "setup reuses the KMS key")
		require.Equal(t, table, readFile(filepath.Join(state, "table-name")), "and the table")

		code, self := call(tok, "GET", "/tokens/self", "")
		require.Equal(t, http.StatusOK, code, "the token created before the restart works: %v", self)
		require.Equal(t, created["id"], self["id"])
		code, _ = call(admin, "GET", "/tokens/self", "")
		require.Equal(t, http.StatusOK, code, "the admin token works")
		code, p := call(admin, "GET", "/principals/admin", "")
		require.Equal(t, http.StatusOK, code, "the principal is kept: %v", p)
		code, auditAfter := call(admin, "GET", "/audit", "")
		require.Equal(t, http.StatusOK, code)
		require.GreaterOrEqual(t, len(auditAfter["items"].([]any)), len(auditBefore["items"].([]any)), "the audit records are kept")
		require.NotEmpty(t, auditBefore["items"])
	})

	t.Run("make run after the admin token was rotated mints a new one and says so", func(t *testing.T) {
		code, self := call(admin, "GET", "/tokens/self", "")
		require.Equal(t, http.StatusOK, code)
		code, rotated := call(admin, "POST", "/tokens/"+self["id"].(string)+"/rotate", `{}`)
		require.Equal(t, http.StatusOK, code, "%v", rotated)
		// (The gateway may still accept the old secret for AUTH_CACHE_TTL: its cache.)

		// What make run does to check the admin token (the stack and gateway run).
		boot := tglocal("bootstrap", "-state", state, "-email", "admin@localhost", "-name", "Local admin")
		require.Contains(t, boot, "does not authenticate any more")
		fi, err := os.Stat(adminFile)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		renewed := strings.TrimSpace(readFile(adminFile))
		require.NotEqual(t, admin, renewed)
		code, _ = call(renewed, "GET", "/tokens/self", "")
		require.Equal(t, http.StatusOK, code, "the new admin token works")
		require.Contains(t, tglocal("bootstrap", "-state", state), "bootstrapped already", "and is kept by the next make run")
	})
	t.Logf("make run, stop, run and the admin token check took %s (after building tglocal)", time.Since(built).Round(time.Millisecond))
}

var settingNames = map[string]bool{"TABLE_NAME": true, "KMS_KEY_ID": true, "CATALOG_FILE": true, "TOKEN_PREFIX": true,
	"ROUTE_SCOPES": true, "AUTHORIZER_RESPONSE": true, "EXPIRY_NOTIFICATION_EMAILS": true, "CONSOLE_URL": true, "STACK_MODE": true}

func missingTool(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// freePorts returns n loopback ports free at the time of the call.
func freePorts(t *testing.T, n int) []string {
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns = append(lns, ln)
		out = append(out, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}
