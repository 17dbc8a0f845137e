package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/token"
)

// The README's walkthrough as `make run` serves it: its API and SES mail view addresses,
// which the test replaces with its own gateway's and SES emulator's.
const (
	readmeAPI = "http://127.0.0.1:3000"
	readmeSES = "http://127.0.0.1:8005"
	// readmeCacheWait is the `sleep 2` the README waits for the change feed; the test's
	// gateway caches for readmeCacheTTL, AUTH_CACHE_TTL's default, and waits as long, so
	// the walkthrough holds only because the feed does.
	readmeCacheWait  = "2"
	readmeCacheTTL   = "30s"
	readmeCacheSleep = "2"
)

// TestReadmeWalkthrough runs the README's walkthrough as a reader would after `make run`
// and after `make run LAMBDA=1`: the ```sh blocks between <!-- walkthrough --> and
// <!-- /walkthrough -->, in order, in one bash session, in a folder whose
// .local/admin-token holds the root token of a freshly bootstrapped table, against
// `tglocal serve` (with -lambda: every function its built bootstrap under the Lambda
// runtime interface emulator) started as make run starts it, on the test stack. It fails,
// naming the block and the command, where a command fails, answers another status than
// the one the README shows after it (`# 201 …`), or answers without a "field":value the
// README shows (values with … differ on every machine and are not compared). `sleep 2`
// waits for the change feed, with AUTH_CACHE_TTL at its default. Then serve is
// stopped as make stop stops it: it must exit cleanly and leave no emulator behind.
func TestReadmeWalkthrough(t *testing.T) {
	for _, mode := range []struct {
		name   string
		lambda bool
	}{{"in-process", false}, {"lambda", true}} {
		t.Run(mode.name, func(t *testing.T) { readmeWalkthrough(t, mode.lambda) })
	}
}

func readmeWalkthrough(t *testing.T, lambda bool) {
	bash, err := exec.LookPath("bash")
	require.NoError(t, err, "the walkthrough runs in bash")
	_, err = exec.LookPath("curl")
	require.NoError(t, err, "the walkthrough calls the API with curl")
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	blocks, err := walkthrough(string(readme))
	require.NoError(t, err)
	require.NotEmpty(t, blocks, "README.md has no walkthrough")

	dir := t.TempDir()
	api := readmeGateway(t, filepath.Join(dir, ".local"), lambda)
	localtest.SES(t)
	ses := strings.TrimSuffix(os.Getenv("SES_STORE_URL"), "/store")

	script, err := walkthroughScript(blocks, readmeAPI, api, readmeSES, ses)
	require.NoError(t, err)
	out := filepath.Join(dir, ".walkthrough")
	require.NoError(t, os.Mkdir(out, 0o700))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "--noprofile", "--norc", "-c", script, "walkthrough", out)
	cmd.Dir = dir
	// A clean environment: nothing of the developer's (an API or TOKEN of their own
	// `make run`) reaches the walkthrough.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir, "LC_ALL=C.UTF-8"}
	start := time.Now()
	combined, runErr := cmd.CombinedOutput()
	t.Logf("the walkthrough ran %d commands of %d blocks in %s", countCommands(blocks), len(blocks), time.Since(start).Round(time.Millisecond))

	var transcript strings.Builder
	for b, block := range blocks {
		for c, command := range block.commands {
			res, ran := readResult(out, b, c)
			if !ran {
				t.Fatalf("walkthrough block %d (README.md:%d), command %d (README.md:%d) never ran: the session ended before it (%v)\n%s\n--- transcript so far:\n%s",
					b+1, block.line, c+1, command.line, runErr, combined, transcript.String())
			}
			fmt.Fprintf(&transcript, "$ %s\n%s%s-> exit %d, HTTP %v\n", command.text, res.stdout, res.stderr, res.exit, res.statuses)
			if why := command.check(res); why != "" {
				t.Fatalf("walkthrough block %d (README.md:%d), command %d (README.md:%d) %s\n  $ %s\n--- its output:\n%s\n--- its stderr:\n%s\n--- transcript:\n%s",
					b+1, block.line, c+1, command.line, why, command.text, res.stdout, res.stderr, transcript.String())
			}
		}
	}
	require.NoError(t, runErr, "%s", combined)
	t.Logf("transcript:\n%s", transcript.String())
}

// readmeGateway is `make run` (lambda: `make run LAMBDA=1`) on the test stack: a fresh
// table bootstrapped as `make run` bootstraps it (root token written to
// <state>/admin-token), the <state>/env that setup writes (with a shorter
// AUTH_CACHE_TTL), and `tglocal serve` itself, started as `tglocal gateway start` starts
// it, on a free loopback port. It returns the gateway's URL. On cleanup serve gets
// SIGTERM, as `make stop` sends it: it must exit 0 and leave none of its processes.
func readmeGateway(t *testing.T, state string, lambda bool) string {
	t.Helper()
	readmeState(t, state)
	p := startServe(t, state, lambda)
	t.Cleanup(func() {
		children := childProcesses(p.cmd.Process.Pid)
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
			require.NoError(t, p.exitErr, "serve exits cleanly on SIGTERM; its log:\n%s", p.log())
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Fatalf("serve did not exit within 30 s of SIGTERM; its log:\n%s", p.log())
		}
		if lambda {
			require.NotEmpty(t, children, "serve -lambda runs the emulators")
		}
		for _, pid := range children {
			require.Error(t, syscall.Kill(pid, 0), "process %d that serve started still runs after serve ended", pid)
		}
	})
	return "http://" + p.addr
}

// readmeState is what `make run` leaves in state before it starts the gateway: a fresh
// table bootstrapped as make run bootstraps it (root token in <state>/admin-token) and
// the <state>/env setup writes (with a shorter AUTH_CACHE_TTL).
func readmeState(t *testing.T, state string) {
	t.Helper()
	ctx := context.Background()
	tb := localtest.Table(t)
	clients := localtest.Clients(t)
	tmpl := localtest.Template(t)
	catalog, err := filepath.Abs("../catalog.json")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(state, 0o700))
	require.NoError(t, runBootstrap(ctx, target{DynamoDB: clients.DynamoDB, KMS: clients.KMS, Table: tb.Name, Key: localtest.KMSKey(t)},
		bootstrapOptions{ID: "admin", Name: "Local admin", Email: "admin@localhost", Prefix: token.DefaultPrefix, Catalog: catalog, TokenFile: filepath.Join(state, "admin-token")}))

	env := settingDefaults(tmpl)
	env["TABLE_NAME"], env["KMS_KEY_ID"], env["CATALOG_FILE"] = tb.Name, localtest.KMSKey(t), catalog
	env["AUTH_CACHE_TTL"] = readmeCacheTTL
	env["EXPIRY_NOTIFICATION_EMAILS"] = localExpiryRecipients
	require.NoError(t, writeEnv(filepath.Join(state, "env"), env))
}

// serveProcess is a `tglocal serve` the test started.
type serveProcess struct {
	addr    string
	cmd     *exec.Cmd
	exited  chan struct{} // closed once it has ended; exitErr is then set
	exitErr error
	logPath string
}

func (p *serveProcess) log() string { b, _ := os.ReadFile(p.logPath); return string(b) }

// startServe starts `tglocal serve` (lambda: -lambda) on state, as `tglocal gateway
// start` does, on a free loopback port, and returns once it answers and has not ended
// a moment later (a crash soon after listening, as a nil usage counter in Lambda mode
// once caused, fails here).
func startServe(t *testing.T, state string, lambda bool) *serveProcess {
	t.Helper()
	p := &serveProcess{addr: "127.0.0.1:" + freePorts(t, 1)[0], exited: make(chan struct{}), logPath: filepath.Join(t.TempDir(), "serve.log")}
	args := []string{"serve", "-state", state, "-template", "../../template.yaml", "-addr", p.addr}
	if lambda {
		args = append(args, "-lambda")
		if os.Getenv("TG_RIE") == "" || os.Getenv("TG_LAMBDA_DIR") == "" {
			missingTool(t, "TG_RIE and TG_LAMBDA_DIR are not set: run the tests with `make test`")
		}
	}
	p.cmd = exec.Command(tglocalBinary(t), args...)
	// The test stack's endpoints and credentials, the emulator and the built functions
	// (make test's environment), none of the developer's settings.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !settingNames[k] && k != "TG_AWS_PORT" {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, "TG_AWS_PORT=0")
	logf, err := os.Create(p.logPath)
	require.NoError(t, err)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	require.NoError(t, p.cmd.Start())
	go func() { p.exitErr = p.cmd.Wait(); logf.Close(); close(p.exited) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("serve ended before it answered (%v); its log:\n%s", p.exitErr, p.log())
		default:
		}
		if res, err := http.Get("http://" + p.addr + "/nowhere"); err == nil {
			res.Body.Close()
			break
		}
		require.True(t, time.Now().Before(deadline), "serve does not answer on %s; its log:\n%s", p.addr, p.log())
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	select {
	case <-p.exited:
		t.Fatalf("serve ended after it began to answer (%v); its log:\n%s", p.exitErr, p.log())
	default:
	}
	return p
}

// TestServeLambdaKilled: `tglocal serve -lambda` ended without a chance to stop its
// emulators (SIGKILL, a crash) leaves none of them, nor their bootstraps, running.
func TestServeLambdaKilled(t *testing.T) {
	state := filepath.Join(t.TempDir(), ".local")
	readmeState(t, state)
	p := startServe(t, state, true)
	res, err := http.Get("http://" + p.addr + "/tokens/self") // the authorizer's bootstrap starts
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	children := childProcesses(p.cmd.Process.Pid)
	require.Greater(t, len(children), 31, "31 emulators and the authorizer's bootstrap")
	require.NoError(t, p.cmd.Process.Kill())
	<-p.exited
	require.Eventually(t, func() bool {
		for _, pid := range children {
			if syscall.Kill(pid, 0) == nil {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "the emulators end with serve")
}

// tglocalBinary is bin/tglocal as make test builds it (TG_TGLOCAL), else a fresh build.
func tglocalBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("TG_TGLOCAL"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "tglocal")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// childProcesses are the pids of pid's children and their descendants, from /proc.
func childProcesses(pid int) []int {
	parents := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after its ")".
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 {
			ppid, _ := strconv.Atoi(fields[1])
			parents[ppid] = append(parents[ppid], child)
		}
	}
	var out []int
	todo := []int{pid}
	for len(todo) > 0 {
		p := todo[0]
		todo = todo[1:]
		for _, c := range parents[p] {
			out = append(out, c)
			todo = append(todo, c)
		}
	}
	return out
}

// walkBlock is one ```sh block of the walkthrough.
type walkBlock struct {
	line     int // README line of the fence
	commands []walkCommand
}

// walkCommand is one command of a block, as bash reads it, and what the README shows it
// answers: a comment right after it (on its last line or the lines below) that starts
// with the HTTP status, e.g. `# 201 {"status":"pending",...}`.
type walkCommand struct {
	line   int    // README line where it starts
	text   string // without the status comment
	status int    // the shown status; 0: none shown
	shown  string // the comment's text after the status
}

var (
	walkStart   = regexp.MustCompile(`(?m)^<!-- walkthrough\b.*-->\s*$`)
	walkEnd     = regexp.MustCompile(`(?m)^<!-- /walkthrough -->\s*$`)
	shownStatus = regexp.MustCompile(`^#\s*([1-5][0-9][0-9])\b[:,]?\s*(.*)$`)
	// shownPair is a "field":value the README shows: a string without … (an elision) or
	// true, false, null or a number.
	shownPair   = regexp.MustCompile(`"[A-Za-z][A-Za-z0-9]*":("(?:[^"\\…]|\\.)*"|true|false|null|-?[0-9]+(?:\.[0-9]+)?)`)
	curlStatus  = regexp.MustCompile(`@@walkthrough-status ([0-9]{3})`)
	statusLines = regexp.MustCompile(`\n?@@walkthrough-status [0-9]{3}\n`)
)

// walkthrough returns the ```sh blocks between each <!-- walkthrough --> and the next
// <!-- /walkthrough --> of readme, in order; other fences there are shown only.
func walkthrough(readme string) ([]walkBlock, error) {
	lines := strings.Split(readme, "\n")
	var blocks []walkBlock
	in, fence := false, -1
	var body []string
	for i, l := range lines {
		switch {
		case fence >= 0:
			if strings.TrimSpace(l) == "```" {
				if in && strings.TrimSpace(lines[fence]) == "```sh" {
					cmds, err := splitCommands(body, fence+2)
					if err != nil {
						return nil, fmt.Errorf("README.md:%d: %w", fence+1, err)
					}
					blocks = append(blocks, walkBlock{line: fence + 1, commands: cmds})
				}
				fence, body = -1, nil
				continue
			}
			body = append(body, l)
		case strings.HasPrefix(strings.TrimSpace(l), "```"):
			fence = i
		case walkStart.MatchString(l):
			if in {
				return nil, fmt.Errorf("README.md:%d: a walkthrough starts inside another", i+1)
			}
			in = true
		case walkEnd.MatchString(l):
			if !in {
				return nil, fmt.Errorf("README.md:%d: <!-- /walkthrough --> without a start", i+1)
			}
			in = false
		}
	}
	if in || fence >= 0 {
		return nil, fmt.Errorf("README.md: a walkthrough or a fence is not closed")
	}
	return blocks, nil
}

// splitCommands splits a block's lines (the first is README line first) into commands:
// a command ends at a line end outside quotes and not escaped by a backslash. Comment
// lines between commands are dropped, except the shown answer right after a command.
// Heredocs are not understood (the walkthrough has none).
func splitCommands(lines []string, first int) ([]walkCommand, error) {
	var cmds []walkCommand
	var cur []string
	start := 0
	lastEnded := false // the previous line ended a command: a status comment may follow
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if len(cur) == 0 {
			if trimmed == "" {
				lastEnded = false
				continue
			}
			if strings.HasPrefix(trimmed, "#") {
				if lastEnded && len(cmds) > 0 {
					c := &cmds[len(cmds)-1]
					if m := shownStatus.FindStringSubmatch(trimmed); m != nil && c.status == 0 {
						c.status, _ = strconv.Atoi(m[1])
						c.shown = m[2]
					} else if c.status != 0 {
						c.shown += " " + strings.TrimSpace(strings.TrimPrefix(trimmed, "#"))
					}
				}
				continue
			}
			start = first + i
		}
		cur = append(cur, l)
		open, comment := scanShell(strings.Join(cur, "\n"))
		if open {
			continue
		}
		text := strings.Join(cur, "\n")
		c := walkCommand{line: start}
		if comment >= 0 {
			if m := shownStatus.FindStringSubmatch(text[comment:]); m != nil {
				c.status, _ = strconv.Atoi(m[1])
				c.shown = m[2]
			}
			text = text[:comment]
		}
		c.text = strings.TrimRight(text, " \t")
		cmds = append(cmds, c)
		cur, lastEnded = nil, true
	}
	if len(cur) > 0 {
		return nil, fmt.Errorf("line %d: a command is not closed (a quote or a trailing backslash)", start)
	}
	return cmds, nil
}

// scanShell reads s as bash would quote it: open reports an unclosed quote or a trailing
// backslash (the command goes on), comment the offset of a comment on s's last line
// (-1: none). Command substitutions are read as plain text, so a quote inside "$( … )"
// is not understood.
func scanShell(s string) (open bool, comment int) {
	const (
		plain = iota
		single
		double
	)
	state, comment := plain, -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case plain:
			switch {
			case c == '\\':
				if i+1 == len(s) {
					return true, -1
				}
				i++
			case c == '\'':
				state = single
			case c == '"':
				state = double
			case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t' || s[i-1] == '\n'):
				end := strings.IndexByte(s[i:], '\n')
				if end < 0 {
					return false, i
				}
				i += end
			}
		case single:
			if c == '\'' {
				state = plain
			}
		case double:
			switch c {
			case '\\':
				i++
			case '"':
				state = plain
			}
		}
	}
	return state != plain, comment
}

// walkthroughScript is the bash script that runs blocks in one session: each command in
// the shell itself (so what it sets stays set), its output, error output and exit status
// kept apart in the folder "$1", and the session ends at the first command that fails.
// curl reports the status of each request on its error output (after the reader's
// options, so a -w of theirs is replaced); `sleep 2` waits for the change feed.
func walkthroughScript(blocks []walkBlock, fromAPI, toAPI, fromSES, toSES string) (string, error) {
	var b strings.Builder
	b.WriteString("set -o pipefail\nout=\"$1\"\n")
	b.WriteString(`curl() { command curl --max-time 30 "$@" -w '%{stderr}\n@@walkthrough-status %{http_code}\n'; }` + "\n")
	fmt.Fprintf(&b, "sleep() { if [ \"$*\" = %s ]; then command sleep %s; else command sleep \"$@\"; fi; }\n", readmeCacheWait, readmeCacheSleep)
	loopback := regexp.MustCompile(`https?://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?`)
	for bi, blk := range blocks {
		for ci, c := range blk.commands {
			text := strings.ReplaceAll(strings.ReplaceAll(c.text, fromAPI, toAPI), fromSES, toSES)
			for _, u := range loopback.FindAllString(text, -1) {
				if u != toAPI && u != toSES {
					return "", fmt.Errorf("README.md:%d: %s is neither the API (%s) nor the SES mail view (%s): the test would call it", c.line, u, fromAPI, fromSES)
				}
			}
			name := fmt.Sprintf("\"$out/%d.%d\"", bi, ci)
			fmt.Fprintf(&b, "{ %s\n} >%s.out 2>%s.err\necho $? >%s.exit\n[ \"$(cat %s.exit)\" = 0 ] || exit 1\n", text, name, name, name, name)
		}
	}
	return b.String(), nil
}

// walkResult is what one command did.
type walkResult struct {
	stdout, stderr string
	exit           int
	statuses       []int // of each HTTP request, in order
}

func readResult(dir string, block, command int) (walkResult, bool) {
	base := filepath.Join(dir, fmt.Sprintf("%d.%d", block, command))
	code, err := os.ReadFile(base + ".exit")
	if err != nil {
		return walkResult{}, false
	}
	stdout, _ := os.ReadFile(base + ".out")
	stderr, _ := os.ReadFile(base + ".err")
	r := walkResult{stdout: string(stdout)}
	r.exit, _ = strconv.Atoi(strings.TrimSpace(string(code)))
	for _, m := range curlStatus.FindAllStringSubmatch(string(stderr), -1) {
		n, _ := strconv.Atoi(m[1])
		r.statuses = append(r.statuses, n)
	}
	r.stderr = statusLines.ReplaceAllString(string(stderr), "")
	return r, true
}

// check returns why r is not what the README shows for c, or "".
func (c walkCommand) check(r walkResult) string {
	if r.exit != 0 {
		return fmt.Sprintf("failed (exit status %d)", r.exit)
	}
	calls := strings.Contains(c.text, "$API")
	switch {
	case c.status == 0 && calls:
		return "calls the API but the README shows no status after it (`# 200 …`)"
	case c.status != 0 && len(r.statuses) == 0:
		return fmt.Sprintf("shows status %d but made no HTTP request", c.status)
	case c.status != 0 && r.statuses[len(r.statuses)-1] != c.status:
		return fmt.Sprintf("answered %d, the README shows %d", r.statuses[len(r.statuses)-1], c.status)
	case c.status == 0:
		for _, s := range r.statuses {
			if s >= 400 {
				return fmt.Sprintf("shows no status, and a request answered %d", s)
			}
		}
	}
	for _, pair := range shownPair.FindAllString(c.shown, -1) {
		// The value ends where the README's does: "version":1 is not "version":12.
		if !strings.Contains(r.stdout, pair+",") && !strings.Contains(r.stdout, pair+"}") && !strings.Contains(r.stdout, pair+"]") {
			return fmt.Sprintf("answered without %s, which the README shows", pair)
		}
	}
	return ""
}

func countCommands(blocks []walkBlock) int {
	n := 0
	for _, b := range blocks {
		n += len(b.commands)
	}
	return n
}

// TestWalkthroughParsing: which blocks run, where a command ends, and the status and
// answer the README shows for it.
func TestWalkthroughParsing(t *testing.T) {
	readme := strings.Join([]string{
		"```sh",
		"make run   # outside the walkthrough: shown, not run",
		"```",
		"<!-- walkthrough -->",
		"<!-- a note -->",
		"```sh",
		"export API=http://127.0.0.1:3000",
		"# a comment before a command is dropped",
		"curl -s $API/tokens -d '{",
		`  "name": "a # not a comment"`,
		"}' | tee a.json",
		`# 201 {"id":"…","name":"a # not a comment",`,
		`#      "status":"active"}`,
		"",
		"# 2. a step comment after a blank line belongs to no command",
		`curl -s -X DELETE $API/tokens/$ID   # 204 (no body)`,
		`curl -s "$API/x?a=1" \`,
		"  -H 'If-Match: \"1\"'",
		"# 409: stale",
		`ID=$(grep -o "\"id\":\"[^\"]*\"" a.json)   # the id`,
		"```",
		"```text",
		"shown only",
		"```",
		"<!-- /walkthrough -->",
		"<!-- walkthrough -->",
		"```sh",
		`curl -s $API/demo/echo`,
		`# 200 {"authorizer":{"risk":"high"}}`,
		"```",
		"<!-- /walkthrough -->",
	}, "\n")
	blocks, err := walkthrough(readme)
	require.NoError(t, err)
	require.Len(t, blocks, 2, "the sh blocks inside the markers only")
	require.Equal(t, 6, blocks[0].line)
	require.Equal(t, []walkCommand{
		{line: 7, text: "export API=http://127.0.0.1:3000"},
		{line: 9, text: "curl -s $API/tokens -d '{\n  \"name\": \"a # not a comment\"\n}' | tee a.json", status: 201,
			shown: `{"id":"…","name":"a # not a comment", "status":"active"}`},
		{line: 16, text: "curl -s -X DELETE $API/tokens/$ID", status: 204, shown: "(no body)"},
		{line: 17, text: "curl -s \"$API/x?a=1\" \\\n  -H 'If-Match: \"1\"'", status: 409, shown: "stale"},
		{line: 20, text: `ID=$(grep -o "\"id\":\"[^\"]*\"" a.json)`},
	}, blocks[0].commands)
	require.Equal(t, []walkCommand{{line: 28, text: "curl -s $API/demo/echo", status: 200, shown: `{"authorizer":{"risk":"high"}}`}}, blocks[1].commands)

	for name, bad := range map[string]string{
		"an unclosed quote":        "<!-- walkthrough -->\n```sh\ncurl -d '{\n```\n<!-- /walkthrough -->",
		"a trailing backslash":     "<!-- walkthrough -->\n```sh\ncurl \\\n```\n<!-- /walkthrough -->",
		"an unclosed walkthrough":  "<!-- walkthrough -->\n```sh\ntrue\n```",
		"a walkthrough in another": "<!-- walkthrough -->\n<!-- walkthrough -->\n<!-- /walkthrough -->",
		"an end without a start":   "<!-- /walkthrough -->",
	} {
		_, err := walkthrough(bad)
		require.Error(t, err, name)
	}
}

// TestWalkthroughCheck: what fails a command.
func TestWalkthroughCheck(t *testing.T) {
	created := walkCommand{text: `curl -s "${auth[@]}" $API/tokens -d '{}'`, status: 201, shown: `{"id":"…","status":"pending",…,"version":1,"delegated":false}`}
	body := `{"id":"abc","status":"pending","delegated":false,"version":1}`
	tests := []struct {
		name string
		cmd  walkCommand
		res  walkResult
		want string // part of the failure; "" passes
	}{
		{"as shown", created, walkResult{stdout: body, statuses: []int{201}}, ""},
		{"another status", created, walkResult{stdout: body, statuses: []int{200}}, "answered 200, the README shows 201"},
		{"the last request counts", created, walkResult{stdout: body, statuses: []int{200, 201}}, ""},
		{"a shown value differs", created, walkResult{stdout: strings.Replace(body, "pending", "active", 1), statuses: []int{201}}, `without "status":"pending"`},
		{"a number is compared whole", created, walkResult{stdout: strings.Replace(body, `"version":1`, `"version":12`, 1), statuses: []int{201}}, `without "version":1`},
		{"the command failed", created, walkResult{exit: 7}, "exit status 7"},
		{"no request made", created, walkResult{}, "made no HTTP request"},
		{"an API call must show its status", walkCommand{text: "curl -s $API/scopes"}, walkResult{statuses: []int{200}}, "shows no status"},
		{"a helper call without a status may not fail", walkCommand{text: "X=$(curl -s $SES/store)"}, walkResult{statuses: []int{500}}, "answered 500"},
		{"a helper call", walkCommand{text: "X=$(curl -s $SES/store)"}, walkResult{statuses: []int{200}}, ""},
		{"no request", walkCommand{text: "ID=1"}, walkResult{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cmd.check(tt.res)
			if tt.want == "" {
				require.Empty(t, got)
				return
			}
			require.Contains(t, got, tt.want)
		})
	}
}
