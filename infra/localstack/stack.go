package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Host is the only address any local server binds.
const Host = "127.0.0.1"

// Stack is one local stack: where its state is and which ports it uses.
type Stack struct {
	Root  string // the repository's root, absolute
	Mode  Mode
	State string // the state folder, absolute: pidfiles in run/, logs in logs/, data
	Tools string // where infra/install.sh put the tools, absolute

	DynamoDB, SES, KMS, API, AWS, Lambda int
}

// New is the stack of mode m for the repository at root, with the ports the
// environment (getenv) sets or the mode's defaults.
func New(root string, m Mode, getenv func(string) string) (*Stack, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	s := &Stack{Root: root, Mode: m, State: filepath.Join(root, ".local"), Tools: filepath.Join(root, ".local", "tools")}
	if m == Test {
		s.State = filepath.Join(root, ".local", "test")
	}
	for _, p := range []struct {
		port *Port
		dst  *int
	}{{&DynamoDBPort, &s.DynamoDB}, {&SESPort, &s.SES}, {&KMSPort, &s.KMS}, {&APIPort, &s.API}, {&AWSPort, &s.AWS}, {&LambdaPort, &s.Lambda}} {
		if *p.dst, err = p.port.In(m, getenv); err != nil {
			return nil, err
		}
	}
	if s.AWS == 0 {
		s.AWS = s.API + 10
	}
	return s, nil
}

// URL is http://127.0.0.1:port.
func URL(port int) string { return "http://" + Host + ":" + strconv.Itoa(port) }

// Env is the environment that tests, `make notify` and `tglocal setup` read: AWS SDK
// settings pointing at the emulators, with static local credentials, and where the
// Lambda runtime interface emulator and the local function builds are.
func (s *Stack) Env() []string {
	return []string{
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL_DYNAMODB=" + URL(s.DynamoDB),
		"AWS_ENDPOINT_URL_KMS=" + URL(s.KMS),
		"AWS_ENDPOINT_URL_SES=" + URL(s.SES),
		"AWS_ENDPOINT_URL_SESV2=" + URL(s.SES),
		"SES_STORE_URL=" + URL(s.SES) + "/store",
		"TG_RIE=" + filepath.Join(s.Tools, "bin", "aws-lambda-rie"),
		"TG_LAMBDA_DIR=" + filepath.Join(s.Root, ".local", "lambda"),
	}
}

// Service is one supervised process.
type Service struct {
	Name string
	Port int
	Argv []string
	Env  []string // added to the environment of the supervisor
	Dir  string   // working folder
	Dirs []string // folders to create before it starts (data)
	// Marker is in an argument only this service of this checkout has (a path under
	// it): a pid whose command line lacks it (or the port) is some other process that
	// reused the pid.
	Marker string
	Probe  func(ctx context.Context, url string) error
	// Requires are the files (or, without a slash, commands on PATH) it needs, and what
	// each is, for the error when one is missing.
	Requires map[string]string
}

// Emulators are the three AWS stand-ins of the stack, in start order.
func (s *Stack) Emulators() []Service {
	return []Service{s.dynamoDB(), s.ses(), s.kms()}
}

// installed checks that what svc requires is there.
func installed(svc Service) error {
	for path, what := range svc.Requires {
		var err error
		if strings.Contains(path, "/") {
			_, err = os.Stat(path)
		} else {
			_, err = exec.LookPath(path)
		}
		if err != nil {
			return fmt.Errorf("%s: %s is not installed (%s missing): run `bash infra/install.sh stack` (make run and make test do)", svc.Name, what, path)
		}
	}
	return nil
}

func (s *Stack) dynamoDB() Service {
	dir := filepath.Join(s.Tools, "dynamodb")
	jar := filepath.Join(dir, "DynamoDBLocal.jar")
	// The launcher install.sh compiles binds Jetty to 127.0.0.1; DynamoDB Local's own
	// main has no setting for the host.
	launcher := filepath.Join(dir, "launcher")
	port := strconv.Itoa(s.DynamoDB)
	argv := []string{"java", "-Dtokengate.bindHost=" + Host, "-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-cp", jar + ":" + launcher, "LoopbackDynamoDBLocal", "-port", port, "-sharedDb", "-disableTelemetry"}
	var dirs []string
	if s.Mode == Run {
		// Kept on disk. The JVM flags start it about three times faster (the C1 compiler
		// only); the test stack keeps the defaults its benchmarks were measured with.
		argv = append([]string{"java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"}, argv[1:]...)
		dirs = []string{filepath.Join(s.State, "data", "dynamodb")}
		argv = append(argv, "-dbPath", dirs[0])
	} else {
		argv = append(argv, "-inMemory")
	}
	return Service{
		Name: "dynamodb", Port: s.DynamoDB, Argv: argv, Marker: jar, Dirs: dirs,
		// DDB_LOCAL_TELEMETRY=0 is what turns telemetry off (-disableTelemetry is parsed
		// but not acted on).
		Env: []string{"DDB_LOCAL_TELEMETRY=0"}, Dir: s.State,
		// DynamoDB answers any POST with a 400 JSON error: any HTTP answer will do.
		Probe: func(ctx context.Context, url string) error {
			_, err := get(ctx, http.MethodPost, url+"/", nil)
			return err
		},
		Requires: map[string]string{"java": "a Java 17 runtime", jar: "DynamoDB Local",
			filepath.Join(launcher, "LoopbackDynamoDBLocal.class"): "its loopback launcher"},
	}
}

func (s *Stack) ses() Service {
	cli := filepath.Join(s.Tools, "ses", "node_modules", "aws-ses-v2-local", "dist", "cli.js")
	return Service{
		Name: "ses", Port: s.SES, Argv: []string{"node", cli, "--host", Host, "--port", strconv.Itoa(s.SES)},
		// SMTP_TRANSPORT empty: never let the emulator forward mail anywhere.
		Env: []string{"SMTP_TRANSPORT="}, Dir: s.State, Marker: cli,
		Probe: func(ctx context.Context, url string) error {
			return ok2xx(get(ctx, http.MethodGet, url+"/health-check", nil))
		},
		Requires: map[string]string{"node": "Node.js 20+", cli: "aws-ses-v2-local"},
	}
}

// KMSData is where local-kms keeps its keys: kept in run mode, thrown away in test mode.
func (s *Stack) KMSData() string { return filepath.Join(s.State, "data", "kms") }

func (s *Stack) kms() Service {
	bin := filepath.Join(s.Tools, "bin", "localkms")
	return Service{
		Name: "kms", Port: s.KMS, Argv: []string{bin, "-addr", Host + ":" + strconv.Itoa(s.KMS)}, Marker: bin,
		Env: []string{"KMS_DATA_PATH=" + s.KMSData(), "KMS_REGION=us-east-1", "KMS_SEED_PATH="}, Dir: s.State,
		Probe: func(ctx context.Context, url string) error {
			return ok2xx(get(ctx, http.MethodPost, url+"/", map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"}))
		},
		Requires: map[string]string{bin: "local-kms"},
	}
}

// Gateway is `tglocal serve` on the API port (tglocal: the binary), reading the state
// folder's env file; lambda runs each function under the runtime interface emulator.
func (s *Stack) Gateway(tglocal string, lambda bool) Service {
	addr := Host + ":" + strconv.Itoa(s.API)
	argv := []string{tglocal, "serve", "-state", s.State, "-template", filepath.Join(s.Root, "template.yaml"), "-addr", addr}
	if lambda {
		argv = append(argv, "-lambda")
	}
	env := []string{AWSPort.Env + "=" + strconv.Itoa(s.AWS), APIPort.Env + "=" + strconv.Itoa(s.API)}
	if s.Lambda != 0 {
		env = append(env, LambdaPort.Env+"="+strconv.Itoa(s.Lambda))
	}
	return Service{
		Name: "gateway", Port: s.API, Argv: argv, Env: env, Dir: s.Root, Marker: s.State,
		// Any HTTP answer (401 without a token) means it serves.
		Probe: func(ctx context.Context, url string) error {
			_, err := get(ctx, http.MethodGet, url+"/tokens/self", nil)
			return err
		},
	}
}

func get(ctx context.Context, method, url string, header map[string]string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	body := io.Reader(nil)
	if method == http.MethodPost {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func ok2xx(code int, err error) error {
	if err != nil {
		return err
	}
	if code/100 != 2 {
		return errors.New("answered HTTP " + strconv.Itoa(code))
	}
	return nil
}
