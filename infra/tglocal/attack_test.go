package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"tokengate/infra/gateway"
	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/restriction"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// stack is the local gateway on a fresh table: routes from template.yaml, the real
// authorizer, the real handlers, DynamoDB Local and the KMS emulator.
type stack struct {
	t   *testing.T
	svc *token.Service
	tb  *store.Table
	url string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	svc := localtest.Service(t, nil)
	tb := svc.Store.(*store.Table)
	s := testServer(t, localtest.Template(t), svc, 0, nil)
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	return &stack{t: t, svc: svc, tb: tb, url: srv.URL}
}

// mint creates a token as c (in the service, as an earlier API call would have) and
// returns its string.
func (s *stack) mint(c access.Caller, in token.CreateInput) (string, *token.Token) {
	s.t.Helper()
	if in.Reason == "" {
		in.Reason = "test"
	}
	created, err := s.svc.Create(context.Background(), c, in)
	require.NoError(s.t, err)
	return created.Plaintext.Reveal(), created.Token
}

type answer struct {
	status int
	ctype  string
	body   map[string]any
	raw    string
}

func (s *stack) call(tok, method, path, body string) answer {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	require.NoError(s.t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// refused asserts a problem+json answer with the status, whose detail or errors
// mention want.
func refused(t *testing.T, a answer, status int, want string) {
	t.Helper()
	require.Equal(t, status, a.status, a.raw)
	require.Equal(t, "application/problem+json", a.ctype, a.raw)
	require.Contains(t, a.raw, want)
}

// snapshot is every item of the table, as JSON, but what the authorizer writes on any
// request (usage counts, rate-limit counters): "writes nothing" compares two of them.
func (s *stack) snapshot() []string {
	s.t.Helper()
	out, err := s.tb.Client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.tb.Name), ConsistentRead: aws.Bool(true)})
	require.NoError(s.t, err)
	var items []string
	for _, it := range out.Items {
		if pk, _ := it["pk"].(*types.AttributeValueMemberS); pk != nil && strings.HasPrefix(pk.Value, "RATE#") {
			continue
		}
		m := map[string]any{}
		for k, v := range it {
			switch k {
			case "lastUsedAt", "lastUsedIp", "useCount":
				continue
			}
			m[k] = v
		}
		b, err := json.Marshal(m)
		require.NoError(s.t, err)
		items = append(items, string(b))
	}
	sort.Strings(items)
	return items
}

// unchanged runs f and asserts the table is as it was.
func (s *stack) unchanged(f func()) {
	s.t.Helper()
	before := s.snapshot()
	f()
	require.Equal(s.t, before, s.snapshot(), "a refused request wrote something")
}

var (
	// adminOwn is the localtest "admin" principal (tokens:admin, not a superuser) with
	// a token of its own.
	adminOwn = localtest.Admin
	aliceOwn = access.Caller{TokenID: "alice-own", OwnerID: "alice", Scopes: []string{access.TokensRead, access.TokensWrite}}
	rootOwn  = access.Caller{TokenID: "root-own", OwnerID: "root", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead, access.EmergencyActivate}}
)

// Reproduction 1 (High): a tokens:admin principal that is not a superuser mints a token
// owned by a superuser and uses it to make itself a superuser.
func TestReproduction1BorrowedSuperuser(t *testing.T) {
	s := newStack(t)
	adminTok, _ := s.mint(adminOwn, token.CreateInput{Name: "admin", Scopes: adminOwn.Scopes})
	a := s.call(adminTok, "POST", "/tokens", `{"name":"borrowed","ownerId":"root","scopes":["tokens:admin","tokens:read"],"reason":"x","expiresIn":"1w"}`)
	require.Equal(t, http.StatusCreated, a.status, "an admin may still mint for others: "+a.raw)
	require.Equal(t, true, a.body["delegated"])
	require.Equal(t, "admin", a.body["mintedBy"])
	borrowed := a.body["token"].(string)

	// Rotating a superuser's own token hands the admin a new secret, not the superuser's
	// authority: the rotated token is delegated from then on.
	_, rootOwnToken := s.mint(rootOwn, token.CreateInput{Name: "root's own", Scopes: []string{access.TokensAdmin, access.TokensRead}})
	a = s.call(adminTok, "POST", "/tokens/"+string(rootOwnToken.ID)+"/rotate", "")
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Equal(t, true, a.body["delegated"])
	require.Equal(t, "admin", a.body["mintedBy"])
	rotated := a.body["token"].(string)

	s.unchanged(func() {
		refused(t, s.call(rotated, "PATCH", "/principals/admin", `{"superuser":true}`), http.StatusForbidden, "delegated")
		refused(t, s.call(borrowed, "PATCH", "/principals/admin", `{"superuser":true}`), http.StatusForbidden, "delegated")
		refused(t, s.call(borrowed, "PATCH", "/principals/alice", `{"superuser":true}`), http.StatusForbidden, "delegated")
		refused(t, s.call(borrowed, "PATCH", "/principals/bob", `{"roles":["nothing-new"]}`), http.StatusBadRequest, "roles")
		refused(t, s.call(borrowed, "PATCH", "/principals/bob", `{"scopes":["tokens:admin"]}`), http.StatusForbidden, "delegated")
		refused(t, s.call(borrowed, "POST", "/tokens", `{"name":"for bob","ownerId":"bob","scopes":["tokens:read"],"expiresIn":"1w"}`), http.StatusForbidden, "delegated")
	})
}

// Reproduction 2 (High): an admin has its own pending high-risk token approved by
// minting a tokens:admin token owned by another admin (directly, or through a chain);
// a security officer who is not a superuser turns on emergency access the same way.
func TestReproduction2BorrowedApprovalAndEmergency(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	// admin's own request for a high-risk token: pending.
	_, pending := s.mint(access.Caller{TokenID: "admin-request", OwnerID: "admin", Scopes: rootOwn.Scopes},
		token.CreateInput{Name: "break glass", Scopes: []string{access.EmergencyActivate, access.TokensAdmin, access.TokensRead, access.TokensWrite}, Reason: "on call"})
	require.Equal(t, token.StatusPending, pending.Status)
	adminTok, _ := s.mint(adminOwn, token.CreateInput{Name: "admin", Scopes: adminOwn.Scopes})
	a := s.call(adminTok, "POST", "/tokens", `{"name":"borrowed","ownerId":"root","scopes":["tokens:admin","tokens:read","tokens:write"],"reason":"x","expiresIn":"1w"}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	borrowed := a.body["token"].(string)
	a = s.call(borrowed, "POST", "/tokens", `{"name":"chained","scopes":["tokens:admin","tokens:read"],"reason":"x","expiresIn":"1w"}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	require.Equal(t, "admin", a.body["mintedBy"], "delegation follows the chain")
	chained := a.body["token"].(string)

	s.unchanged(func() {
		refused(t, s.call(borrowed, "POST", "/approvals/"+string(pending.ID)+"/approve", ""), http.StatusForbidden, "minted by admin for root")
		refused(t, s.call(chained, "POST", "/approvals/"+string(pending.ID)+"/approve", ""), http.StatusForbidden, "minted by admin for root")
		refused(t, s.call(borrowed, "POST", "/approvals/"+string(pending.ID)+"/reject", ""), http.StatusForbidden, "delegated")
		refused(t, s.call(adminTok, "POST", "/approvals/"+string(pending.ID)+"/approve", ""), http.StatusForbidden, "requester")
	})

	// The security officer (admin, holds emergency:activate, no superuser) gets its
	// request approved by root, then borrows root's superuser status.
	_, err := s.svc.Approve(ctx, rootOwn, pending.ID, "ok")
	require.NoError(t, err)
	glassTok, glass := s.mint(access.Caller{TokenID: string(pending.ID), OwnerID: "admin", Scopes: pending.Scopes},
		token.CreateInput{Name: "root glass", OwnerID: "root", Scopes: []string{access.EmergencyActivate, access.TokensAdmin, access.TokensRead}, Reason: "x"})
	// A third admin approves it, unaware.
	sam := &access.Principal{ID: "sam", Name: "Sam", Kind: "user", Scopes: []string{access.TokensAdmin, access.TokensRead}, Version: 1}
	require.NoError(t, s.tb.PutPrincipal(ctx, sam, 0))
	_, err = s.svc.Approve(ctx, access.Caller{TokenID: "sam-own", OwnerID: "sam", Scopes: sam.Scopes}, glass.ID, "looks fine")
	require.NoError(t, err)
	restrictedTok, restricted := s.mint(aliceOwn, token.CreateInput{Name: "office only", Scopes: []string{access.TokensRead}, Type: token.TypeTemporary,
		IPAllowlist: []string{"203.0.113.0/24"}})
	s.unchanged(func() {
		refused(t, s.call(glassTok, "POST", "/tokens/"+string(restricted.ID)+"/emergency-access", `{"duration":"1h","reason":"x"}`), http.StatusForbidden, "delegated")
		a := s.call(restrictedTok, "GET", "/tokens/self", "")
		require.Equal(t, http.StatusForbidden, a.status, "the IP-restricted token is still refused from 127.0.0.1: "+a.raw)
	})
}

// Reproduction 3 (Medium): the owner removes restrictions an admin set, and re-enables
// a token an admin disabled.
func TestReproduction3RestrictionsBindTheOwner(t *testing.T) {
	s := newStack(t)
	aliceTok, _ := s.mint(aliceOwn, token.CreateInput{Name: "alice", Scopes: aliceOwn.Scopes, Type: token.TypeTemporary})
	_, bound := s.mint(adminOwn, token.CreateInput{Name: "bound", OwnerID: "alice", Scopes: []string{access.TokensRead}, Type: token.TypeTemporary,
		IPAllowlist:     []string{"203.0.113.0/24"},
		RateLimit:       &restriction.RateLimit{Limit: 10, Per: "minute"},
		TimeRestriction: &restriction.TimeWindow{Days: []string{"mon", "tue"}, StartHour: 9, EndHour: 17}})
	a := s.call(aliceTok, "GET", "/tokens/"+string(bound.ID), "")
	require.Equal(t, map[string]any{"ipAllowlist": "admin", "rateLimit": "admin", "timeRestriction": "admin"}, a.body["restrictionsSetBy"])
	_, disabled := s.mint(adminOwn, token.CreateInput{Name: "to disable", OwnerID: "alice", Scopes: []string{access.TokensRead}, Type: token.TypeTemporary})
	_, err := s.svc.Disable(context.Background(), adminOwn, disabled.ID, "suspected compromise")
	require.NoError(t, err)

	path := "/tokens/" + string(bound.ID)
	s.unchanged(func() {
		refused(t, s.call(aliceTok, "PATCH", path, `{"ipAllowlist":[],"reason":"travelling"}`), http.StatusForbidden, "tokens:admin")
		refused(t, s.call(aliceTok, "PATCH", path, `{"ipAllowlist":["0.0.0.0/0"],"reason":"travelling"}`), http.StatusForbidden, "tokens:admin")
		refused(t, s.call(aliceTok, "PATCH", path, `{"rateLimit":{"limit":100000,"per":"minute"},"reason":"more"}`), http.StatusForbidden, "tokens:admin")
		refused(t, s.call(aliceTok, "PATCH", path, `{"rateLimit":null,"reason":"more"}`), http.StatusForbidden, "tokens:admin")
		refused(t, s.call(aliceTok, "PATCH", path, `{"timeRestriction":null,"reason":"night shift"}`), http.StatusForbidden, "tokens:admin")
		refused(t, s.call(aliceTok, "PATCH", path, `{"timeRestriction":{"days":["mon","tue","sat"],"startHour":9,"endHour":17},"reason":"weekend"}`), http.StatusForbidden, "tokens:admin")
		refused(t, s.call(aliceTok, "POST", "/tokens/"+string(disabled.ID)+"/enable", `{"reason":"it was fine"}`), http.StatusForbidden, "disabled by another principal")
	})
	// Tightening stays the owner's right.
	a = s.call(aliceTok, "PATCH", path, `{"ipAllowlist":["203.0.113.7"],"rateLimit":{"limit":5,"per":"minute"},"timeRestriction":{"days":["mon"],"startHour":10,"endHour":12},"reason":"narrower"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	// Tightening never transfers a restriction: the admin who set them still owns them
	// (TestLineage4TighteningKeepsTheSetter follows up).
	require.Equal(t, map[string]any{"ipAllowlist": "admin", "rateLimit": "admin", "timeRestriction": "admin"}, a.body["restrictionsSetBy"])
}

// Reproduction 4 (Medium): temporary tokens that live a year.
func TestReproduction4TemporaryMeansTemporary(t *testing.T) {
	s := newStack(t)
	aliceTok, short := s.mint(aliceOwn, token.CreateInput{Name: "alice", Scopes: aliceOwn.Scopes, Type: token.TypeTemporary})
	s.unchanged(func() {
		refused(t, s.call(aliceTok, "POST", "/tokens", `{"name":"long","scopes":["tokens:read"],"type":"temporary","expiresIn":"1y"}`), http.StatusBadRequest, `"field":"expiresIn"`)
		refused(t, s.call(aliceTok, "POST", "/tokens", `{"name":"long","scopes":["tokens:read"],"type":"temporary","expiresAt":"`+time.Now().Add(13*time.Hour).UTC().Format(time.RFC3339)+`"}`), http.StatusBadRequest, `"field":"expiresAt"`)
		refused(t, s.call(aliceTok, "POST", "/tokens", `{"name":"long","scopes":["tokens:read"],"type":"temporary","expiresIn":"never"}`), http.StatusBadRequest, "expiresIn")
		refused(t, s.call(aliceTok, "POST", "/tokens/"+string(short.ID)+"/rotate", `{"expiresIn":"1y"}`), http.StatusBadRequest, `"field":"expiresIn"`)
	})
}

// Reproduction 5 (Low): a tokens:admin non-superuser empties a superuser out and takes
// its email.
func TestReproduction5SuperusersAreProtected(t *testing.T) {
	s := newStack(t)
	adminTok, _ := s.mint(adminOwn, token.CreateInput{Name: "admin", Scopes: adminOwn.Scopes})
	s.unchanged(func() {
		refused(t, s.call(adminTok, "PATCH", "/principals/root", `{"roles":[],"scopes":[]}`), http.StatusForbidden, "superuser")
		refused(t, s.call(adminTok, "PATCH", "/principals/root", `{"email":"admin@example.com"}`), http.StatusForbidden, "superuser")
		refused(t, s.call(adminTok, "PATCH", "/principals/root", `{"kind":"application"}`), http.StatusForbidden, "superuser")
		refused(t, s.call(adminTok, "DELETE", "/principals/root", ""), http.StatusForbidden, "superuser")
	})
}

// Reproduction 6 (Low): lenient input.
func TestReproduction6StrictInput(t *testing.T) {
	s := newStack(t)
	rootTok, _ := s.mint(rootOwn, token.CreateInput{Name: "root", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead}})
	s.unchanged(func() {
		refused(t, s.call(rootTok, "POST", "/tokens", `{"name":"a","NAME":"b","type":"temporary","Type":"permanent","scopes":["tokens:read"]}`), http.StatusBadRequest, "case-sensitive")
		refused(t, s.call(rootTok, "POST", "/tokens", `{"name":"a","name":"b","type":"temporary","scopes":["tokens:read"]}`), http.StatusBadRequest, "given twice")
		refused(t, s.call(rootTok, "POST", "/tokens", "{\"name\":\"a\xff\",\"type\":\"temporary\",\"scopes\":[\"tokens:read\"]}"), http.StatusBadRequest, "UTF-8")
		refused(t, s.call(rootTok, "POST", "/tokens", `{"name":"a\ud800","type":"temporary","scopes":["tokens:read"]}`), http.StatusBadRequest, "surrogate")
		refused(t, s.call(rootTok, "POST", "/tokens", `{"name":"a\udc00\ud800","type":"temporary","scopes":["tokens:read"]}`), http.StatusBadRequest, "surrogate")
		refused(t, s.call(rootTok, "GET", "/audit?actor=carol%zz", ""), http.StatusBadRequest, "malformed")
		refused(t, s.call(rootTok, "GET", "/tokens/self?verbose=1", ""), http.StatusBadRequest, "verbose")
		refused(t, s.call(rootTok, "GET", "/principals/bob?x=%41", ""), http.StatusBadRequest, "x")
		refused(t, s.call(rootTok, "PATCH", "/principals/bob", `{"superuser":null}`), http.StatusBadRequest, "superuser")
		refused(t, s.call(rootTok, "POST", "/principals", `{"id":"dave","name":"Dave","superuser":null}`), http.StatusBadRequest, "superuser")
		refused(t, s.call(rootTok, "PATCH", "/principals/bob", `{"Name":"Robert"}`), http.StatusBadRequest, "case-sensitive")
		refused(t, s.call("", "POST", "/leaked-tokens?x", `{"tokens":["tg_x"]}`), http.StatusBadRequest, "x")
		refused(t, s.call("", "POST", "/enroll", `{"enrollmentToken":"tge_1_00","EnrollmentToken":"x"}`), http.StatusBadRequest, "case-sensitive")
	})
	a := s.call(rootTok, "POST", "/tokens", `{"name":"mapped","scopes":["tokens:read"],"type":"temporary","ipAllowlist":["::ffff:10.1.0.0/112","::ffff:192.0.2.1"]}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	require.Equal(t, []any{"10.1.0.0/16", "192.0.2.1/32"}, a.body["ipAllowlist"], "IPv4-mapped ranges are their IPv4 form, as single addresses are")
	refused(t, s.call(rootTok, "POST", "/tokens", `{"name":"wide","scopes":["tokens:read"],"type":"temporary","ipAllowlist":["::ffff:0:0/80"]}`), http.StatusBadRequest, "ipAllowlist[0]")
}

// The local gateway drops a request whose body never finishes, as API Gateway does,
// instead of holding the connection.
func TestGatewayDropsUnfinishedBodies(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	lim := gateway.APIGatewayLimits
	lim.ReadTimeout, lim.MaxPayload = 500*time.Millisecond, 1<<10
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = gateway.Server(h, lim)
	srv.Start()
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"name\":"))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadAll(conn)
	require.NoError(t, err, "the gateway closes the connection (EOF) long before the client's own 10s deadline")

	res, err := http.Post(srv.URL, "application/json", strings.NewReader(strings.Repeat("x", 2<<10)))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, "API Gateway's payload limit")
}
