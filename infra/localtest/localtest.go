// Package localtest connects tests to the local stack (`make test` starts it): real
// DynamoDB Local, the KMS emulator and the SES emulator, through the real SDK clients.
// Each test gets a fresh table, dropped when it ends. Without the stack a test is
// skipped, except under CI=true, where a missing emulator fails the run.
package localtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"tokengate/infra/provision"
	"tokengate/infra/samtemplate"
	"tokengate/shared/access"
	"tokengate/shared/boot"
	"tokengate/shared/pepper"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// Clients returns SDK clients for the local stack, or skips (fails under CI=true) when
// it is not running.
func Clients(t testing.TB) boot.Clients {
	t.Helper()
	for _, k := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KMS"} {
		u := os.Getenv(k)
		if u == "" {
			missing(t, k+" is not set: run the tests with `make test`, which starts the local stack")
		}
		if pu, err := url.Parse(u); err != nil || !reachable(pu.Host) {
			missing(t, k+"="+u+" does not answer: run the tests with `make test`, which starts the local stack")
		}
	}
	c, err := boot.NewClients(boot.Settings{AWS: boot.LoadAWSSettings(os.Getenv)})
	require.NoError(t, err)
	return c
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

var reach sync.Map

func reachable(host string) bool {
	if v, ok := reach.Load(host); ok {
		return v.(bool)
	}
	conn, err := net.DialTimeout("tcp", host, time.Second)
	if err == nil {
		conn.Close()
	}
	reach.Store(host, err == nil)
	return err == nil
}

var (
	tmplOnce sync.Once
	tmpl     *samtemplate.Template
	tmplErr  error
)

// Template is the repository's template.yaml.
func Template(t testing.TB) *samtemplate.Template {
	t.Helper()
	tmplOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			tmplErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				tmplErr = os.ErrNotExist
				return
			}
			dir = parent
		}
		tmpl, tmplErr = samtemplate.Load(filepath.Join(dir, "template.yaml"))
	})
	require.NoError(t, tmplErr, "load template.yaml")
	return tmpl
}

// Name returns a unique name with the given prefix.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// Table creates a fresh table as template.yaml declares it and drops it after the test.
func Table(t testing.TB) *store.Table {
	t.Helper()
	c := Clients(t)
	name := Name("test")
	ctx := context.Background()
	_, err := provision.Table(ctx, c.DynamoDB, Template(t).Table, name)
	require.NoError(t, err)
	t.Cleanup(func() { _ = provision.DropTable(context.Background(), c.DynamoDB, name) })
	return &store.Table{Client: c.DynamoDB, Name: name, Retention: 30 * 24 * time.Hour}
}

var (
	keyOnce sync.Map // KMS key per KMS endpoint, shared by the tests of a package
)

// KMSKey returns a KMS key on the emulator, one per test binary.
func KMSKey(t testing.TB) string {
	t.Helper()
	c := Clients(t)
	ep := os.Getenv("AWS_ENDPOINT_URL_KMS")
	if v, ok := keyOnce.Load(ep); ok {
		return v.(string)
	}
	id, err := provision.Key(context.Background(), c.KMS, "tokengate test pepper key")
	require.NoError(t, err)
	// Parallel tests may both get here: every caller must see the same key, or a pepper
	// sealed under one is decrypted under the other (AccessDenied).
	v, _ := keyOnce.LoadOrStore(ep, id)
	return v.(string)
}

// Keyring loads (creating on first use, as bootstrap does) the pepper of tb through KMS.
func Keyring(t testing.TB, tb *store.Table) *token.Keyring {
	t.Helper()
	_, err := pepper.Ensure(context.Background(), Clients(t).KMS, KMSKey(t), tb)
	require.NoError(t, err)
	k, err := pepper.Load(context.Background(), Clients(t).KMS, KMSKey(t), tb)
	require.NoError(t, err)
	return k
}

// Clock is a settable clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Add moves the clock.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// Service returns a token service on a fresh table with the default policy.
func Service(t testing.TB, now func() time.Time) *token.Service {
	t.Helper()
	tb := Table(t)
	cat, err := access.NewCatalog()
	require.NoError(t, err)
	if now == nil {
		now = time.Now
	}
	SeedPrincipals(t, tb)
	return &token.Service{Store: tb, Principals: tb, Keys: Keyring(t, tb), Catalog: cat, Policy: token.DefaultPolicy(), Prefix: token.DefaultPrefix, Now: now}
}

// Principals the tests use: admin and root hold every built-in scope (root is a
// superuser), alice and bob hold tokens:read and tokens:write.
var Principals = []access.Principal{
	{ID: "admin", Name: "Admin", Email: "admin@example.com", Kind: "user", Scopes: builtin()},
	{ID: "root", Name: "Root", Email: "root@example.com", Kind: "user", Scopes: builtin(), Superuser: true},
	{ID: "alice", Name: "Alice", Email: "alice@example.com", Kind: "user", Scopes: []string{access.TokensRead, access.TokensWrite}},
	{ID: "bob", Name: "Bob", Email: "bob@example.com", Kind: "user", Scopes: []string{access.TokensRead, access.TokensWrite}},
}

func builtin() []string {
	var out []string
	for _, s := range access.BuiltinScopes {
		out = append(out, s.Name)
	}
	return out
}

// SeedPrincipals writes Principals to tb.
func SeedPrincipals(t testing.TB, tb *store.Table) {
	t.Helper()
	for _, p := range Principals {
		p := p
		p.Version = 1
		require.NoError(t, tb.PutPrincipal(context.Background(), &p, 0))
	}
}

// Admin is a caller holding every built-in scope but emergency:activate.
var Admin = access.Caller{TokenID: "admin-token", OwnerID: "admin", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead}}

// ChangePrincipal changes principal id in tb as PATCH /principals/{id} does: at a new
// version, only if nobody changed it meanwhile.
func ChangePrincipal(t testing.TB, tb *store.Table, id string, change func(p *access.Principal)) {
	t.Helper()
	ctx := context.Background()
	p, err := tb.GetPrincipal(ctx, id)
	require.NoError(t, err)
	old := p.Version
	change(p)
	p.Version = old + 1
	require.NoError(t, tb.PutPrincipal(ctx, p, old))
}

// CountingTransport counts the DynamoDB requests an SDK client sends, reads apart from
// writes (by the X-Amz-Target operation).
type CountingTransport struct {
	next          http.RoundTripper
	Reads, Writes atomic.Int64
}

func (c *CountingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	target := r.Header.Get("X-Amz-Target") // DynamoDB_20120810.GetItem
	switch target[strings.LastIndex(target, ".")+1:] {
	case "GetItem", "BatchGetItem", "Query", "Scan":
		c.Reads.Add(1)
	default:
		c.Writes.Add(1)
	}
	return c.next.RoundTrip(r)
}

// Counted is tb through an SDK client whose every request is counted.
func Counted(t testing.TB, tb *store.Table) (*store.Table, *CountingTransport) {
	ct := &CountingTransport{next: http.DefaultTransport}
	client := dynamodb.NewFromConfig(Clients(t).AWS.Copy(), func(o *dynamodb.Options) {
		o.BaseEndpoint = boot.Endpoint("DynamoDB")
		o.DisableValidateResponseChecksum = true
		o.HTTPClient = &http.Client{Transport: ct}
	})
	return &store.Table{Client: client, Name: tb.Name, Retention: tb.Retention}, ct
}
