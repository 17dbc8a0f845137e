package token

import (
	"context"
	"fmt"

	"tokengate/shared/access"
)

// Bootstrap mints the root token of the first superuser: owned and minted by ownerID,
// holding every scope of the catalog, high-risk ones included, active at once (there is
// nobody yet who could approve it). Only the operator's bootstrap command calls it; no
// route leads here. The audit record has the type "bootstrap".
func (s *Service) Bootstrap(ctx context.Context, ownerID, reason string) (Created, error) {
	p, err := s.Principals.GetPrincipal(ctx, ownerID)
	if err != nil {
		return Created{}, fmt.Errorf("bootstrap: read principal %s: %w", ownerID, err)
	}
	var scopes []string
	for _, sc := range s.Catalog.Scopes() {
		scopes = append(scopes, sc.Name)
	}
	return s.mintOwn(ctx, p, scopes, EventBootstrap, "root token",
		"Minted by tglocal bootstrap. Name two admins, then revoke it.", reason)
}

// Enroll mints a principal's first token for itself, after it proved it received its
// enrollment mail: owned and minted by the principal (its own authority, not an
// admin's), with every scope the principal holds but the high-risk ones (a high-risk
// token waits for another admin's approval; the principal can request one with this
// token).
func (s *Service) Enroll(ctx context.Context, p *access.Principal) (Created, error) {
	var scopes []string
	for _, sc := range s.Catalog.Holds(p) {
		if s.Catalog.RiskOf([]string{sc}) != access.RiskHigh {
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) == 0 {
		return Created{}, Invalid("enrollmentToken", "the principal holds no scope a first token could carry; ask an admin for a role")
	}
	return s.mintOwn(ctx, p, scopes, EventEnroll, "first token",
		"Minted at enrollment by the principal itself.", "enrollment")
}

// mintOwn mints an active permanent token that owner mints for itself, with the
// default expiry, written with its audit record of type typ.
func (s *Service) mintOwn(ctx context.Context, owner *access.Principal, scopes []string, typ EventType, name, description, reason string) (Created, error) {
	now, ownerID := s.now(), owner.ID
	id, err := NewID(ownerID, s.Rand)
	if err != nil {
		return Created{}, err
	}
	g, err := Generate(s.Prefix, id, s.Keys, s.Rand)
	if err != nil {
		return Created{}, err
	}
	pep := s.Keys.Current()
	t := &Token{
		ID: g.ID, OwnerID: ownerID, CreatedBy: ownerID, MintedBy: ownerID, OwnerIncarnation: owner.Incarnation,
		Name: name, Description: description, Scopes: dedupe(scopes), Type: TypePermanent, Status: StatusActive,
		Hint: g.Plaintext.Hint(s.Prefix), CreatedAt: now, UpdatedAt: now, ExpiresAt: DefaultExpiry(TypePermanent, now, s.Policy),
		Hash: pep.Hash(g.Secret), PepperVersion: pep.Version, Version: 1,
	}
	ev := event(typ, access.Caller{OwnerID: ownerID}, t, now, reason, diff(auditFields(nil), auditFields(t)))
	if err := s.Store.Put(ctx, t, 0, ev); err != nil {
		return Created{}, fmt.Errorf("%s %s: put: %w", typ, t.ID, err)
	}
	return Created{Token: t, Plaintext: g.Plaintext}, nil
}
