package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/boot"
	"tokengate/shared/fault"
	"tokengate/shared/principal"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

var enrollSecret = regexp.MustCompile(`tge_\d+_[0-9a-f]{64}`)

// mailedSecret reads the enrollment secret from the SES emulator's store, as the
// principal would from its inbox.
func mailedSecret(t *testing.T, to string) string {
	t.Helper()
	localtest.SES(t)
	mails := localtest.Mails(t, to)
	require.NotEmpty(t, mails, "no mail to %s", to)
	m := mails[len(mails)-1]
	s := enrollSecret.FindString(m.Text)
	require.NotEmpty(t, s, m.Text)
	require.Contains(t, m.HTML, s)
	return s
}

// TestEnrollment: a second admin gets a credential of its own through its mail, and
// approves what the first admin requested; a token the first admin minted for it cannot.
func TestEnrollment(t *testing.T) {
	t.Setenv("NOTIFICATION_SENDER", "tokengate@example.com")
	s := newStack(t)
	rootTok, _ := s.mint(rootOwn, token.CreateInput{Name: "root", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead}})
	addr := localtest.Address("carol")

	a := s.call(rootTok, "POST", "/principals", `{"id":"carol","name":"Carol","email":"`+addr+`","scopes":["tokens:admin","tokens:read","tokens:write","audit:read"]}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	require.Equal(t, "sent", a.body["enrollment"].(map[string]any)["status"])
	require.NotContains(t, a.raw, "tge_", "the admin never sees the secret")
	secret := mailedSecret(t, addr)
	for _, item := range s.snapshot() {
		require.NotContains(t, item, secret[6:20], "no table item holds the secret")
	}

	a = s.call("", "POST", "/enroll", `{"enrollmentToken":"`+secret+`"}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	require.Equal(t, "carol", a.body["ownerId"])
	require.Equal(t, "carol", a.body["mintedBy"])
	require.Equal(t, false, a.body["delegated"])
	carolTok := a.body["token"].(string)

	s.unchanged(func() {
		first := s.call("", "POST", "/enroll", `{"enrollmentToken":"`+secret+`"}`)
		refused(t, first, http.StatusBadRequest, "enrollmentToken")
		for _, bad := range []string{"tge_1_" + strings.Repeat("ab", 32), "tge_9_" + secret[6:], "nonsense", ""} {
			other := s.call("", "POST", "/enroll", `{"enrollmentToken":"`+bad+`"}`)
			refused(t, other, http.StatusBadRequest, "enrollmentToken")
			require.Equal(t, first.raw, other.raw, "one uniform answer for used, unknown and malformed secrets")
		}
	})

	// Another admin requests a high-risk token; carol approves it with her own token. (Not
	// root's request: root vouched for carol, who is no superuser; see foureyes_test.go.)
	_, pending := s.mint(access.Caller{TokenID: "admin-request", OwnerID: "admin", Scopes: rootOwn.Scopes},
		token.CreateInput{Name: "glass", Scopes: []string{access.EmergencyActivate}, Reason: "on call"})
	lent, _ := s.mint(rootOwn, token.CreateInput{Name: "for carol", OwnerID: "carol", Scopes: []string{access.TokensAdmin, access.TokensRead}})
	s.unchanged(func() {
		refused(t, s.call(lent, "POST", "/approvals/"+string(pending.ID)+"/approve", ""), http.StatusForbidden, "minted by root for carol")
		refused(t, s.call(lent, "POST", "/principals/carol/enrollment", ""), http.StatusForbidden, "delegated")
	})
	a = s.call(carolTok, "POST", "/approvals/"+string(pending.ID)+"/approve", `{"reason":"on call this week"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Equal(t, "active", a.body["status"])

	// An admin can send a new enrollment; the previous one stays used.
	a = s.call(rootTok, "POST", "/principals/carol/enrollment", "")
	require.Equal(t, http.StatusAccepted, a.status, a.raw)
	require.NotContains(t, a.raw, "tge_")
	again := mailedSecret(t, addr)
	require.NotEqual(t, secret, again)
}

// An enrollment secret expires after 24 hours.
func TestEnrollmentExpires(t *testing.T) {
	svc := localtest.Service(t, nil)
	tb := svc.Store.(*store.Table)
	clock := localtest.NewClock(time.Now())
	addr := localtest.Address("late")
	ctx := context.Background()
	require.NoError(t, tb.PutPrincipal(ctx, &access.Principal{ID: "late", Name: "Late", Email: addr, Kind: "user", Scopes: []string{access.TokensRead}, Version: 1}, 0))
	localtest.SES(t)
	clients := localtest.Clients(t)
	s := testSettings(svc, 0)
	s.Sender = "tokengate@example.com"
	e := boot.Assemble(s, tb, svc.Keys, svc.Catalog, &clients).Enroller
	e.Now = clock.Now
	_, err := e.Send(ctx, rootOwn, "late")
	require.NoError(t, err)
	secret := mailedSecret(t, addr)
	clock.Add(principal.EnrollmentTTL + time.Second)
	_, err = e.Exchange(ctx, secret)
	var inv *fault.InvalidError
	require.ErrorAs(t, err, &inv)
	require.Equal(t, "enrollmentToken", inv.Fields[0].Field)
}

// An admin's own credential carries authority, so no admin who is not a superuser can
// have one mailed to itself: neither by enrolling a principal holding tokens:admin nor by
// redirecting such a principal's email.
func TestAdminCredentialsComeFromSuperusers(t *testing.T) {
	t.Setenv("NOTIFICATION_SENDER", "tokengate@example.com")
	s := newStack(t)
	adminTok, _ := s.mint(adminOwn, token.CreateInput{Name: "admin", Scopes: adminOwn.Scopes})
	puppet := localtest.Address("puppet")
	s.unchanged(func() {
		refused(t, s.call(adminTok, "POST", "/principals", `{"id":"puppet","name":"Puppet","email":"`+puppet+`","scopes":["tokens:admin","tokens:read"]}`), http.StatusForbidden, "superuser")
	})
	localtest.SES(t)
	require.Empty(t, localtest.Mails(t, puppet), "no enrollment mail for a sock puppet")
	// The enrollment and the email of a principal holding tokens:admin are a superuser's.
	require.NoError(t, s.tb.PutPrincipal(context.Background(), &access.Principal{ID: "ann", Name: "Ann", Email: "ann@example.com", Kind: "user", Scopes: []string{access.TokensAdmin}, Version: 1}, 0))
	s.unchanged(func() {
		refused(t, s.call(adminTok, "POST", "/principals/ann/enrollment", ""), http.StatusForbidden, "superuser")
		refused(t, s.call(adminTok, "PATCH", "/principals/ann", `{"email":"`+puppet+`"}`), http.StatusForbidden, "superuser")
	})
	require.Empty(t, localtest.Mails(t, puppet))
}

// Each address may try 10 enrollment tokens a minute: guessing costs the guesser, not
// the table.
func TestEnrollmentIsRateLimited(t *testing.T) {
	s := newStack(t)
	// The calls take well under a minute, so they span at most two one-minute windows:
	// at most 20 are answered, and the 21st is refused at the latest.
	limited := 0
	for i := 0; i < 21; i++ {
		a := s.call("", "POST", "/enroll", `{"enrollmentToken":"nonsense"}`)
		if a.status == http.StatusTooManyRequests {
			refused(t, a, http.StatusTooManyRequests, "Retry-After")
			limited++
			continue
		}
		refused(t, a, http.StatusBadRequest, "enrollmentToken")
	}
	require.GreaterOrEqual(t, limited, 1)
}

// TestNewEnrollmentSupersedesTheOld: a new enrollment mail makes every earlier unused
// secret worthless (the same uniform 400, nothing written), and each send is audited.
// Two sends racing leave exactly one secret that works.
func TestNewEnrollmentSupersedesTheOld(t *testing.T) {
	t.Setenv("NOTIFICATION_SENDER", "tokengate@example.com")
	s := newStack(t)
	rootTok, _ := s.mint(rootOwn, token.CreateInput{Name: "root", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead}})
	addr := localtest.Address("dave")
	a := s.call(rootTok, "POST", "/principals", `{"id":"dave","name":"Dave","email":"`+addr+`","scopes":["tokens:read"]}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	old := mailedSecret(t, addr)
	a = s.call(rootTok, "POST", "/principals/dave/enrollment", "")
	require.Equal(t, http.StatusAccepted, a.status, a.raw)
	current := mailedSecret(t, addr)
	require.NotEqual(t, old, current)

	s.unchanged(func() {
		superseded := s.call("", "POST", "/enroll", `{"enrollmentToken":"`+old+`"}`)
		refused(t, superseded, http.StatusBadRequest, "enrollmentToken")
		unknown := s.call("", "POST", "/enroll", `{"enrollmentToken":"tge_1_`+strings.Repeat("ab", 32)+`"}`)
		require.Equal(t, unknown.raw, superseded.raw, "a superseded secret gets the uniform answer")
	})
	a = s.call("", "POST", "/enroll", `{"enrollmentToken":"`+current+`"}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	require.Equal(t, "dave", a.body["ownerId"])

	a = s.call(rootTok, "GET", "/audit?type=enroll.send", "")
	require.Equal(t, http.StatusOK, a.status, a.raw)
	items := a.body["items"].([]any)
	require.Len(t, items, 2, "both sends are audited")
	for _, it := range items {
		m := it.(map[string]any)
		require.Equal(t, "root", m["actorId"])
		require.Equal(t, "dave", m["ownerId"])
		require.NotContains(t, a.raw, old[6:20], "no secret in the audit")
		require.NotContains(t, a.raw, current[6:20])
	}

	// Two sends at once: both mail a secret, exactly one of them works.
	race := localtest.Address("erin")
	a = s.call(rootTok, "POST", "/principals", `{"id":"erin","name":"Erin","email":"`+race+`","scopes":["tokens:read"]}`)
	require.Equal(t, http.StatusCreated, a.status, a.raw)
	statuses := make(chan int, 2)
	for range 2 {
		go func() {
			req, _ := http.NewRequest("POST", s.url+"/principals/erin/enrollment", nil)
			req.Header.Set("Authorization", "Bearer "+rootTok)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	require.Equal(t, http.StatusAccepted, <-statuses)
	require.Equal(t, http.StatusAccepted, <-statuses)
	mails := localtest.Mails(t, race)
	require.Len(t, mails, 3, "the create's mail and the two sends'")
	worked := 0
	for _, m := range mails {
		a = s.call("", "POST", "/enroll", `{"enrollmentToken":"`+enrollSecret.FindString(m.Text)+`"}`)
		if a.status == http.StatusCreated {
			worked++
		} else {
			refused(t, a, http.StatusBadRequest, "enrollmentToken")
		}
	}
	require.Equal(t, 1, worked, "exactly one of the racing secrets works")
}
