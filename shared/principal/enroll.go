package principal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// EnrollmentTTL is how long an enrollment secret can be exchanged.
const EnrollmentTTL = 24 * time.Hour

// enrollPrefix starts every enrollment secret, so scanners and people can tell it from a
// token: tge_<pepper version>_<64 hex digits>.
const enrollPrefix = "tge_"

// Enrollment is a one-time secret a principal exchanges for its first token. Only its
// keyed hash is stored.
type Enrollment struct {
	Hash          []byte
	PepperVersion int
	PrincipalID   string
	// Incarnation is the principal's when the enrollment was sent: its sender is recorded
	// in that principal's vouchedBy, and no other's.
	Incarnation string
	// Fingerprint is the principal's authority-bearing attributes when the enrollment was
	// sent (Fingerprint): once any of them changes, the enrollment cannot be exchanged.
	Fingerprint string
	CreatedBy   string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time // zero until exchanged
}

// Enrollments keeps enrollment secrets (shared/store implements it on the table).
type Enrollments interface {
	// PutEnrollment stores e as its principal's current enrollment (every earlier one
	// can no longer be exchanged), adds e.CreatedBy to the principal's vouchedBy
	// (without changing its version) and writes its audit record ev, in one
	// transaction; fault.ErrConflict when the principal is no longer incarnation
	// e.Incarnation.
	PutEnrollment(ctx context.Context, e Enrollment, ev token.Event) error
	// GetEnrollment returns the enrollment with this keyed hash, used or not;
	// fault.ErrNotFound when there is none.
	GetEnrollment(ctx context.Context, hash []byte) (*Enrollment, error)
	// ConsumeEnrollment marks e used, once, in one transaction that also checks that it
	// is unused, unexpired at now and still its principal's current one, and that the
	// principal is still owner (id, incarnation, version); fault.ErrNotFound otherwise,
	// with nothing written.
	ConsumeEnrollment(ctx context.Context, e *Enrollment, owner token.OwnerCheck, now time.Time) error
}

// Fingerprint is a hash of what makes a principal's credential carry authority: its
// incarnation, roles, scopes, email and superuser flag. An enrollment records it when
// sent and works only while the principal still has it: a change of any of them (a
// promotion, a new address, a deletion and re-creation under the same id, even within
// the same second) voids every outstanding enrollment.
func Fingerprint(p *access.Principal) string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	field("tokengate principal fingerprint v1")
	field(p.ID)
	field(p.Incarnation)
	for _, set := range [][]string{p.Roles, p.Scopes} {
		names := sorted(set)
		field(strconv.Itoa(len(names)))
		for _, n := range names {
			field(n)
		}
	}
	field(p.Email)
	field(strconv.FormatBool(p.Superuser))
	return hex.EncodeToString(h.Sum(nil))
}

// EnrollMailer sends the enrollment mail (shared/email implements it on SES).
type EnrollMailer interface {
	SendEnrollment(ctx context.Context, to string, m EnrollmentMail) error
}

// EnrollmentMail is what the mail says: the secret goes to the principal's address and
// nowhere else (no response, log line or table item holds it).
type EnrollmentMail struct {
	PrincipalID string
	Name        string
	Secret      string
	ExpiresAt   time.Time
}

// Enroller hands a principal its own credential: an admin has a one-time secret mailed
// to the principal, which exchanges it (POST /enroll) for its first token, minted by the
// principal itself. The admin never sees the secret, so the token is the principal's own.
type Enroller struct {
	Principals  Store
	Enrollments Enrollments
	Tokens      *token.Service
	Mailer      EnrollMailer
	Now         func() time.Time
	Rand        io.Reader // crypto/rand when nil
}

// SentEnrollment is what the admin learns: to whom, until when. Never the secret.
type SentEnrollment struct {
	PrincipalID string
	Email       string
	ExpiresAt   time.Time
}

// Send mails principal id a new enrollment secret, which supersedes any earlier unused
// one, and audits it (enroll.send). It needs tokens:admin and a token of
// the caller's own (handing out credentials is personal authority), and the principal
// needs an email address.
func (e *Enroller) Send(ctx context.Context, c access.Caller, id string) (SentEnrollment, error) {
	if err := checkSend(c, id); err != nil {
		return SentEnrollment{}, err
	}
	p, err := e.Principals.GetPrincipal(ctx, id)
	if err != nil {
		return SentEnrollment{}, fmt.Errorf("enroll %s: %w", id, err)
	}
	en, err := decideSend(e.Tokens.Catalog, c, p, e.Now())
	if err != nil {
		return SentEnrollment{}, err
	}
	if en.superuserFor != "" {
		super, err := superuser(ctx, e.Principals, c)
		if err != nil {
			return SentEnrollment{}, err
		}
		if !super {
			return SentEnrollment{}, &fault.ForbiddenError{Reason: en.superuserFor}
		}
	}
	return e.send(ctx, c, p, en.Enrollment)
}

// checkSend refuses, before any read, an enrollment sent by a caller without
// tokens:admin or through a delegated token, or to an id no principal can have.
func checkSend(c access.Caller, id string) error {
	if !c.Has(access.TokensAdmin) {
		return errNotAdmin
	}
	if c.Delegated() {
		return token.DelegatedError(c, "enroll principals")
	}
	if !token.ValidOwnerID(id) {
		return fault.ErrNotFound
	}
	return nil
}

// sending is an enrollment a decision lets c send: everything but its secret.
type sending struct {
	Enrollment
	// superuserFor says why only a superuser, with a token of its own, may send it; ""
	// when any admin may.
	superuserFor string
}

// decideSend decides an enrollment of the stored principal p sent by c at now. It goes to
// p's address, so p needs one. It is bound to p as it is now: its incarnation (the sender
// vouches for this principal, not a later one with the same id) and its fingerprint
// (any change of p's authority voids it). An admin's own credential carries authority
// (approvals): only a superuser hands one out, so no admin can enroll a second identity
// of its own.
func decideSend(cat *access.Catalog, c access.Caller, p *access.Principal, now time.Time) (sending, error) {
	if p.Email == "" {
		return sending{}, fault.Invalid("email", "the principal has no email address to send the enrollment to; PATCH one first")
	}
	now = now.UTC().Truncate(time.Second)
	s := sending{Enrollment: Enrollment{PrincipalID: p.ID, Incarnation: p.Incarnation, Fingerprint: Fingerprint(p),
		CreatedBy: c.OwnerID, CreatedAt: now, ExpiresAt: now.Add(EnrollmentTTL)}}
	if holdsAdmin(cat, p) {
		s.superuserFor = needSuperuserEnroll
	}
	return s, nil
}

// send draws en's secret, stores en with its keyed hash and its audit record, and mails
// the secret to p.
func (e *Enroller) send(ctx context.Context, c access.Caller, p *access.Principal, en Enrollment) (SentEnrollment, error) {
	raw := make([]byte, 32)
	r := e.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, raw); err != nil {
		return SentEnrollment{}, fmt.Errorf("enroll %s: random: %w", p.ID, err)
	}
	secret := hex.EncodeToString(raw)
	en.PepperVersion = e.Tokens.Keys.Current().Version
	en.Hash, _ = e.Tokens.Keys.HashWith(en.PepperVersion, []byte(secret))
	ev := token.PrincipalEvent(token.EventEnrollSend, c, p.ID, en.CreatedAt, "enrollment mailed to the principal; any earlier unused one is superseded; the sender now vouches for it")
	if err := e.Enrollments.PutEnrollment(ctx, en, ev); err != nil {
		return SentEnrollment{}, fmt.Errorf("enroll %s: put: %w", p.ID, err)
	}
	if err := e.Mailer.SendEnrollment(ctx, p.Email, enrollmentMail(p, en, secret)); err != nil {
		return SentEnrollment{}, fmt.Errorf("enroll %s: mail: %w", p.ID, err)
	}
	return SentEnrollment{PrincipalID: p.ID, Email: p.Email, ExpiresAt: en.ExpiresAt}, nil
}

// enrollmentMail is the mail of enrollment en of p, whose secret is raw (64 hex digits):
// tge_<pepper version>_<raw>, which parseEnrollment reads back.
func enrollmentMail(p *access.Principal, en Enrollment, raw string) EnrollmentMail {
	return EnrollmentMail{PrincipalID: p.ID, Name: p.Name, Secret: enrollPrefix + strconv.Itoa(en.PepperVersion) + "_" + raw, ExpiresAt: en.ExpiresAt}
}

// errBadEnrollment is the one answer for an enrollment secret that is malformed,
// unknown, used or expired: the answer tells a guesser nothing.
var errBadEnrollment = fault.Invalid("enrollmentToken", "is not a valid enrollment token: it may be mistyped, used already or expired (after 24h); ask an admin to send a new one")

// Exchange trades an enrollment secret, once, for the principal's first token.
func (e *Enroller) Exchange(ctx context.Context, secret string) (token.Created, error) {
	ver, raw, ok := parseEnrollment(strings.TrimSpace(secret))
	if !ok {
		return token.Created{}, errBadEnrollment
	}
	hash, ok := e.Tokens.Keys.HashWith(ver, []byte(raw))
	if !ok {
		return token.Created{}, errBadEnrollment
	}
	now := e.Now().UTC()
	en, err := e.Enrollments.GetEnrollment(ctx, hash)
	if errors.Is(err, fault.ErrNotFound) {
		return token.Created{}, errBadEnrollment
	}
	if err != nil {
		return token.Created{}, fmt.Errorf("enroll: get: %w", err)
	}
	p, err := e.Principals.GetPrincipal(ctx, en.PrincipalID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return token.Created{}, fmt.Errorf("enroll %s: %w", en.PrincipalID, err)
	}
	if !exchangeable(en, p, now) {
		return token.Created{}, errBadEnrollment
	}
	// The transaction checks again what could change meanwhile: used, superseded,
	// expired, or the principal changed since it was read.
	err = e.Enrollments.ConsumeEnrollment(ctx, en, token.CheckOf(p), now)
	if errors.Is(err, fault.ErrNotFound) {
		return token.Created{}, errBadEnrollment
	}
	if err != nil {
		return token.Created{}, fmt.Errorf("enroll: consume: %w", err)
	}
	return e.Tokens.Enroll(ctx, p)
}

// exchangeable decides whether enrollment en may be exchanged at now for a token of its
// principal p (as read now; nil: gone): unused, unexpired, and p still has the
// fingerprint it had when the enrollment was sent. An enrollment without one (sent
// before fingerprints existed) is refused: an admin sends a new one.
func exchangeable(en *Enrollment, p *access.Principal, now time.Time) bool {
	return en.UsedAt.IsZero() && now.Before(en.ExpiresAt) && p != nil && p.ID == en.PrincipalID &&
		en.Fingerprint != "" && en.Fingerprint == Fingerprint(p)
}

func parseEnrollment(s string) (int, string, bool) {
	rest, ok := strings.CutPrefix(s, enrollPrefix)
	if !ok {
		return 0, "", false
	}
	v, raw, ok := strings.Cut(rest, "_")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 1 || len(raw) != 64 {
		return 0, "", false
	}
	if _, err := hex.DecodeString(raw); err != nil {
		return 0, "", false
	}
	return n, raw, true
}
