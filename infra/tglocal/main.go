// Command tglocal runs tokengate on the local stack: `setup` creates the table, the KMS
// key, the pepper and a first admin token; `serve` is the local gateway, serving the
// routes template.yaml declares through the same handlers and authorizer as the Lambdas
// and running the expiry notifier on the template's schedule; `notify` runs it once now.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	state := fs.String("state", ".local", "folder of the local stack's state")
	tmpl := fs.String("template", "template.yaml", "the SAM template")
	addr := fs.String("addr", "127.0.0.1:3000", "address the gateway listens on (loopback)")
	_ = fs.Parse(os.Args[2:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "setup":
		err = setup(ctx, *state, *tmpl)
	case "serve":
		err = serve(ctx, *state, *tmpl, *addr)
	case "notify":
		err = notifyOnce(ctx, *state, *tmpl)
	case "rotate-pepper":
		err = rotatePepper(ctx, *state)
	default:
		usage()
	}
	if err != nil {
		slog.Error(os.Args[1]+" failed", "err", err)
		fmt.Fprintln(os.Stderr, "tglocal "+os.Args[1]+": "+err.Error())
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: tglocal setup|serve|notify|rotate-pepper [-state .local] [-template template.yaml] [-addr 127.0.0.1:3000]
  setup   create the table, KMS key and pepper on the local stack; mint the first admin token
  serve   run the local API gateway and the template's schedules (reads <state>/env written by setup)
  notify  run the expiry notifier once now
  rotate-pepper  add a pepper version: new hashes use it, older ones keep verifying`)
	os.Exit(2)
}
