package faults_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/faults"
	"tokengate/shared/api"
	"tokengate/shared/boot"
	"tokengate/shared/fault"
	"tokengate/shared/pepper"
	"tokengate/shared/token"
)

// TestLeakReportUnderOutage: a leak report that cannot revoke because DynamoDB fails is
// not answered 202 as if done: it answers 503, and the reporter's retry revokes the
// token once, with one audit record.
func TestLeakReportUnderOutage(t *testing.T) {
	f := newFixture(t)
	svcs, err := boot.LoadWith(context.Background(), f.settings(map[string]string{"NOTIFICATION_SENDER": "tokengate@example.com"}), boot.LeakReporting)
	require.NoError(t, err)
	route := api.ReportLeaked(svcs).(*api.LeakedRoute)
	route.AnswerAfter = 0
	leaked := f.issue(alice, "leaked")
	report := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/leaked-tokens", strings.NewReader(`{"tokens":["`+leaked.Plaintext.Reveal()+`"]}`))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		f.timed(func() { route.ServeHTTP(w, r) })
		return w
	}

	f.deps.DynamoDB.Fail("TransactWriteItems", faults.DynamoDBThrottling, -1)
	w := report()
	require.Equal(t, http.StatusServiceUnavailable, w.Code, w.Body.String())
	require.Equal(t, api.RetryAfter, w.Header().Get("Retry-After"))
	f.deps.Clear(t)

	f.deps.DynamoDB.LoseAnswers("TransactWriteItems", 1) // done, the answer lost: the SDK's retry finds it done
	w = report()
	require.Contains(t, []int{http.StatusAccepted, http.StatusServiceUnavailable}, w.Code, w.Body.String())
	t.Logf("answer lost after the revocation: %d", w.Code)
	f.deps.Clear(t)
	w = report()
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	got, err := f.tb.Get(context.Background(), leaked.Token.ID)
	require.NoError(t, err)
	require.Equal(t, token.StatusRevoked, got.Status)
	evs, _, err := f.tb.Events(context.Background(), token.AuditFilter{TokenID: leaked.Token.ID, Type: token.EventLeakedRevoke})
	require.NoError(t, err)
	require.Len(t, evs, 1, "revoked once, recorded once")
	require.Zero(t, f.halfWritten())
}

// TestPepperRotationWithKMSDown: a pepper rotation with KMS down or failing adds no
// version, and the existing pepper keeps serving.
func TestPepperRotationWithKMSDown(t *testing.T) {
	f := newFixture(t)
	c, err := boot.NewClients(f.settings(nil))
	require.NoError(t, err)
	before, err := f.tb.SealedPeppers(context.Background())
	require.NoError(t, err)
	for _, on := range []func(){
		func() { f.deps.KMS.Down(t) },
		func() { f.deps.KMS.Fail("GenerateDataKey", faults.KMSInternal, -1) },
	} {
		on()
		start := time.Now()
		_, err = pepper.Rotate(context.Background(), c.KMS, f.key, f.tb)
		require.ErrorIs(t, err, fault.ErrUnavailable)
		require.Less(t, time.Since(start), boot.CallBudget+time.Second)
		f.deps.Clear(t)
	}
	after, err := f.tb.SealedPeppers(context.Background())
	require.NoError(t, err)
	require.Len(t, after, len(before), "no version added")
	out, err := f.svc.Create(context.Background(), alice, token.CreateInput{Name: "after", Scopes: []string{"tokens:read"}, Type: token.TypeTemporary})
	require.NoError(t, err, "the pepper in use still serves")
	require.NotEmpty(t, out.Plaintext.Reveal())
}
