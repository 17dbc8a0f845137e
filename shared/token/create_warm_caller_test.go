package token_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/authorizer"
	"tokengate/shared/fault"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// These tests run token.Service.Create on DynamoDB Local (they skip without the stack,
// and fail under CI=true) with the caller a warm authorizer lets through, and count the
// requests Create sends: they moved here from shared/authorizer, whose decisions they
// do not test.

// warmFixture is a token service on a fresh table and a warm authorizer over it (tokens
// and owners cached an hour), on one clock.
type warmFixture struct {
	svc   *token.Service
	clock *localtest.Clock
	auth  *authorizer.Authorizer
	table *store.Table
}

func newWarmFixture(t *testing.T) *warmFixture {
	clock := localtest.NewClock(time.Now().UTC().Truncate(time.Second))
	svc := localtest.Service(t, clock.Now)
	tb := svc.Store.(*store.Table)
	a := authorizer.New(authorizer.Config{Tokens: tb, Rates: tb, Keys: svc.Keys, Catalog: svc.Catalog, Prefix: "tg", Now: clock.Now, CacheTTL: time.Hour})
	return &warmFixture{svc: svc, clock: clock, auth: a, table: tb}
}

func (f *warmFixture) check(s string) authorizer.Decision {
	return f.auth.Check(context.Background(), authorizer.Request{Token: s, SourceIP: "203.0.113.9", Route: "GET /things"})
}

// A create of a token for the caller itself reads nothing: the authorizer read the owner
// when it narrowed the caller's scopes, and the write checks that the principal is still
// the one read. These tests make the authorizer's read stale, as a warm instance's cache
// does, and check that no create is decided on it.

// ownCaller is the caller of a token principal id minted for itself, as a warm authorizer
// (owners cached an hour) lets it through.
func ownCaller(t *testing.T, f *warmFixture, id string) (access.Caller, string) {
	t.Helper()
	ctx := context.Background()
	p, err := f.table.GetPrincipal(ctx, id)
	require.NoError(t, err)
	own, err := f.svc.Enroll(ctx, p)
	require.NoError(t, err)
	s := own.Plaintext.Reveal()
	d := f.check(s)
	require.True(t, d.Allow, d.Reason)
	require.Equal(t, p.Version, d.Caller.OwnerVersion)
	require.Equal(t, p.Incarnation, d.Caller.OwnerIncarnation)
	return d.Caller, s
}

// written counts a principal's tokens and the audit records it caused.
func written(t *testing.T, tb *store.Table, owner string) (tokens, records int) {
	t.Helper()
	ctx := context.Background()
	toks, _, err := tb.List(ctx, token.Filter{OwnerID: owner, Limit: 100, Now: time.Now()})
	require.NoError(t, err)
	evs, _, err := tb.Events(ctx, audit.Filter{ActorID: owner, Limit: 100})
	require.NoError(t, err)
	return len(toks), len(evs)
}

// countedService is f's service with every DynamoDB request counted.
func countedService(t *testing.T, f *warmFixture) (*token.Service, *localtest.CountingTransport) {
	tb, ct := localtest.Counted(t, f.table)
	svc := *f.svc
	svc.Store, svc.Principals = tb, tb
	return &svc, ct
}

func session(name string) token.CreateInput {
	return token.CreateInput{Name: name, Type: token.TypeTemporary, Scopes: []string{access.TokensRead}}
}

// TestCreateOwnTokenReadsOnlyItsParent: two requests, a GetItem of the calling token (the
// new token's parent, whose limits bound it) and the TransactWriteItems of the token, its
// audit record and the checks of its owner and parent; the token carries the owner's
// incarnation and works at once.
func TestCreateOwnTokenReadsOnlyItsParent(t *testing.T) {
	f := newWarmFixture(t)
	c, _ := ownCaller(t, f, "alice")
	svc, ct := countedService(t, f)
	created, err := svc.Create(context.Background(), c, session("ci"))
	require.NoError(t, err)
	require.EqualValues(t, 1, ct.Reads.Load(), "one read: the calling token")
	require.EqualValues(t, 1, ct.Writes.Load(), "one TransactWriteItems")
	require.Equal(t, token.ID(c.TokenID), created.Token.ParentID)
	require.Equal(t, c.OwnerIncarnation, created.Token.OwnerIncarnation)
	cold := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Catalog: f.svc.Catalog, Prefix: "tg", Now: f.clock.Now})
	require.True(t, cold.Check(context.Background(), authorizer.Request{Token: created.Plaintext.Reveal()}).Allow)
}

// TestCreateReusesItsCallingToken: an instance that kept the calling token at the version
// the authorizer read reads nothing for the next create through it; a calling token that
// changed since (the authorizer's read was stale) fails the parent check in the write,
// which writes nothing, and the create is decided again on the token as it is now.
func TestCreateReusesItsCallingToken(t *testing.T) {
	ctx := context.Background()
	f := newWarmFixture(t)
	c, _ := ownCaller(t, f, "alice")
	require.Positive(t, c.TokenVersion, "the authorizer passes the calling token's version")
	svc, ct := countedService(t, f)
	svc.CallingTokens = token.NewCallingTokens(10, time.Minute)
	_, err := svc.Create(ctx, c, session("first"))
	require.NoError(t, err)
	require.EqualValues(t, 1, ct.Reads.Load(), "the calling token, once")
	_, err = svc.Create(ctx, c, session("second"))
	require.NoError(t, err)
	require.EqualValues(t, 1, ct.Reads.Load(), "no read for the second")
	require.EqualValues(t, 2, ct.Writes.Load())

	// The calling token gets an IP allowlist; this instance still has it as it was, and
	// so does the caller (a warm authorizer).
	_, err = f.svc.Update(ctx, c, token.ID(c.TokenID), token.UpdateInput{IPAllowlist: &[]string{"203.0.113.0/24"}, Reason: "office"}, 0)
	require.NoError(t, err)
	out, err := svc.Create(ctx, c, session("after"))
	require.NoError(t, err)
	require.EqualValues(t, 2, ct.Reads.Load(), "read again after the write found the parent changed")
	require.EqualValues(t, 4, ct.Writes.Load(), "one refused write, one that wrote")
	require.Len(t, out.Token.Bounds.IPAllowlists, 1, "decided on the parent as it is now")
}

// TestCreateAfterTheOwnerChanged: the principal changed after a warm authorizer cached it.
// The write finds it changed and writes nothing; the owner is read again, the caller
// keeps only the scopes it still holds, and the create is decided again: allowed only if
// the principal as it is now allows it.
func TestCreateAfterTheOwnerChanged(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, tb *store.Table)
		want   error // nil: allowed
	}{
		{"renamed: allowed", func(t *testing.T, tb *store.Table) {
			localtest.ChangePrincipal(t, tb, "alice", func(p *access.Principal) { p.Name = "Alice B." })
		}, nil},
		{"given a scope: allowed", func(t *testing.T, tb *store.Table) {
			localtest.ChangePrincipal(t, tb, "alice", func(p *access.Principal) { p.Scopes = append(p.Scopes, access.AuditRead) })
		}, nil},
		{"the token's scope taken away: refused", func(t *testing.T, tb *store.Table) {
			localtest.ChangePrincipal(t, tb, "alice", func(p *access.Principal) { p.Scopes = []string{access.TokensWrite} })
		}, fault.ErrForbidden},
		{"tokens:write taken away: refused", func(t *testing.T, tb *store.Table) {
			localtest.ChangePrincipal(t, tb, "alice", func(p *access.Principal) { p.Scopes = []string{access.TokensRead} })
		}, fault.ErrForbidden},
		{"deleted: refused", func(t *testing.T, tb *store.Table) {
			p, err := tb.GetPrincipal(context.Background(), "alice")
			require.NoError(t, err)
			require.NoError(t, tb.DeletePrincipal(context.Background(), "alice", p.Version))
		}, fault.ErrForbidden},
		{"deleted and created again under the same id, same scopes: refused", func(t *testing.T, tb *store.Table) {
			ctx := context.Background()
			p, err := tb.GetPrincipal(ctx, "alice")
			require.NoError(t, err)
			require.NoError(t, tb.DeletePrincipal(ctx, "alice", p.Version))
			again := &access.Principal{ID: "alice", Name: "Alice", Scopes: p.Scopes, Version: 1}
			require.NoError(t, tb.PutPrincipal(ctx, again, 0))
			require.NotEqual(t, p.Incarnation, again.Incarnation)
		}, fault.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newWarmFixture(t)
			_, s := ownCaller(t, f, "alice")
			tokens, records := written(t, f.table, "alice")
			tt.change(t, f.table)
			d := f.check(s)
			require.True(t, d.Allow, "the warm instance still has the principal as it was")
			c := d.Caller
			svc, ct := countedService(t, f)
			created, err := svc.Create(context.Background(), c, session("after"))
			require.EqualValues(t, 2, ct.Reads.Load(), "the calling token, and the owner once, after the first write found it changed")
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				require.EqualValues(t, 1, ct.Writes.Load(), "one write, which wrote nothing")
				gotTokens, gotRecords := written(t, f.table, "alice")
				require.Equal(t, tokens, gotTokens, "no token written")
				require.Equal(t, records, gotRecords, "no audit record written")
				return
			}
			require.NoError(t, err)
			require.EqualValues(t, 2, ct.Writes.Load(), "the write that found the owner changed, then the one that wrote")
			p, err := f.table.GetPrincipal(context.Background(), "alice")
			require.NoError(t, err)
			require.Equal(t, p.Incarnation, created.Token.OwnerIncarnation)
			gotTokens, gotRecords := written(t, f.table, "alice")
			require.Equal(t, tokens+1, gotTokens)
			require.Equal(t, records+1, gotRecords)
		})
	}
}

// TestCreateWithADelegatedToken: a token admin minted for alice acts for alice, whose
// principal the write checks; it never mints for anyone else.
func TestCreateWithADelegatedToken(t *testing.T) {
	ctx := context.Background()
	f := newWarmFixture(t)
	lent, err := f.svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "lent", OwnerID: "alice", Type: token.TypeTemporary,
		Scopes: []string{access.TokensRead, access.TokensWrite}, Reason: "pairing"})
	require.NoError(t, err)
	d := f.check(lent.Plaintext.Reveal())
	require.True(t, d.Allow, d.Reason)
	c := d.Caller
	require.True(t, c.Delegated())
	alice, err := f.table.GetPrincipal(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, alice.Version, c.OwnerVersion, "the owner's version, not the minter's")

	svc, ct := countedService(t, f)
	created, err := svc.Create(ctx, c, session("for alice"))
	require.NoError(t, err)
	require.EqualValues(t, 1, ct.Reads.Load(), "the calling token")
	require.Equal(t, "admin", created.Token.MintedBy, "the minter follows the chain")

	_, err = svc.Create(ctx, c, token.CreateInput{Name: "for bob", OwnerID: "bob", Type: token.TypeTemporary, Scopes: []string{access.TokensRead}})
	require.ErrorIs(t, err, fault.ErrForbidden)

	localtest.ChangePrincipal(t, f.table, "alice", func(p *access.Principal) { p.Scopes = []string{access.TokensWrite} })
	tokens, records := written(t, f.table, "alice")
	_, err = svc.Create(ctx, c, session("after"))
	require.ErrorIs(t, err, fault.ErrForbidden, "alice no longer holds tokens:read")
	gotTokens, gotRecords := written(t, f.table, "alice")
	require.Equal(t, tokens, gotTokens)
	require.Equal(t, records, gotRecords)
}

// TestCreateWithAForgedOwner: an owner version or incarnation the principal does not have
// gains nothing. The Lambda context comes from the authorizer only and the local gateway
// sets it itself, but were one made up: a wrong version costs a read and is decided on
// the principal as it is; a wrong incarnation is a principal that does not exist.
func TestCreateWithAForgedOwner(t *testing.T) {
	ctx := context.Background()
	f := newWarmFixture(t)
	c, _ := ownCaller(t, f, "alice")

	later := c
	later.OwnerVersion += 5
	svc, ct := countedService(t, f)
	_, err := svc.Create(ctx, later, session("later"))
	require.NoError(t, err)
	require.EqualValues(t, 2, ct.Reads.Load(), "the calling token, and the owner")

	other := c
	other.OwnerIncarnation = "00000000000000000000000000000000"
	tokens, records := written(t, f.table, "alice")
	_, err = svc.Create(ctx, other, session("other"))
	require.ErrorIs(t, err, fault.ErrForbidden)
	gotTokens, gotRecords := written(t, f.table, "alice")
	require.Equal(t, tokens, gotTokens)
	require.Equal(t, records, gotRecords)

	none := c
	none.OwnerVersion, none.OwnerIncarnation = 0, ""
	svc, ct = countedService(t, f)
	_, err = svc.Create(ctx, none, session("unknown"))
	require.NoError(t, err, "no owner in the context (an older authorizer): read, as before")
	require.EqualValues(t, 2, ct.Reads.Load(), "the calling token, and the owner")
	require.EqualValues(t, 1, ct.Writes.Load())
}

// racingPrincipals runs change once, right after the first read of a principal: the
// principal changes between the read and the write.
type racingPrincipals struct {
	access.Principals
	once   sync.Once
	change func()
}

func (r *racingPrincipals) GetPrincipal(ctx context.Context, id string) (*access.Principal, error) {
	p, err := r.Principals.GetPrincipal(ctx, id)
	r.once.Do(r.change)
	return p, err
}

// TestCreateForAnotherPrincipal: a token for another principal reads that owner, and the
// write checks it is still as read: narrowed between read and write, the create is
// decided again on the principal as it is now.
func TestCreateForAnotherPrincipal(t *testing.T) {
	ctx := context.Background()
	f := newWarmFixture(t)
	admin, _ := ownCaller(t, f, "admin")
	in := token.CreateInput{Name: "for alice", OwnerID: "alice", Type: token.TypeTemporary, Scopes: []string{access.TokensWrite}, Reason: "ci"}

	svc, ct := countedService(t, f)
	_, err := svc.Create(ctx, admin, in)
	require.NoError(t, err)
	require.EqualValues(t, 2, ct.Reads.Load(), "the calling token, and the owner")
	require.EqualValues(t, 1, ct.Writes.Load())

	svc, ct = countedService(t, f)
	svc.Principals = &racingPrincipals{Principals: svc.Principals, change: func() {
		localtest.ChangePrincipal(t, f.table, "alice", func(p *access.Principal) { p.Scopes = []string{access.TokensRead} })
	}}
	tokens, records := written(t, f.table, "alice")
	_, err = svc.Create(ctx, admin, in)
	var invalid *fault.InvalidError
	require.ErrorAs(t, err, &invalid, "alice no longer holds tokens:write")
	require.Equal(t, "scopes", invalid.Fields[0].Field)
	require.EqualValues(t, 3, ct.Reads.Load(), "the calling token; alice, then alice again after the write found her changed")
	require.EqualValues(t, 1, ct.Writes.Load())
	gotTokens, gotRecords := written(t, f.table, "alice")
	require.Equal(t, tokens, gotTokens)
	require.Equal(t, records, gotRecords)
}

// TestConcurrentCreatesOfOneOwner: creates of one owner, all with the authorizer's read
// of it, while the principal is renamed twice: every create succeeds (a create whose
// check failed decides again), every rename too, and nothing is lost.
func TestConcurrentCreatesOfOneOwner(t *testing.T) {
	ctx := context.Background()
	f := newWarmFixture(t)
	c, _ := ownCaller(t, f, "alice")
	tokens, records := written(t, f.table, "alice")
	const workers, each = 6, 3
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := f.svc.Create(ctx, c, session("parallel"))
				errs <- err
			}
		}()
	}
	for i := 0; i < 2; i++ {
		localtest.ChangePrincipal(t, f.table, "alice", func(p *access.Principal) { p.Name += "!" })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	p, err := f.table.GetPrincipal(ctx, "alice")
	require.NoError(t, err)
	require.Equal(t, c.OwnerVersion+2, p.Version, "both renames")
	gotTokens, gotRecords := written(t, f.table, "alice")
	require.Equal(t, tokens+workers*each, gotTokens)
	require.Equal(t, records+workers*each, gotRecords)
}
