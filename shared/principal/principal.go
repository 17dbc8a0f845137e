// Package principal runs the operations on principals: the users and applications that
// own tokens, with the roles and scopes they hold. It guards against escalation: nobody
// grants a scope it does not hold, nobody changes its own grants, and only a superuser
// makes or unmakes one. It knows nothing of HTTP or DynamoDB.
package principal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// Store keeps principals; shared/store implements it on the table. Principals are
// keyed by their owner reference (token.OwnerRef), so two ids with the same reference
// cannot both exist.
type Store interface {
	access.Principals
	// PutPrincipal writes p only if the stored version is still ifVersion (0: p is new
	// and neither its id nor its owner reference is taken), else returns fault.ErrConflict.
	PutPrincipal(ctx context.Context, p *access.Principal, ifVersion int64) error
	// DeletePrincipal removes a principal still at ifVersion, else returns fault.ErrConflict.
	DeletePrincipal(ctx context.Context, id string, ifVersion int64) error
	// ListPrincipals returns a page of principals by id; a bad cursor is a *fault.InvalidError.
	ListPrincipals(ctx context.Context, limit int, cursor string) (page []*access.Principal, next string, err error)
}

// Service runs the principal operations. Every method takes the caller the authorizer
// established and needs tokens:admin, except that a caller may read its own principal.
type Service struct {
	Store   Store
	Catalog *access.Catalog
	Now     func() time.Time
}

// Kinds of principal.
const (
	KindUser        = "user"
	KindApplication = "application"
)

// Limits on what a principal may carry; far above what a sane setup needs, they bound
// the item size and the work of every authorizer read.
const (
	maxRoles  = 20
	maxScopes = 50
	maxEmail  = 254 // RFC 5321 path limit
)

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Second) }

// CreateInput is what a caller sets on a new principal. Kind defaults to "user".
type CreateInput struct {
	ID        string
	Name      string
	Email     string
	Kind      string
	Roles     []string
	Scopes    []string
	Superuser bool
}

// UpdateInput changes a principal; nil leaves a field as it is. An empty Email removes
// the address, empty Roles or Scopes remove them all.
type UpdateInput struct {
	Name      *string
	Email     *string
	Kind      *string
	Roles     *[]string
	Scopes    *[]string
	Superuser *bool
}

var errNotAdmin = &fault.ForbiddenError{Reason: "managing principals needs the tokens:admin scope"}

// Every operation reads what it needs, asks a pure function below what to write (or why
// not), confirms the superuser a change needs, and writes. The rules live in the decide
// functions and checkChange, tested as tables (rules_test.go, decide_test.go); the
// methods only read and write.

// change is what a decision lets an operation write.
type change struct {
	// next is the principal as it will be stored; for an update that changes nothing,
	// the stored principal itself, and nothing is written (unchanged).
	next      *access.Principal
	unchanged bool
	// superuserFor says why only a superuser, acting through a token of its own, may
	// make the change; "" when any caller the decision allowed may.
	superuserFor string
}

// List returns a page of principals by id. limit is 1-100 (0: 50).
func (s *Service) List(ctx context.Context, c access.Caller, limit int, cursor string) ([]*access.Principal, string, error) {
	limit, err := checkList(c, limit)
	if err != nil {
		return nil, "", err
	}
	page, next, err := s.Store.ListPrincipals(ctx, limit, cursor)
	if err != nil {
		return nil, "", fmt.Errorf("list principals: %w", err)
	}
	return page, next, nil
}

// checkList refuses a listing by a caller without tokens:admin or with a limit out of
// range, and returns the page size (0: 50).
func checkList(c access.Caller, limit int) (int, error) {
	switch {
	case !c.Has(access.TokensAdmin):
		return 0, errNotAdmin
	case limit < 0 || limit > 100:
		return 0, fault.Invalid("limit", "must be a whole number from 1 to 100")
	case limit == 0:
		return 50, nil
	}
	return limit, nil
}

// Get returns a principal. Any caller may read its own ("who am I, what do I hold");
// reading another needs tokens:admin. Unknown ids are fault.ErrNotFound.
func (s *Service) Get(ctx context.Context, c access.Caller, id string) (*access.Principal, error) {
	if err := checkGet(c, id); err != nil {
		return nil, err
	}
	return s.load(ctx, id)
}

// checkGet refuses reading another principal without tokens:admin, before any read: the
// answer tells a caller without it nothing about which principals exist.
func checkGet(c access.Caller, id string) error {
	if id != c.OwnerID && !c.Has(access.TokensAdmin) {
		return &fault.ForbiddenError{Reason: "reading another principal needs the tokens:admin scope"}
	}
	return nil
}

func (s *Service) load(ctx context.Context, id string) (*access.Principal, error) {
	if !token.ValidOwnerID(id) {
		return nil, fault.ErrNotFound
	}
	p, err := s.Store.GetPrincipal(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get principal %s: %w", id, err)
	}
	return p, nil
}

// Create adds a principal. The caller can give it only scopes the caller holds (through
// roles or directly), and only a superuser can make it a superuser. An id that exists,
// or whose owner reference another principal has, is a *fault.StateError (409).
func (s *Service) Create(ctx context.Context, c access.Caller, in CreateInput) (*access.Principal, error) {
	ch, err := decideCreate(s.Catalog, c, in, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.confirm(ctx, c, ch.superuserFor); err != nil {
		return nil, err
	}
	err = s.Store.PutPrincipal(ctx, ch.next, 0)
	if errors.Is(err, fault.ErrConflict) {
		return nil, s.taken(ctx, ch.next.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("create principal %s: put: %w", ch.next.ID, err)
	}
	return ch.next, nil
}

// decideCreate decides a create by c at now: the principal to store, or why not. Only
// the conditional write can still refuse it (the id or its owner reference is taken).
func decideCreate(cat *access.Catalog, c access.Caller, in CreateInput, now time.Time) (change, error) {
	if !c.Has(access.TokensAdmin) {
		return change{}, errNotAdmin
	}
	if in.Kind == "" {
		in.Kind = KindUser
	}
	bad := &fault.InvalidError{}
	switch {
	case in.ID == "":
		bad.Add("id", "is required")
	case !token.ValidOwnerID(in.ID):
		bad.Add("id", "must be 1-128 characters: letters, digits and . _ @ : -, starting with a letter or digit")
	case audit.SystemActor(in.ID):
		bad.Add("id", fmt.Sprintf("%q is reserved for tokengate's own audit records", in.ID))
	}
	token.CheckName(bad, in.Name, true)
	checkEmail(bad, in.Email)
	checkKind(bad, in.Kind)
	checkRoles(cat, bad, in.Roles)
	checkScopes(cat, bad, in.Scopes)
	if err := bad.Err(); err != nil {
		return change{}, err
	}
	if in.ID == c.OwnerID || in.ID == c.Minter() {
		return change{}, &fault.ForbiddenError{Reason: "a principal cannot create itself"}
	}
	p := &access.Principal{
		ID: in.ID, Name: in.Name, Email: in.Email, Kind: in.Kind,
		Roles: sorted(in.Roles), Scopes: sorted(in.Scopes), Superuser: in.Superuser,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	none := &access.Principal{}
	need, err := checkChange(cat, c, none, p)
	if err != nil {
		return change{}, err
	}
	p.VouchedBy = vouchers(cat, c, none, p)
	return change{next: p, superuserFor: need}, nil
}

// taken says why a new principal's conditional write failed: its id exists, or another
// principal holds the same owner reference (the key of its tokens) and the id cannot be
// used at all.
func (s *Service) taken(ctx context.Context, id string) error {
	_, err := s.Store.GetPrincipal(ctx, id)
	return takenBecause(id, err)
}

// takenBecause says why the id of a refused create is taken, from the read of that id
// after the conflict (err: its error, nil when the principal was found).
func takenBecause(id string, err error) error {
	switch {
	case err == nil:
		return &fault.StateError{Reason: fmt.Sprintf("a principal with the id %q exists already", id)}
	case errors.Is(err, fault.ErrNotFound):
		return &fault.StateError{Reason: fmt.Sprintf("the id %q cannot be used: another principal has the same owner reference (the start of its token ids); choose another id", id)}
	default:
		return fmt.Errorf("create principal %s: read after conflict: %w", id, err)
	}
}

// Update changes a principal (PATCH: absent fields stay). ifVersion, when not 0, is the
// version the client last read (If-Match); a change since is fault.ErrConflict, as is a
// concurrent change that wins the race. Nobody changes its own roles, scopes or
// superuser flag, and a change may add only scopes the caller holds, so an admin can
// still rename a principal that holds more than the admin does (checkChange has every
// rule).
func (s *Service) Update(ctx context.Context, c access.Caller, id string, in UpdateInput, ifVersion int64) (*access.Principal, error) {
	if err := checkUpdate(s.Catalog, c, in); err != nil {
		return nil, err
	}
	old, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	ch, err := decideUpdate(s.Catalog, c, old, in, ifVersion, s.now())
	if err != nil || ch.unchanged {
		return ch.next, err
	}
	if err := s.confirm(ctx, c, ch.superuserFor); err != nil {
		return nil, err
	}
	if err := s.Store.PutPrincipal(ctx, ch.next, old.Version); err != nil {
		return nil, fmt.Errorf("update principal %s: put: %w", id, err)
	}
	return ch.next, nil
}

// checkUpdate refuses, before any read, an update by a caller without tokens:admin or
// one whose fields are invalid or absent.
func checkUpdate(cat *access.Catalog, c access.Caller, in UpdateInput) error {
	if !c.Has(access.TokensAdmin) {
		return errNotAdmin
	}
	bad := &fault.InvalidError{}
	if in == (UpdateInput{}) {
		bad.Add("", "nothing to change: give name, email, kind, roles, scopes or superuser")
	}
	if in.Name != nil {
		token.CheckName(bad, *in.Name, false)
	}
	if in.Email != nil {
		checkEmail(bad, *in.Email)
	}
	if in.Kind != nil {
		checkKind(bad, *in.Kind)
	}
	if in.Roles != nil {
		checkRoles(cat, bad, *in.Roles)
	}
	if in.Scopes != nil {
		checkScopes(cat, bad, *in.Scopes)
	}
	return bad.Err()
}

// decideUpdate decides update in (checked by checkUpdate) of the stored principal old by
// c at now: the principal to store, old itself when nothing changes (no write, no
// authority needed), or why not. ifVersion, when not 0, must be old's version.
func decideUpdate(cat *access.Catalog, c access.Caller, old *access.Principal, in UpdateInput, ifVersion int64, now time.Time) (change, error) {
	if ifVersion != 0 && old.Version != ifVersion {
		return change{}, fault.ErrConflict
	}
	p := *old
	if in.Name != nil {
		p.Name = *in.Name
	}
	if in.Email != nil {
		p.Email = *in.Email
	}
	if in.Kind != nil {
		p.Kind = *in.Kind
	}
	if in.Roles != nil {
		p.Roles = sorted(*in.Roles)
	}
	if in.Scopes != nil {
		p.Scopes = sorted(*in.Scopes)
	}
	if in.Superuser != nil {
		p.Superuser = *in.Superuser
	}
	if same(old, &p) {
		return change{next: old, unchanged: true}, nil
	}
	need, err := checkChange(cat, c, old, &p)
	if err != nil {
		return change{}, err
	}
	p.VouchedBy = vouchers(cat, c, old, &p)
	p.Version, p.UpdatedAt = old.Version+1, now
	return change{next: &p, superuserFor: need}, nil
}

// Delete removes a principal. Its tokens stay in the table but stop validating at once
// (within the authorizer's cache TTL): the authorizer refuses a token whose owner is
// gone. Nobody deletes itself, and only a superuser deletes a superuser.
func (s *Service) Delete(ctx context.Context, c access.Caller, id string) error {
	if err := checkDelete(c, id); err != nil {
		return err
	}
	p, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if err := s.confirm(ctx, c, decideDelete(p)); err != nil {
		return err
	}
	if err := s.Store.DeletePrincipal(ctx, id, p.Version); err != nil {
		return fmt.Errorf("delete principal %s: %w", id, err)
	}
	return nil
}

// checkDelete refuses, before any read, a delete by a caller without tokens:admin or of
// the caller's own principal (or, through a delegated token, its minter's).
func checkDelete(c access.Caller, id string) error {
	if !c.Has(access.TokensAdmin) {
		return errNotAdmin
	}
	if id == c.OwnerID || id == c.Minter() {
		return &fault.ForbiddenError{Reason: "you cannot delete your own principal; ask another admin"}
	}
	return nil
}

// decideDelete says why deleting the stored principal p needs a superuser, "" when not.
func decideDelete(p *access.Principal) (superuserFor string) {
	if p.Superuser {
		return needSuperuserDelete
	}
	return ""
}

// confirm refuses a change that needs a superuser (need says why; "" when it needs
// none) when the caller is none: it reads the caller's principal only then.
func (s *Service) confirm(ctx context.Context, c access.Caller, need string) error {
	if need == "" {
		return nil
	}
	super, err := superuser(ctx, s.Store, c)
	if err != nil {
		return err
	}
	if !super {
		return &fault.ForbiddenError{Reason: need}
	}
	return nil
}

// Why a change needs a superuser acting through a token of its own.
const (
	needSuperuserFlag   = "only a superuser can make or unmake a superuser"
	needSuperuserOwn    = "only a superuser, with a token of its own, can change a superuser's roles, scopes, email or kind, or another admin's email (where its enrollment mails go)"
	needSuperuserAdmin  = "granting tokens:admin (the power to approve) needs a superuser, with a token of its own: otherwise an admin could make a second identity that approves its own requests"
	needSuperuserDelete = "only a superuser can delete a superuser"
	needSuperuserEnroll = "the principal holds tokens:admin: only a superuser, with a token of its own, can send it an enrollment"
)

// checkChange decides, without reads, a change of a principal from old to p by caller c
// (old is the zero principal for a create). It refuses outright, in this order:
//   - a delegated token changing an authority-bearing attribute (roles, scopes, the
//     superuser flag, email): authority is personal, at any depth of delegation;
//   - a caller changing its own roles, scopes or superuser flag;
//   - a change adding scopes the calling token does not hold. It compares what the
//     change adds, not everything p holds, so an admin can edit a principal that holds
//     more than the admin, as long as the edit grants nothing new.
//
// Otherwise it returns why a superuser with a token of its own is needed, "" when not:
// to set or clear the superuser flag; to change a superuser's grants, email or kind; to
// grant tokens:admin to a principal that did not hold it (four eyes: approval power
// comes from a superuser); to change the email of another principal that holds
// tokens:admin before or after (where its enrollment mail goes).
func checkChange(cat *access.Catalog, c access.Caller, old, p *access.Principal) (superuserFor string, err error) {
	grants, email := !sameGrants(old, p), old.Email != p.Email
	if c.Delegated() && (grants || email) {
		return "", token.DelegatedError(c, "change roles, scopes, email or the superuser flag")
	}
	if (p.ID == c.OwnerID || p.ID == c.Minter()) && grants {
		return "", &fault.ForbiddenError{Reason: "you cannot change your own roles, scopes or superuser flag; ask another admin"}
	}
	added := access.Missing(cat.Holds(p), cat.Holds(old))
	if missing := access.Missing(added, c.Scopes); len(missing) > 0 {
		return "", &fault.ForbiddenError{Reason: "you cannot grant scopes you do not hold: " + strings.Join(missing, ", ")}
	}
	switch {
	case p.Superuser != old.Superuser:
		return needSuperuserFlag, nil
	case old.Superuser && (grants || email || old.Kind != p.Kind):
		return needSuperuserOwn, nil
	case slices.Contains(added, access.TokensAdmin):
		return needSuperuserAdmin, nil
	case email && p.ID != c.OwnerID && (holdsAdmin(cat, old) || holdsAdmin(cat, p)):
		return needSuperuserOwn, nil
	}
	return "", nil
}

// vouchers is p's vouchedBy after a change from old by c (old is the zero principal for
// a create): the caller joins when it grants tokens:admin, or sets the email of a
// principal other than its own (where its enrollment goes). Nobody is ever removed.
func vouchers(cat *access.Catalog, c access.Caller, old, p *access.Principal) []string {
	out := sorted(append(slices.Clone(old.VouchedBy), p.VouchedBy...))
	granted := slices.Contains(access.Missing(cat.Holds(p), cat.Holds(old)), access.TokensAdmin)
	addressed := p.Email != "" && p.Email != old.Email && p.ID != c.OwnerID
	if granted || addressed {
		out = sorted(append(out, c.OwnerID))
	}
	return out
}

// holdsAdmin reports whether p holds tokens:admin: its credentials carry authority
// (approvals), so where they are mailed is a superuser's decision.
func holdsAdmin(cat *access.Catalog, p *access.Principal) bool {
	return slices.Contains(cat.Holds(p), access.TokensAdmin)
}

// Superuser reports whether the caller acts as a superuser: its own token, and its own
// principal a superuser now.
func (s *Service) Superuser(ctx context.Context, c access.Caller) (bool, error) {
	return superuser(ctx, s.Store, c)
}

// superuser reads the caller's own principal: the flag is not in the token, and a
// principal deleted meanwhile is no superuser. A delegated caller is none, unread.
func superuser(ctx context.Context, ps access.Principals, c access.Caller) (bool, error) {
	if c.Delegated() {
		return false, nil // superuser status is personal: it never travels with a token minted for another
	}
	me, err := ps.GetPrincipal(ctx, c.OwnerID)
	return superuserOf(c, me, err)
}

// superuserOf decides from the read of c's own principal (me, or the read's error)
// whether c is a superuser: a principal gone is none, a failed read is an error.
func superuserOf(c access.Caller, me *access.Principal, err error) (bool, error) {
	if errors.Is(err, fault.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read caller %s: %w", c.OwnerID, err)
	}
	return me.Superuser, nil
}

func same(a, b *access.Principal) bool {
	return a.Name == b.Name && a.Email == b.Email && a.Kind == b.Kind && sameGrants(a, b)
}

func sameGrants(a, b *access.Principal) bool {
	return slices.Equal(sorted(a.Roles), sorted(b.Roles)) && slices.Equal(sorted(a.Scopes), sorted(b.Scopes)) && a.Superuser == b.Superuser
}

// sorted returns the names once each, in order; nil for none, which the table stores
// as an absent set.
func sorted(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := slices.Clone(names)
	sort.Strings(out)
	return slices.Compact(out)
}

// checkEmail accepts what the expiry notifier can send to: a bare address, no display
// name. Empty means none.
func checkEmail(bad *fault.InvalidError, email string) {
	if email == "" {
		return
	}
	if len(email) > maxEmail {
		bad.Add("email", fmt.Sprintf("must be at most %d characters", maxEmail))
		return
	}
	if _, err := access.ParseAddress(email); err != nil {
		bad.Add("email", "must be an email address such as ops@example.com, without a display name")
	}
}

func checkKind(bad *fault.InvalidError, kind string) {
	if kind != KindUser && kind != KindApplication {
		bad.Add("kind", "must be user or application")
	}
}

func checkRoles(cat *access.Catalog, bad *fault.InvalidError, roles []string) {
	if len(roles) > maxRoles {
		bad.Add("roles", fmt.Sprintf("at most %d roles", maxRoles))
		return
	}
	for _, r := range roles {
		if _, ok := cat.Role(r); !ok {
			bad.Add("roles", fmt.Sprintf("unknown role %q (GET /roles lists them)", fault.Excerpt(r, 64)))
		}
	}
}

func checkScopes(cat *access.Catalog, bad *fault.InvalidError, scopes []string) {
	if len(scopes) > maxScopes {
		bad.Add("scopes", fmt.Sprintf("at most %d scopes", maxScopes))
		return
	}
	for _, sc := range scopes {
		if _, ok := cat.Lookup(sc); !ok {
			bad.Add("scopes", fmt.Sprintf("unknown scope %q (GET /scopes lists them)", fault.Excerpt(sc, 64)))
		}
	}
}
