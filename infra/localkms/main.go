// Command localkms serves local-kms (github.com/nsmithuk/local-kms, the KMS emulator
// LocalStack uses) on one loopback address: local-kms's own main listens on every
// interface and has no setting for the host. Same environment as local-kms
// (KMS_DATA_PATH, KMS_REGION, KMS_ACCOUNT_ID); keys live in a LevelDB under
// KMS_DATA_PATH, so they outlive a restart. It is its own Go module, installed by
// infra/install.sh into .local/tools/bin, so tokengate's go.mod stays free of it.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"

	kms "github.com/nsmithuk/local-kms/src"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8006", "host:port to listen on")
	flag.Parse()
	config.AWSAccountId = envOr("KMS_ACCOUNT_ID", "111122223333")
	config.AWSRegion = envOr("KMS_REGION", "us-east-1")
	path, err := filepath.Abs(envOr("KMS_DATA_PATH", "kms"))
	if err != nil {
		log.Fatal(err)
	}
	config.DatabasePath = path
	db := data.NewDatabase(path)
	defer db.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("local-kms listening on %s, data in %s", ln.Addr(), path)
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { kms.HandleRequest(w, r, db) }))
	log.Fatal(err)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
