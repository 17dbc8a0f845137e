package principal

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// The operations' own work, around the decisions: what they read, in which order, and
// what they write. The stores here answer as each test scripts them and record what
// they were asked; they keep nothing and check no versions (the table's conditions are
// shared/store's, tested against DynamoDB Local; the rules are the decisions', tested in
// decide_test.go).

// scripted answers GetPrincipal from principals (absent: fault.ErrNotFound), fails the
// reads of the ids in failing, every read with readErr and every write with writeErr
// when set, and records what it was asked.
type scripted struct {
	principals map[string]*access.Principal
	failing    map[string]error
	readErr    error
	writeErr   error
	reads      []string
	puts       []put
	deletes    []put
	page       []*access.Principal
}

type put struct {
	p         *access.Principal // nil for a delete
	id        string
	ifVersion int64
}

var _ Store = (*scripted)(nil)

func (s *scripted) GetPrincipal(_ context.Context, id string) (*access.Principal, error) {
	s.reads = append(s.reads, id)
	if s.readErr != nil {
		return nil, s.readErr
	}
	if err := s.failing[id]; err != nil {
		return nil, err
	}
	p, ok := s.principals[id]
	if !ok {
		return nil, fault.ErrNotFound
	}
	return p, nil
}

func (s *scripted) PutPrincipal(_ context.Context, p *access.Principal, ifVersion int64) error {
	s.puts = append(s.puts, put{p: p, id: p.ID, ifVersion: ifVersion})
	return s.writeErr
}

func (s *scripted) DeletePrincipal(_ context.Context, id string, ifVersion int64) error {
	s.deletes = append(s.deletes, put{id: id, ifVersion: ifVersion})
	return s.writeErr
}

func (s *scripted) ListPrincipals(_ context.Context, limit int, cursor string) ([]*access.Principal, string, error) {
	s.reads = append(s.reads, "list:"+cursor)
	if s.readErr != nil {
		return nil, "", s.readErr
	}
	return s.page[:min(limit, len(s.page))], "next", nil
}

func principals(ps ...*access.Principal) *scripted {
	s := &scripted{principals: map[string]*access.Principal{}}
	for _, p := range ps {
		s.principals[p.ID] = p
	}
	return s
}

func service(s *scripted) *Service {
	return &Service{Store: s, Catalog: rulesCatalog, Now: func() time.Time { return decideNow.Add(300 * time.Millisecond) }}
}

var (
	opsBob  = &access.Principal{ID: "bob", Name: "Bob", Email: "bob@example.com", Kind: KindUser, Scopes: []string{access.TokensRead}, Version: 4, Incarnation: "i1"}
	opsRoot = &access.Principal{ID: "root", Name: "Root", Kind: KindUser, Scopes: []string{access.TokensAdmin}, Superuser: true, Version: 2}
	opsAnn  = &access.Principal{ID: "ann", Name: "Ann", Kind: KindUser, Scopes: ruleAdmin.Scopes, Version: 1}
	opsSu   = &access.Principal{ID: "ann", Name: "Ann", Kind: KindUser, Scopes: ruleAdmin.Scopes, Superuser: true, Version: 1}
)

func TestOperationsRefuseBeforeReading(t *testing.T) {
	ctx := context.Background()
	s := principals(opsBob)
	svc := service(s)
	_, _, err := svc.List(ctx, ruleReader, 10, "")
	wantRule(t, "forbidden:tokens:admin", "", err)
	_, err = svc.Get(ctx, ruleReader, "bob")
	wantRule(t, "forbidden:tokens:admin", "", err)
	_, err = svc.Get(ctx, ruleAdmin, "not an id")
	wantRule(t, "notfound", "", err)
	_, err = svc.Create(ctx, ruleAdmin, CreateInput{ID: "x"})
	wantRule(t, "invalid:name", "", err)
	_, err = svc.Update(ctx, ruleReader, "bob", UpdateInput{Name: ptrTo("Robert")}, 0)
	wantRule(t, "forbidden:tokens:admin", "", err)
	_, err = svc.Update(ctx, ruleAdmin, "not an id", UpdateInput{Name: ptrTo("Robert")}, 0)
	wantRule(t, "notfound", "", err)
	wantRule(t, "forbidden:your own principal", "", svc.Delete(ctx, ruleAdmin, "ann"))
	wantRule(t, "notfound", "", svc.Delete(ctx, ruleAdmin, ""))
	super, err := svc.Superuser(ctx, ruleBorrow)
	require.NoError(t, err)
	require.False(t, super, "a delegated token is no superuser, whoever minted it")
	require.Empty(t, s.reads, "a refusal on the request alone reads nothing, so it tells nothing about what exists")
	require.Empty(t, s.puts)
	require.Empty(t, s.deletes)
}

func TestListAndGetAnswerFromTheStore(t *testing.T) {
	ctx := context.Background()
	s := principals(opsBob)
	s.page = []*access.Principal{opsAnn, opsBob, opsRoot}
	svc := service(s)
	page, next, err := svc.List(ctx, ruleAdmin, 2, "c1")
	require.NoError(t, err)
	require.Equal(t, []*access.Principal{opsAnn, opsBob}, page)
	require.Equal(t, "next", next)
	got, err := svc.Get(ctx, ruleAdmin, "bob")
	require.NoError(t, err)
	require.Same(t, opsBob, got)
	_, err = svc.Get(ctx, ruleAdmin, "nobody")
	require.ErrorIs(t, err, fault.ErrNotFound)

	s.readErr = errors.New("table unavailable")
	_, _, err = svc.List(ctx, ruleAdmin, 0, "")
	requireInternal(t, s.readErr, err)
	_, err = svc.Get(ctx, ruleAdmin, "bob")
	requireInternal(t, s.readErr, err)
}

// requireInternal: a store's failure is passed on wrapped, as no error the client is
// told about (shared/api answers 5xx).
func requireInternal(t *testing.T, cause, err error) {
	t.Helper()
	require.ErrorIs(t, err, cause)
	var forb *fault.ForbiddenError
	var inv *fault.InvalidError
	var st *fault.StateError
	require.False(t, errors.As(err, &forb) || errors.As(err, &inv) || errors.As(err, &st), "%v", err)
}

func TestCreateWritesTheDecidedPrincipalAsNew(t *testing.T) {
	ctx := context.Background()
	s := principals()
	p, err := service(s).Create(ctx, ruleAdmin, CreateInput{ID: "carl", Name: "Carl", Scopes: []string{access.TokensRead}})
	require.NoError(t, err)
	require.Equal(t, []put{{p: p, id: "carl", ifVersion: 0}}, s.puts, "only if neither its id nor its owner reference is taken")
	require.Equal(t, decideNow, p.CreatedAt, "whole seconds")
	require.Empty(t, s.reads, "a create that needs no superuser reads nothing")
}

func TestCreateOfATakenIdSaysWhy(t *testing.T) {
	ctx := context.Background()
	in := CreateInput{ID: "bob", Name: "Bob"}
	s := principals(opsBob)
	s.writeErr = fault.ErrConflict
	_, err := service(s).Create(ctx, ruleAdmin, in)
	wantRule(t, "state:exists already", "", err)
	require.Equal(t, []string{"bob"}, s.reads, "the id is read after the conflict, to say why")

	s = principals()
	s.writeErr = fault.ErrConflict
	_, err = service(s).Create(ctx, ruleAdmin, in)
	wantRule(t, "state:same owner reference", "", err)

	s = principals()
	s.writeErr = errors.New("table unavailable")
	_, err = service(s).Create(ctx, ruleAdmin, in)
	requireInternal(t, s.writeErr, err)
}

func TestCreateOfASuperuserAsksTheCallersPrincipal(t *testing.T) {
	ctx := context.Background()
	in := CreateInput{ID: "carl", Name: "Carl", Superuser: true}
	s := principals(opsAnn)
	_, err := service(s).Create(ctx, ruleAdmin, in)
	wantRule(t, "forbidden:make or unmake", "", err)
	require.Equal(t, []string{"ann"}, s.reads)
	require.Empty(t, s.puts)

	s = principals(opsSu)
	_, err = service(s).Create(ctx, ruleAdmin, in)
	require.NoError(t, err)
	require.Len(t, s.puts, 1)

	s = principals()
	_, err = service(s).Create(ctx, ruleAdmin, in)
	wantRule(t, "forbidden:make or unmake", "", err)
}

func TestUpdateWritesAtTheVersionItRead(t *testing.T) {
	ctx := context.Background()
	s := principals(opsBob)
	p, err := service(s).Update(ctx, ruleAdmin, "bob", UpdateInput{Name: ptrTo("Robert")}, 4)
	require.NoError(t, err)
	require.Equal(t, []put{{p: p, id: "bob", ifVersion: 4}}, s.puts)
	require.Equal(t, int64(5), p.Version)
	require.Equal(t, decideNow, p.UpdatedAt)
	require.Equal(t, "Bob", opsBob.Name)

	s.writeErr = fault.ErrConflict
	_, err = service(s).Update(ctx, ruleAdmin, "bob", UpdateInput{Name: ptrTo("Robert")}, 0)
	require.ErrorIs(t, err, fault.ErrConflict, "a concurrent change that won the race")
}

func TestUpdateThatChangesNothingWritesNothing(t *testing.T) {
	s := principals(opsBob)
	p, err := service(s).Update(context.Background(), ruleAdmin, "bob", UpdateInput{Name: ptrTo("Bob")}, 0)
	require.NoError(t, err)
	require.Same(t, opsBob, p)
	require.Empty(t, s.puts)
}

func TestUpdateRefusedWritesNothing(t *testing.T) {
	ctx := context.Background()
	s := principals(opsBob)
	_, err := service(s).Update(ctx, ruleAdmin, "bob", UpdateInput{Scopes: &[]string{"orders:read"}}, 0)
	wantRule(t, "forbidden:do not hold", "", err)
	_, err = service(s).Update(ctx, ruleAdmin, "bob", UpdateInput{Name: ptrTo("Robert")}, 3)
	require.ErrorIs(t, err, fault.ErrConflict, "a stale If-Match")
	_, err = service(s).Update(ctx, ruleAdmin, "nobody", UpdateInput{Name: ptrTo("Robert")}, 0)
	require.ErrorIs(t, err, fault.ErrNotFound)
	require.Empty(t, s.puts)
}

func TestUpdateOfASuperuserAsksTheCallersPrincipal(t *testing.T) {
	ctx := context.Background()
	in := UpdateInput{Scopes: &[]string{access.TokensRead}}
	s := principals(opsRoot, opsAnn)
	_, err := service(s).Update(ctx, ruleAdmin, "root", in, 0)
	wantRule(t, "forbidden:a superuser's roles", "", err)
	require.Equal(t, []string{"root", "ann"}, s.reads, "the target, then the caller")
	require.Empty(t, s.puts)

	s = principals(opsRoot, opsSu)
	_, err = service(s).Update(ctx, ruleAdmin, "root", in, 0)
	require.NoError(t, err)
	require.Len(t, s.puts, 1)

	s = principals(opsRoot)
	_, err = service(s).Update(ctx, ruleBorrow, "root", UpdateInput{Kind: ptrTo(KindApplication)}, 0)
	wantRule(t, "forbidden:a superuser's roles", "", err)
	require.Equal(t, []string{"root"}, s.reads, "a delegated token is no superuser: its minter is not read")

	s = principals(opsRoot)
	s.readErr = errors.New("table unavailable")
	_, err = service(s).Update(ctx, ruleAdmin, "root", in, 0)
	requireInternal(t, s.readErr, err)
}

func TestDeleteAtTheVersionItRead(t *testing.T) {
	ctx := context.Background()
	s := principals(opsBob)
	require.NoError(t, service(s).Delete(ctx, ruleAdmin, "bob"))
	require.Equal(t, []put{{id: "bob", ifVersion: 4}}, s.deletes)
	require.Equal(t, []string{"bob"}, s.reads)

	s.writeErr = fault.ErrConflict
	require.ErrorIs(t, service(s).Delete(ctx, ruleAdmin, "bob"), fault.ErrConflict)
	require.ErrorIs(t, service(s).Delete(ctx, ruleAdmin, "nobody"), fault.ErrNotFound)
}

func TestDeleteOfASuperuserAsksTheCallersPrincipal(t *testing.T) {
	ctx := context.Background()
	s := principals(opsRoot, opsAnn)
	wantRule(t, "forbidden:delete a superuser", "", service(s).Delete(ctx, ruleAdmin, "root"))
	require.Empty(t, s.deletes)
	s = principals(opsRoot, opsSu)
	require.NoError(t, service(s).Delete(ctx, ruleAdmin, "root"))
	require.Len(t, s.deletes, 1)
}

// The enrollment's stores, scripted likewise.

type enrollments struct {
	stored   *Enrollment // GetEnrollment's answer when its hash matches
	putErr   error
	getErr   error
	consume  error
	puts     []Enrollment
	events   []token.Event
	consumed []token.OwnerCheck
}

var _ Enrollments = (*enrollments)(nil)

func (e *enrollments) PutEnrollment(_ context.Context, en Enrollment, ev token.Event) error {
	e.puts, e.events = append(e.puts, en), append(e.events, ev)
	return e.putErr
}

func (e *enrollments) GetEnrollment(_ context.Context, hash []byte) (*Enrollment, error) {
	if e.getErr != nil {
		return nil, e.getErr
	}
	if e.stored == nil || !bytes.Equal(e.stored.Hash, hash) {
		return nil, fault.ErrNotFound
	}
	return e.stored, nil
}

func (e *enrollments) ConsumeEnrollment(_ context.Context, _ *Enrollment, owner token.OwnerCheck, _ time.Time) error {
	e.consumed = append(e.consumed, owner)
	return e.consume
}

type mailbox struct {
	err  error
	to   []string
	sent []EnrollmentMail
}

func (m *mailbox) SendEnrollment(_ context.Context, to string, mail EnrollmentMail) error {
	m.to, m.sent = append(m.to, to), append(m.sent, mail)
	return m.err
}

var testKeys = func() *token.Keyring {
	p, err := token.NewPepper(3, bytes.Repeat([]byte{9}, 32))
	if err != nil {
		panic(err)
	}
	k, err := token.NewKeyring(p)
	if err != nil {
		panic(err)
	}
	return k
}()

func enroller(ps *scripted) (*Enroller, *enrollments, *mailbox) {
	ens, mb := &enrollments{}, &mailbox{}
	return &Enroller{Principals: ps, Enrollments: ens, Mailer: mb,
		Tokens: &token.Service{Catalog: rulesCatalog, Keys: testKeys},
		Now:    func() time.Time { return decideNow }, Rand: bytes.NewReader(bytes.Repeat([]byte{0xab}, 32))}, ens, mb
}

func TestSendStoresOnlyTheKeyedHashAndMailsTheSecret(t *testing.T) {
	e, ens, mb := enroller(principals(opsBob))
	sent, err := e.Send(context.Background(), ruleAdmin, "bob")
	require.NoError(t, err)
	require.Equal(t, SentEnrollment{PrincipalID: "bob", Email: "bob@example.com", ExpiresAt: decideNow.Add(EnrollmentTTL)}, sent, "the admin learns no secret")

	raw := strings.Repeat("ab", 32)
	require.Equal(t, []string{"bob@example.com"}, mb.to)
	require.Equal(t, "tge_3_"+raw, mb.sent[0].Secret, "the secret goes to the principal's address")
	require.Len(t, ens.puts, 1)
	en := ens.puts[0]
	hash, _ := testKeys.HashWith(3, []byte(raw))
	require.Equal(t, hash, en.Hash, "the table holds its keyed hash under the current pepper")
	require.Equal(t, 3, en.PepperVersion)
	require.Equal(t, Fingerprint(opsBob), en.Fingerprint)
	require.Equal(t, "i1", en.Incarnation)
	require.Equal(t, token.EventEnrollSend, ens.events[0].Type)
	require.Equal(t, "ann", ens.events[0].ActorID)
	require.Equal(t, "bob", ens.events[0].OwnerID)
	require.NotContains(t, ens.events[0].Reason, raw)
}

func TestSendRefusedMailsNothing(t *testing.T) {
	ctx := context.Background()
	carol := &access.Principal{ID: "carol", Email: "carol@example.com", Roles: []string{"token-admin"}}
	e, ens, mb := enroller(principals(carol, opsAnn, &access.Principal{ID: "dan"}))
	_, err := e.Send(ctx, ruleBorrow, "carol")
	wantRule(t, "forbidden:authority is personal", "", err)
	_, err = e.Send(ctx, ruleAdmin, "carol")
	wantRule(t, "forbidden:holds tokens:admin", "", err)
	_, err = e.Send(ctx, ruleAdmin, "dan")
	wantRule(t, "invalid:email", "", err)
	_, err = e.Send(ctx, ruleAdmin, "nobody")
	require.ErrorIs(t, err, fault.ErrNotFound)
	require.Empty(t, ens.puts)
	require.Empty(t, mb.sent)

	e, ens, mb = enroller(principals(carol, opsSu))
	_, err = e.Send(ctx, ruleAdmin, "carol")
	require.NoError(t, err, "a superuser enrolls an admin")
	require.Len(t, ens.puts, 1)
	require.Len(t, mb.sent, 1)
}

func TestSendFailuresSayWhere(t *testing.T) {
	ctx := context.Background()
	down := errors.New("unavailable")
	e, ens, mb := enroller(principals(opsBob))
	ens.putErr = down
	_, err := e.Send(ctx, ruleAdmin, "bob")
	requireInternal(t, down, err)
	require.Empty(t, mb.sent, "nothing is mailed that was not stored")

	e, _, mb = enroller(principals(opsBob))
	mb.err = down
	_, err = e.Send(ctx, ruleAdmin, "bob")
	requireInternal(t, down, err)

	e, _, _ = enroller(principals(opsBob))
	e.Rand = bytes.NewReader(nil)
	_, err = e.Send(ctx, ruleAdmin, "bob")
	require.ErrorContains(t, err, "random")

	carol := &access.Principal{ID: "carol", Email: "carol@example.com", Roles: []string{"token-admin"}}
	ps := principals(carol)
	ps.failing = map[string]error{"ann": down}
	e, ens, _ = enroller(ps)
	_, err = e.Send(ctx, ruleAdmin, "carol")
	requireInternal(t, down, err)
	require.Empty(t, ens.puts, "no superuser read, no enrollment")
}

func TestExchangeRefusesWithOneAnswer(t *testing.T) {
	ctx := context.Background()
	raw := strings.Repeat("ab", 32)
	hash, _ := testKeys.HashWith(3, []byte(raw))
	sentTo := func(p *access.Principal) *Enrollment {
		return &Enrollment{Hash: hash, PepperVersion: 3, PrincipalID: p.ID, Incarnation: p.Incarnation, Fingerprint: Fingerprint(p),
			CreatedAt: decideNow.Add(-time.Hour), ExpiresAt: decideNow.Add(time.Hour)}
	}
	moved := *opsBob
	moved.Email = "elsewhere@example.com"
	tests := []struct {
		rule    string
		secret  string
		stored  *Enrollment
		p       *access.Principal
		consume error
		reads   int
	}{
		{"a malformed secret", "tge_3_xyz", nil, opsBob, nil, 0},
		{"a secret under a pepper that is not loaded", "tge_4_" + raw, sentTo(opsBob), opsBob, nil, 0},
		{"an unknown secret", "tge_3_" + strings.Repeat("cd", 32), sentTo(opsBob), opsBob, nil, 0},
		{"a principal that changed since", "tge_3_" + raw, sentTo(opsBob), &moved, nil, 1},
		{"a principal gone", "tge_3_" + raw, sentTo(opsBob), nil, nil, 1},
		{"a secret used meanwhile, by an overlapping exchange", " tge_3_" + raw + "\n", sentTo(opsBob), opsBob, fault.ErrNotFound, 1},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			ps := principals()
			if tt.p != nil {
				ps = principals(tt.p)
			}
			e, ens, _ := enroller(ps)
			ens.stored, ens.consume = tt.stored, tt.consume
			_, err := e.Exchange(ctx, tt.secret)
			require.Same(t, errBadEnrollment, err, "the answer tells a guesser nothing")
			require.Len(t, ps.reads, tt.reads)
		})
	}
	t.Run("a failed read is no answer about the secret", func(t *testing.T) {
		down := errors.New("unavailable")
		e, ens, _ := enroller(principals(opsBob))
		ens.getErr = down
		_, err := e.Exchange(ctx, "tge_3_"+raw)
		requireInternal(t, down, err)

		ps := principals(opsBob)
		ps.readErr = down
		e, ens, _ = enroller(ps)
		ens.stored = sentTo(opsBob)
		_, err = e.Exchange(ctx, "tge_3_"+raw)
		requireInternal(t, down, err)

		e, ens, _ = enroller(principals(opsBob))
		ens.stored, ens.consume = sentTo(opsBob), down
		_, err = e.Exchange(ctx, "tge_3_"+raw)
		requireInternal(t, down, err)
		require.Equal(t, []token.OwnerCheck{token.CheckOf(opsBob)}, ens.consumed, "consumed only while the principal is still the one read")
	})
}
