package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
	"tokengate/shared/principal"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

func enrollment(t *testing.T, p *access.Principal, by string) (principal.Enrollment, audit.Event) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	e := principal.Enrollment{Hash: []byte(localtest.Name("hash")), PepperVersion: 1, PrincipalID: p.ID, Incarnation: p.Incarnation,
		Fingerprint: principal.Fingerprint(p), CreatedBy: by, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	ev := audit.Event{ID: localtest.Name("ev"), Time: now, Version: 1, Type: audit.EventEnrollSend, ActorID: by, OwnerID: p.ID}
	return e, ev
}

func count(t *testing.T, tb *store.Table) int {
	t.Helper()
	out, err := tb.Client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(tb.Name), ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	return len(out.Items)
}

// TestVouchedByOnlyGrows: an enrollment send adds its sender to the principal's vouchedBy
// without changing its version, and a change written from an earlier read (same
// version) keeps it: nobody is ever dropped from the set.
func TestVouchedByOnlyGrows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := localtest.Table(t)
	p := &access.Principal{ID: "pat", Name: "Pat", Email: "pat@example.com", Scopes: []string{access.TokensRead}, VouchedBy: []string{"root"}, Version: 1}
	require.NoError(t, tb.PutPrincipal(ctx, p, 0))
	read, err := tb.GetPrincipal(ctx, "pat")
	require.NoError(t, err)

	e, ev := enrollment(t, read, "ann")
	require.NoError(t, tb.PutEnrollment(ctx, e, ev))
	got, err := tb.GetPrincipal(ctx, "pat")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"ann", "root"}, got.VouchedBy)
	require.Equal(t, int64(1), got.Version, "a send does not change the version")

	// A change decided on the read before the send, adding sam.
	changed := *read
	changed.Name, changed.Email, changed.Scopes, changed.VouchedBy, changed.Version = "Patricia", "", nil, []string{"root", "sam"}, 2
	require.NoError(t, tb.PutPrincipal(ctx, &changed, 1))
	got, err = tb.GetPrincipal(ctx, "pat")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"ann", "root", "sam"}, got.VouchedBy, "the send's voucher survives")
	require.Equal(t, "Patricia", got.Name)
	require.Empty(t, got.Email, "an emptied attribute is removed")
	require.Empty(t, got.Scopes)
	require.Equal(t, p.Incarnation, got.Incarnation, "a change keeps the incarnation")
	require.ErrorIs(t, tb.PutPrincipal(ctx, &changed, 1), fault.ErrConflict, "a stale version")
	require.ErrorIs(t, tb.PutPrincipal(ctx, &access.Principal{ID: "nobody", Version: 2}, 1), fault.ErrConflict, "a change never creates")
}

// TestEnrollmentNeedsItsPrincipal: an enrollment for a principal deleted, or deleted and
// created anew, since it was read is refused and writes nothing (the vouchedBy ADD never
// creates a principal item).
func TestEnrollmentNeedsItsPrincipal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := localtest.Table(t)
	p := &access.Principal{ID: "pat", Name: "Pat", Email: "pat@example.com", Scopes: []string{access.TokensRead}, Version: 1}
	require.NoError(t, tb.PutPrincipal(ctx, p, 0))
	e, ev := enrollment(t, p, "ann")
	require.NoError(t, tb.DeletePrincipal(ctx, "pat", 1))
	n := count(t, tb)
	require.ErrorIs(t, tb.PutEnrollment(ctx, e, ev), fault.ErrConflict)
	require.Equal(t, n, count(t, tb), "nothing written")

	again := &access.Principal{ID: "pat", Name: "Pat", Email: "pat@example.com", Scopes: []string{access.TokensRead}, Version: 1}
	require.NoError(t, tb.PutPrincipal(ctx, again, 0))
	n = count(t, tb)
	require.ErrorIs(t, tb.PutEnrollment(ctx, e, ev), fault.ErrConflict, "another incarnation")
	require.Equal(t, n, count(t, tb), "nothing written")
	got, err := tb.GetPrincipal(ctx, "pat")
	require.NoError(t, err)
	require.Empty(t, got.VouchedBy)
}

// TestConsumeEnrollmentChecksPrincipal: an exchange uses the enrollment only while its
// principal is still as the exchange read it; else nothing is written.
func TestConsumeEnrollmentChecksPrincipal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := localtest.Table(t)
	p := &access.Principal{ID: "pat", Name: "Pat", Email: "pat@example.com", Scopes: []string{access.TokensRead}, Version: 1}
	require.NoError(t, tb.PutPrincipal(ctx, p, 0))
	e, ev := enrollment(t, p, "ann")
	require.NoError(t, tb.PutEnrollment(ctx, e, ev))
	got, err := tb.GetEnrollment(ctx, e.Hash)
	require.NoError(t, err)
	require.Equal(t, e.Fingerprint, got.Fingerprint)
	require.Equal(t, "ann", got.CreatedBy)
	require.True(t, got.UsedAt.IsZero())
	_, err = tb.GetEnrollment(ctx, []byte("unknown"))
	require.ErrorIs(t, err, fault.ErrNotFound)

	now := time.Now().UTC()
	stale := token.CheckOf(p)
	stale.Version = 7
	require.ErrorIs(t, tb.ConsumeEnrollment(ctx, got, stale, now), fault.ErrNotFound)
	got, err = tb.GetEnrollment(ctx, e.Hash)
	require.NoError(t, err)
	require.True(t, got.UsedAt.IsZero(), "not used by a refused exchange")

	require.NoError(t, tb.ConsumeEnrollment(ctx, got, token.CheckOf(p), now))
	require.ErrorIs(t, tb.ConsumeEnrollment(ctx, got, token.CheckOf(p), now), fault.ErrNotFound, "once")
	got, err = tb.GetEnrollment(ctx, e.Hash)
	require.NoError(t, err)
	require.False(t, got.UsedAt.IsZero())
}
