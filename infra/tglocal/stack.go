package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"tokengate/infra/localstack"
)

// stackCommand is `tglocal stack up|down|status|env|ports [-mode run|test]`: the
// emulators of the local stack, supervised by infra/localstack. The mode comes from
// -mode, else STACK_MODE, else run; the ports from TG_*_PORT, else the mode's defaults.
func stackCommand(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return &exitError{2, "usage: tglocal stack up|down|status|env|ports [-mode run|test]"}
	}
	st, _, err := stackFlags("stack "+args[0], args[1:])
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		return st.Up(ctx, os.Stdout)
	case "down":
		return st.Down(os.Stdout)
	case "status":
		st.Status(ctx, os.Stdout)
		return nil
	case "env":
		fmt.Println("# The local stack's AWS endpoints (tglocal stack env, " + string(st.Mode) + " mode).")
		for _, kv := range st.Env() {
			fmt.Println(kv)
		}
		return nil
	case "ports":
		return printPorts()
	}
	return &exitError{2, "usage: tglocal stack up|down|status|env|ports [-mode run|test]"}
}

// gatewayCommand is `tglocal gateway start [-lambda]|stop`: `tglocal serve` in the
// background on the run stack's API port (restarted when it runs: it picks up changes).
func gatewayCommand(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "start" && args[0] != "stop") {
		return &exitError{2, "usage: tglocal gateway start [-lambda] | stop"}
	}
	st, lambda, err := stackFlags("gateway "+args[0], args[1:])
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	gw := st.Gateway(self, lambda)
	unlock, err := st.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if pid, was, err := st.Stop(gw); err != nil {
		return err
	} else if was && args[0] == "stop" {
		fmt.Printf("gateway   stopped (pid %d)\n", pid)
	}
	if args[0] == "stop" {
		return nil
	}
	if _, _, err := st.Start(ctx, gw); err != nil {
		return err
	}
	printRunning(st)
	return nil
}

func stackFlags(name string, args []string) (*localstack.Stack, bool, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	mode := fs.String("mode", os.Getenv("STACK_MODE"), "run (state in .local, data kept) or test (state in .local/test, data thrown away)")
	root := fs.String("root", ".", "the repository's root")
	state := fs.String("state", "", "the state folder (default: .local in run mode, .local/test in test mode)")
	lambda := fs.Bool("lambda", false, "gateway start: run every function under the Lambda runtime interface emulator")
	if err := fs.Parse(args); err != nil {
		return nil, false, &exitError{2, err.Error()}
	}
	m, err := localstack.ParseMode(*mode)
	if err != nil {
		return nil, false, &exitError{2, err.Error()}
	}
	st, err := localstack.New(*root, m, os.Getenv)
	if err != nil {
		return nil, false, &exitError{2, err.Error()}
	}
	if *state != "" {
		if st.State, err = filepath.Abs(*state); err != nil {
			return nil, false, err
		}
	}
	return st, *lambda, nil
}

// printPorts lists this checkout's ports in both modes (make help, make status).
func printPorts() error {
	var cols [2][]int
	for i, m := range []localstack.Mode{localstack.Run, localstack.Test} {
		st, err := localstack.New(".", m, os.Getenv)
		if err != nil {
			return err
		}
		cols[i] = []int{st.DynamoDB, st.SES, st.KMS, st.API, st.AWS, st.Lambda}
	}
	fmt.Printf("  %-17s %-6s %-6s\n", "variable", "run", "test")
	for i, p := range localstack.Ports {
		fmt.Printf("  %-17s %-6s %-6s %s\n", p.Env, portText(cols[0][i]), portText(cols[1][i]), p.What)
	}
	return nil
}

func portText(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// rel is path relative to the working folder when it is under it.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

// printRunning is what `make run` prints once the gateway answers.
func printRunning(st *localstack.Stack) {
	url := localstack.URL(st.API)
	state := rel(st.State)
	fmt.Printf(`
tokengate is running.
  API            %[1]s   (routes from template.yaml; log: %[2]s)
  console        %[1]s/console/   (sign in by pasting the admin token)
  admin token    %[3]s/admin-token   (mode 0600)
  SES mail view  %[4]s
  status         make status
  stop           make stop   (data is kept; make reset deletes it)

Try it:
  export TOKEN=$(cat %[3]s/admin-token)
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/tokens/self
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
       -d '{"name":"ci-deploy","scopes":["tokens:read"],"expiresIn":"1m"}' %[1]s/tokens

`, url, rel(st.LogFile("gateway")), state, localstack.URL(st.SES))
}
