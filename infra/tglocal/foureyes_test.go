package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/boot"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// Four eyes (docs/permissions.md, "Four eyes"): approval power and the credentials that
// carry it come from a superuser, an enrollment is void once what it was sent for
// changes, and nobody approves the requests of a principal that vouched for it. Each
// test is a measurement of issue 17 against the local gateway with the real authorizer;
// every refused request is compared with the whole table before and after.

// newCatalogStack is newStack with the catalog of infra/catalog.json, roles included,
// for the handlers and the authorizer alike.
func newCatalogStack(t *testing.T) *stack {
	t.Helper()
	svc := localtest.Service(t, nil)
	cat, err := access.LoadCatalog("../catalog.json")
	require.NoError(t, err)
	svc.Catalog = cat
	tb := svc.Store.(*store.Table)
	set := testSettings(svc, 0)
	set.CatalogFile = "../catalog.json"
	clients := localtest.Clients(t)
	auth, usage, err := boot.NewAuthorizer(set, tb, svc.Keys, nil)
	require.NoError(t, err)
	srv, err := NewServer(localtest.Template(t), boot.Assemble(set, tb, svc.Keys, cat, &clients), auth, usage)
	require.NoError(t, err)
	h := httptest.NewServer(srv.Handler)
	t.Cleanup(h.Close)
	return &stack{t: t, svc: svc, tb: tb, url: h.URL}
}

// enroll is the body of POST /enroll for secret.
func enroll(secret string) string { return `{"enrollmentToken":"` + secret + `"}` }

// samOwn is a second admin that is no superuser and for which nobody vouched.
var samOwn = access.Caller{TokenID: "sam-own", OwnerID: "sam", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin}}

func (s *stack) addSam() string {
	s.t.Helper()
	require.NoError(s.t, s.tb.PutPrincipal(context.Background(), &access.Principal{ID: "sam", Name: "Sam", Email: "sam@example.com", Kind: "user", Scopes: samOwn.Scopes, Version: 1}, 0))
	tok, _ := s.mint(samOwn, token.CreateInput{Name: "sam", Scopes: samOwn.Scopes})
	return tok
}

// rootAdminTok is a token of the superuser root's own with tokens:admin.
func (s *stack) rootAdminTok() string {
	s.t.Helper()
	tok, _ := s.mint(rootOwn, token.CreateInput{Name: "root", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead}})
	return tok
}

// vouchedBy reads a principal's vouchedBy as GET /principals/{id} shows it.
func (s *stack) vouchedBy(tok, id string) []any {
	s.t.Helper()
	a := s.call(tok, "GET", "/principals/"+id, "")
	require.Equal(s.t, http.StatusOK, a.status, a.raw)
	v, _ := a.body["vouchedBy"].([]any)
	return v
}

// Measurement 2 (High): a second identity through enrollment. A non-superuser admin
// creates a harmless principal with an address it controls (its enrollment goes out),
// promotes it to admin and exchanges the mail for that principal's own admin token,
// which approves the admin's own high-risk request; or re-addresses an existing
// non-admin principal, sends it an enrollment, and promotes it.
func TestFourEyesSecondIdentityThroughEnrollment(t *testing.T) {
	t.Setenv("NOTIFICATION_SENDER", "tokengate@example.com")
	s := newCatalogStack(t)
	adminTok, _ := s.mint(adminOwn, token.CreateInput{Name: "admin", Scopes: adminOwn.Scopes})
	rootTok := s.rootAdminTok()
	// The admin's own high-risk request, which a second identity of its own would approve.
	_, pending := s.mint(access.Caller{TokenID: "admin-request", OwnerID: "admin", Scopes: rootOwn.Scopes},
		token.CreateInput{Name: "break glass", Scopes: []string{access.EmergencyActivate, access.TokensRead}, Reason: "on call"})
	require.Equal(t, token.StatusPending, pending.Status)
	approve := "/approvals/" + string(pending.ID) + "/approve"

	// A new principal: creating it harmless, with the admin's address, is allowed and
	// mails it an enrollment. Promoting it is not.
	sock := localtest.Address("sock")
	a := s.call(adminTok, "POST", "/principals", `{"id":"sock","name":"Sock","email":"`+sock+`","scopes":["tokens:read"]}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	require.Equal(t, "sent", a.body["enrollment"].(map[string]any)["status"])
	sockMail := mailedSecret(t, sock)
	s.unchanged(func() {
		refused(t, s.call(adminTok, "PATCH", "/principals/sock", `{"scopes":["tokens:admin","tokens:read"]}`), http.StatusForbidden, "granting tokens:admin")
		refused(t, s.call(adminTok, "PATCH", "/principals/sock", `{"roles":["token-admin"]}`), http.StatusForbidden, "needs a superuser")
		refused(t, s.call(adminTok, "POST", "/principals", `{"id":"sock2","name":"Sock","email":"`+sock+`","scopes":["tokens:admin","tokens:read"]}`), http.StatusForbidden, "granting tokens:admin")
		refused(t, s.call(adminTok, "POST", "/principals", `{"id":"sock3","name":"Sock","roles":["token-admin"]}`), http.StatusForbidden, "granting tokens:admin")
	})
	// A superuser who promotes it, unaware, voids the mail the admin received...
	a = s.call(rootTok, "PATCH", "/principals/sock", `{"scopes":["tokens:admin","tokens:read"]}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	s.unchanged(func() {
		refused(t, s.call("", "POST", "/enroll", enroll(sockMail)), http.StatusBadRequest, "enrollmentToken")
	})
	// ...and a credential it mails afterwards, to the address the admin set, still cannot
	// approve the admin's requests: the admin vouched for the principal.
	require.ElementsMatch(t, []any{"admin", "root"}, s.vouchedBy(rootTok, "sock"))
	a = s.call(rootTok, "POST", "/principals/sock/enrollment", "")
	require.Equal(t, http.StatusAccepted, a.status, a.raw)
	a = s.call("", "POST", "/enroll", enroll(mailedSecret(t, sock)))
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	require.Equal(t, false, a.body["delegated"])
	sockTok := a.body["token"].(string)
	s.unchanged(func() {
		refused(t, s.call(sockTok, "POST", approve, `{"reason":"looks fine"}`), http.StatusForbidden, "admin vouched for you")
	})

	// An existing principal holding no tokens:admin: the admin may re-address it and
	// send it an enrollment, but not promote it, and a superuser's promotion voids the mail.
	puppet := localtest.Address("bob-puppet")
	a = s.call(adminTok, "PATCH", "/principals/bob", `{"email":"`+puppet+`"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	a = s.call(adminTok, "POST", "/principals/bob/enrollment", "")
	require.Equal(t, http.StatusAccepted, a.status, a.raw)
	bobMail := mailedSecret(t, puppet)
	s.unchanged(func() {
		refused(t, s.call(adminTok, "PATCH", "/principals/bob", `{"scopes":["tokens:admin","tokens:read","tokens:write"]}`), http.StatusForbidden, "granting tokens:admin")
		refused(t, s.call(adminTok, "PATCH", "/principals/bob", `{"roles":["token-admin"]}`), http.StatusForbidden, "granting tokens:admin")
	})
	a = s.call(rootTok, "PATCH", "/principals/bob", `{"scopes":["tokens:admin","tokens:read","tokens:write"]}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	s.unchanged(func() {
		refused(t, s.call("", "POST", "/enroll", enroll(bobMail)), http.StatusBadRequest, "enrollmentToken")
	})
	require.ElementsMatch(t, []any{"admin", "root"}, s.vouchedBy(rootTok, "bob"))

	// The pending request is still pending: nothing above approved it.
	a = s.call(rootTok, "GET", "/tokens/"+string(pending.ID), "")
	require.Equal(t, "pending", a.body["status"], a.raw)
}

// Measurement 6 (Medium): a token minted for a non-superuser admin (delegated) changes
// that admin's email, without a superuser, redirecting its notices and enrollments.
// Authority-bearing attributes never change through a delegated token, at any depth.
func TestFourEyesDelegatedTokenCannotChangeEmail(t *testing.T) {
	s := newStack(t)
	s.addSam()
	lent, _ := s.mint(samOwn, token.CreateInput{Name: "for admin", OwnerID: "admin", Type: token.TypeTemporary,
		Scopes: []string{access.TokensAdmin, access.TokensRead, access.TokensWrite}})
	a := s.call(lent, "POST", "/tokens", `{"name":"chained","scopes":["tokens:admin","tokens:read"],"type":"temporary","reason":"x"}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	require.Equal(t, "sam", a.body["mintedBy"], "delegation follows the chain")
	chained := a.body["token"].(string)
	fromRoot, _ := s.mint(rootOwn, token.CreateInput{Name: "root for admin", OwnerID: "admin", Type: token.TypeTemporary,
		Scopes: []string{access.TokensAdmin, access.TokensRead}})
	elsewhere := localtest.Address("sam-inbox")

	s.unchanged(func() {
		refused(t, s.call(lent, "PATCH", "/principals/admin", `{"email":"`+elsewhere+`"}`), http.StatusForbidden, "minted by sam for admin")
		refused(t, s.call(lent, "PATCH", "/principals/admin", `{"email":null}`), http.StatusForbidden, "delegated")
		refused(t, s.call(chained, "PATCH", "/principals/admin", `{"email":"`+elsewhere+`"}`), http.StatusForbidden, "minted by sam for admin")
		refused(t, s.call(fromRoot, "PATCH", "/principals/admin", `{"email":"`+elsewhere+`"}`), http.StatusForbidden, "minted by root for admin")
		refused(t, s.call(lent, "PATCH", "/principals/alice", `{"email":"`+elsewhere+`"}`), http.StatusForbidden, "delegated")
		refused(t, s.call(lent, "PATCH", "/principals/alice", `{"name":"Alice","email":"`+elsewhere+`"}`), http.StatusForbidden, "delegated")
		refused(t, s.call(lent, "POST", "/principals", `{"id":"drop","name":"Drop box","email":"`+elsewhere+`"}`), http.StatusForbidden, "delegated")
		refused(t, s.call(lent, "PATCH", "/principals/alice", `{"scopes":["tokens:read"]}`), http.StatusForbidden, "delegated")
		refused(t, s.call(lent, "POST", "/principals/alice/enrollment", ""), http.StatusForbidden, "delegated")
	})
	// What carries no authority still may change, and the admin's own token may change
	// its own address.
	a = s.call(lent, "PATCH", "/principals/alice", `{"name":"Alice A."}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	adminTok, _ := s.mint(adminOwn, token.CreateInput{Name: "admin", Scopes: adminOwn.Scopes})
	a = s.call(adminTok, "PATCH", "/principals/admin", `{"email":"admin-new@example.com"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
}

// enrollmentSentAt is the createdAt of principal id's enrollment items, read from the
// table as the exchange reads it.
func (s *stack) enrollmentSentAt(id string) string {
	s.t.Helper()
	out, err := s.tb.Client.Scan(context.Background(), &dynamodb.ScanInput{
		TableName: aws.String(s.tb.Name), ConsistentRead: aws.Bool(true),
		FilterExpression:          aws.String("begins_with(pk, :p) AND principalId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "ENROLL#"}, ":id": &types.AttributeValueMemberS{Value: id}},
	})
	require.NoError(s.t, err)
	require.Len(s.t, out.Items, 1)
	return out.Items[0]["createdAt"].(*types.AttributeValueMemberS).Value
}

// Measurement 8, first part (Low): an enrollment mail still works after its principal
// was deleted and created again under the same id within the same second.
func TestFourEyesEnrollmentVoidAfterRecreate(t *testing.T) {
	t.Setenv("NOTIFICATION_SENDER", "tokengate@example.com")
	s := newStack(t)
	ctx := context.Background()
	rootTok := s.rootAdminTok()

	// Re-created with every attribute as it was and the very second of the mail: only
	// the incarnation tells the two apart.
	addr := localtest.Address("phoenix")
	a := s.call(rootTok, "POST", "/principals", `{"id":"phoenix","name":"Phoenix","email":"`+addr+`","scopes":["tokens:read","tokens:write"]}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	mail := mailedSecret(t, addr)
	sent, err := time.Parse(time.RFC3339, s.enrollmentSentAt("phoenix"))
	require.NoError(t, err)
	a = s.call(rootTok, "DELETE", "/principals/phoenix", "")
	require.Equal(t, http.StatusNoContent, a.status, a.raw)
	require.NoError(t, s.tb.PutPrincipal(ctx, &access.Principal{ID: "phoenix", Name: "Phoenix", Email: addr, Kind: "user",
		Scopes: []string{access.TokensRead, access.TokensWrite}, CreatedAt: sent, UpdatedAt: sent, Version: 1}, 0))
	s.unchanged(func() {
		refused(t, s.call("", "POST", "/enroll", enroll(mail)), http.StatusBadRequest, "enrollmentToken")
	})

	// The same through the gateway alone, at the start of a second so that the mail,
	// the deletion and the re-creation share it (tried again if the machine was slow).
	for try := 1; ; try++ {
		id := "phoenix-" + strconv.Itoa(try)
		addr := localtest.Address(id)
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		a := s.call(rootTok, "POST", "/principals", `{"id":"`+id+`","name":"Phoenix","email":"`+addr+`","scopes":["tokens:read"]}`)
		require.Equal(t, http.StatusCreated, a.status, a.raw)
		a = s.call(rootTok, "DELETE", "/principals/"+id, "")
		require.Equal(t, http.StatusNoContent, a.status, a.raw)
		a = s.call(rootTok, "POST", "/principals", `{"id":"`+id+`","name":"Phoenix","scopes":["tokens:read"]}`)
		require.Equal(t, http.StatusCreated, a.status, a.raw)
		if a.body["createdAt"] != s.enrollmentSentAt(id) {
			require.Less(t, try, 5, "never managed to send, delete and re-create within one second")
			continue
		}
		mail := mailedSecret(t, addr)
		s.unchanged(func() {
			refused(t, s.call("", "POST", "/enroll", enroll(mail)), http.StatusBadRequest, "enrollmentToken")
		})
		break
	}
}

// Four eyes: a principal's approval power or credential that came from the requester
// does not approve the requester's requests, unless the approver is a superuser. Here a
// superuser creates and enrolls a non-superuser admin, whose approval of the superuser's
// own high-risk request is refused; another admin's works.
func TestFourEyesVoucheeCannotApprove(t *testing.T) {
	t.Setenv("NOTIFICATION_SENDER", "tokengate@example.com")
	s := newCatalogStack(t)
	rootTok := s.rootAdminTok()
	samTok := s.addSam()
	exchange := func(id string) string {
		t.Helper()
		addr := localtest.Address(id)
		a := s.call(rootTok, "POST", "/principals", `{"id":"`+id+`","name":"Vera","email":"`+addr+`","roles":["token-admin"]}`)
		require.Equal(t, http.StatusCreated, a.status, a.raw)
		a = s.call("", "POST", "/enroll", enroll(mailedSecret(t, addr)))
		require.Equal(t, http.StatusCreated, a.status, a.raw)
		require.Equal(t, false, a.body["delegated"])
		return a.body["token"].(string)
	}
	veraTok := exchange("vera")

	_, first := s.mint(rootOwn, token.CreateInput{Name: "glass", Scopes: []string{access.EmergencyActivate}, Reason: "on call"})
	_, second := s.mint(rootOwn, token.CreateInput{Name: "glass 2", Scopes: []string{access.EmergencyActivate}, Reason: "on call"})
	s.unchanged(func() {
		refused(t, s.call(veraTok, "POST", "/approvals/"+string(first.ID)+"/approve", `{"reason":"ok"}`), http.StatusForbidden, "root vouched for you")
		refused(t, s.call(veraTok, "POST", "/approvals/"+string(first.ID)+"/reject", `{"reason":"no"}`), http.StatusForbidden, "root vouched for you")
	})
	require.Equal(t, []any{"root"}, s.vouchedBy(veraTok, "vera"), "a principal sees who vouched for it")
	// Another admin, for whom root did not vouch, approves.
	a := s.call(samTok, "POST", "/approvals/"+string(first.ID)+"/approve", `{"reason":"checked"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Equal(t, "active", a.body["status"])

	// Vera approves the request of an admin that did not vouch for her.
	_, adminRequest := s.mint(access.Caller{TokenID: "admin-request", OwnerID: "admin", Scopes: rootOwn.Scopes},
		token.CreateInput{Name: "admin glass", Scopes: []string{access.EmergencyActivate}, Reason: "on call"})
	require.Equal(t, token.StatusPending, adminRequest.Status)
	a = s.call(veraTok, "POST", "/approvals/"+string(adminRequest.ID)+"/approve", `{"reason":"ok"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)

	// A superuser is trusted: root made sue a superuser and enrolled her, and she approves.
	sue := localtest.Address("sue")
	a = s.call(rootTok, "POST", "/principals", `{"id":"sue","name":"Sue","email":"`+sue+`","roles":["token-admin"],"superuser":true}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	a = s.call("", "POST", "/enroll", enroll(mailedSecret(t, sue)))
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	sueTok := a.body["token"].(string)
	a = s.call(sueTok, "POST", "/approvals/"+string(second.ID)+"/approve", `{"reason":"checked"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
}

// Every outstanding enrollment of a principal is void once its roles, scopes, email or
// superuser flag change (what its credential would carry, or where it goes); a change
// that carries no authority (its name) leaves it.
func TestFourEyesEnrollmentVoidAfterChange(t *testing.T) {
	t.Setenv("NOTIFICATION_SENDER", "tokengate@example.com")
	s := newCatalogStack(t)
	rootTok := s.rootAdminTok()
	unknown := s.call("", "POST", "/enroll", enroll("tge_1_"+strings.Repeat("ab", 32)))
	for _, tt := range []struct {
		id, patch string
		void      bool
	}{
		{"void-roles", `{"roles":["token-admin"]}`, true}, // the scopes it holds stay the same
		{"void-scopes", `{"scopes":["tokens:read"]}`, true},
		{"void-email", `{"email":"` + localtest.Address("elsewhere") + `"}`, true},
		{"void-superuser", `{"superuser":true}`, true},
		{"kept-name", `{"name":"Renamed"}`, false},
		{"kept-kind", `{"kind":"application"}`, false},
	} {
		addr := localtest.Address(tt.id)
		a := s.call(rootTok, "POST", "/principals", `{"id":"`+tt.id+`","name":"P","email":"`+addr+`","scopes":["tokens:read","tokens:write","tokens:admin","audit:read"]}`)
		require.Equal(t, http.StatusCreated, a.status, tt.id+": "+a.raw)
		mail := mailedSecret(t, addr)
		a = s.call(rootTok, "PATCH", "/principals/"+tt.id, tt.patch)
		require.Equal(t, http.StatusOK, a.status, tt.id+": "+a.raw)
		if !tt.void {
			a = s.call("", "POST", "/enroll", enroll(mail))
			require.Equal(t, http.StatusCreated, a.status, tt.id+": "+a.raw)
			continue
		}
		s.unchanged(func() {
			a := s.call("", "POST", "/enroll", enroll(mail))
			refused(t, a, http.StatusBadRequest, "enrollmentToken")
			require.Equal(t, unknown.raw, a.raw, tt.id+": the uniform answer, as for an unknown secret")
		})
	}
}
