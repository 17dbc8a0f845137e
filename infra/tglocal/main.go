// Command tglocal runs tokengate on the local stack: `setup` creates the table, the KMS
// key, the pepper and a first admin token; `serve` is the local gateway, serving the
// routes template.yaml declares through the same handlers and authorizer as the Lambdas
// and running the expiry notifier on the template's schedule; `notify` runs it once now.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"tokengate/infra/localstack"
	"tokengate/infra/samtemplate"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Args[1] == "bootstrap" {
		// bootstrap has flags of its own and exits 2 when it refuses.
		exit(bootstrap(ctx, os.Args[2:]))
		return
	}
	switch os.Args[1] {
	case "stack":
		exit(stackCommand(ctx, os.Args[2:]))
		return
	case "gateway":
		exit(gatewayCommand(ctx, os.Args[2:]))
		return
	case "soak":
		exit(soak(ctx, os.Args[2:]))
		return
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	state := fs.String("state", ".local", "folder of the local stack's state")
	tmpl := fs.String("template", "template.yaml", "the SAM template")
	apiPort, err := localstack.APIPort.In(localstack.Run, os.Getenv)
	if err != nil {
		exit(err)
	}
	addr := fs.String("addr", localstack.Host+":"+strconv.Itoa(apiPort), "address the gateway listens on (loopback; default: TG_API_PORT)")
	lambdaMode := fs.Bool("lambda", false, "serve: run every function as its built bootstrap under the Lambda runtime interface emulator")
	statsAddr := fs.String("stats-addr", "", "serve: also answer the process's goroutines and memory as JSON on this loopback address (tglocal soak)")
	_ = fs.Parse(os.Args[2:])

	switch os.Args[1] {
	case "setup":
		err = setup(ctx, *state, *tmpl)
	case "serve":
		if *statsAddr != "" {
			if err = serveStats(*statsAddr); err != nil {
				break
			}
		}
		err = serve(ctx, *state, *tmpl, *addr, *lambdaMode)
	case "notify":
		err = notifyOnce(ctx, *state, *tmpl)
	case "env-vars":
		err = printEnvVars(*state, *tmpl, *addr)
	case "rotate-pepper":
		err = rotatePepper(ctx, *state)
	default:
		usage()
	}
	exit(err)
}

// exit ends the command: 0 without err, the code of an *exitError, else 1.
func exit(err error) {
	if err == nil {
		return
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	} else {
		slog.Error(os.Args[1]+" failed", "err", err)
	}
	fmt.Fprintln(os.Stderr, "tglocal "+os.Args[1]+": "+err.Error())
	os.Exit(code)
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: tglocal stack|gateway|setup|bootstrap|serve|notify|rotate-pepper|env-vars|soak [-state .local] [-template template.yaml] [-addr 127.0.0.1:3000] [-lambda]
  stack up|down|status|env|ports [-mode run|test]
          start, stop or show the local stack's emulators (DynamoDB Local, SES, local-kms);
          env prints their endpoints for the AWS SDK, ports this checkout's ports (TG_*_PORT)
  gateway start [-lambda] | stop
          run serve in the background on TG_API_PORT (make run), or stop it
  setup   create the table and KMS key of the local stack and write <state>/env
  bootstrap  create pepper v1, the first superuser and its root token (printed once);
          locally by default, or -stack NAME / -table T -key K [-region R] for AWS or LocalStack;
          exit 2 when a superuser exists (-add adds another). bootstrap -h lists the flags
  serve   run the local API gateway and the template's schedules (reads <state>/env written by setup);
          -lambda runs the functions' bootstraps under the runtime interface emulator (make build-local)
  notify  run the expiry notifier once now
  env-vars  print the --env-vars JSON for sam local against the local stack (make sam-env)
  rotate-pepper  add a pepper version: new hashes use it, older ones keep verifying
  soak    [-duration 10m] [-rate 40] drive a fresh gateway with a mix of calls (vegeta) and report
          throughput, p50/p99 per operation, errors, memory and goroutines (make soak)`)
	os.Exit(2)
}

func printEnvVars(state, tmplPath, gatewayAddr string) error {
	tmpl, err := samtemplate.Load(tmplPath)
	if err != nil {
		return err
	}
	local, err := readEnv(filepath.Join(state, "env"))
	if err != nil {
		return fmt.Errorf("%w: start the local stack with make run first", err)
	}
	out, err := envVars(tmpl, local, "http://"+awsRouterAddr(gatewayAddr))
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(out))
	return err
}
