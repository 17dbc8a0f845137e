package token

import (
	"context"
	"fmt"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
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
	return s.mintOwn(ctx, p, rootScopes(s.Catalog), audit.EventBootstrap, "root token",
		"Minted by tglocal bootstrap. Name two admins, then revoke it.", reason)
}

// Enroll mints a principal's first token for itself, after it proved it received its
// enrollment mail: owned and minted by the principal (its own authority, not an
// admin's), with every scope the principal holds but the high-risk ones: nobody has
// approved those, and a token never carries a scope its calling token lacks, so a
// high-risk token comes from an admin holding the scope (delegated, and pending until a
// second admin approves). Issuance decides it as a root (decideIssue, IssueEnroll).
func (s *Service) Enroll(ctx context.Context, p *access.Principal) (Created, error) {
	scopes, err := firstScopes(s.Catalog, p)
	if err != nil {
		return Created{}, err
	}
	return s.mintOwn(ctx, p, scopes, audit.EventEnroll, "first token",
		"Minted at enrollment by the principal itself.", "enrollment")
}

// mintOwn mints an active permanent token that owner mints for itself, with the
// default expiry, written with its audit record of type typ.
//
// It decides on the deployment's Policy, not the run-time settings: what it mints is
// permanent, and the settings change only temporary tokens' lifetimes and the alerts.
func (s *Service) mintOwn(ctx context.Context, owner *access.Principal, scopes []string, typ audit.EventType, name, description, reason string) (Created, error) {
	now := s.now()
	id, err := NewID(owner.ID, s.Rand)
	if err != nil {
		return Created{}, err
	}
	g, err := Generate(s.Prefix, id, s.Keys, s.Rand)
	if err != nil {
		return Created{}, err
	}
	t, ev := ownToken(owner, scopes, typ, name, description, reason, g, s.Keys.Current(), s.Prefix, s.Policy, now)
	kind := IssueEnroll
	if typ == audit.EventBootstrap {
		kind = IssueBootstrap
	}
	if _, err := decideIssue(issueRequest{kind: kind, caller: access.Caller{OwnerID: owner.ID}, token: t}, s.Catalog, s.Policy, now); err != nil {
		return Created{}, err
	}
	if err := s.Store.Put(ctx, t, 0, ev); err != nil {
		return Created{}, fmt.Errorf("%s %s: put: %w", typ, t.ID, err)
	}
	return Created{Token: t, Plaintext: g.Plaintext}, nil
}

// rootScopes is every scope of the catalog: the root token's.
func rootScopes(cat *access.Catalog) []string {
	var scopes []string
	for _, sc := range cat.Scopes() {
		scopes = append(scopes, sc.Name)
	}
	return scopes
}

// firstScopes are the scopes of a principal's first token: every scope it holds but the
// high-risk ones.
func firstScopes(cat *access.Catalog, p *access.Principal) ([]string, error) {
	var scopes []string
	for _, sc := range cat.Holds(p) {
		if cat.RiskOf([]string{sc}) != access.RiskHigh {
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) == 0 {
		return nil, fault.Invalid("enrollmentToken", "the principal holds no scope a first token could carry; ask an admin for a role")
	}
	return scopes, nil
}

// ownToken is an active permanent token that owner mints for itself, with the secret
// of g hashed under pep and the default expiry, and its audit record of type typ.
func ownToken(owner *access.Principal, scopes []string, typ audit.EventType, name, description, reason string, g Generated, pep Pepper, prefix string, p Policy, now time.Time) (*Token, audit.Event) {
	t := &Token{
		ID: g.ID, OwnerID: owner.ID, CreatedBy: owner.ID, MintedBy: owner.ID, OwnerIncarnation: owner.Incarnation,
		Name: name, Description: description, Scopes: dedupe(scopes), Type: TypePermanent, Status: StatusActive,
		Hint: g.Plaintext.Hint(prefix), CreatedAt: now, UpdatedAt: now, ExpiresAt: DefaultExpiry(TypePermanent, now, p),
		Hash: pep.Hash(g.Secret), PepperVersion: pep.Version, Version: 1,
	}
	return t, event(typ, access.Caller{OwnerID: owner.ID}, t, now, reason, audit.Diff(auditFields(nil), auditFields(t)))
}
