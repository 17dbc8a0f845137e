package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
)

// Leak reports: anyone who finds a token string may report it; a valid one is revoked.

// MaxLeakReport bounds the token strings of one leaked-token report.
const MaxLeakReport = 100

// ReportLeaked revokes every valid token among strs, recording each revocation with the
// actor LeakReporter. It returns the tokens it revoked, so their owners can be told.
// Strings that are not tokens, unknown, already ended or with a wrong secret are
// skipped silently: the reporter learns nothing from the answer. A string whose tag does
// not verify was not made by tokengate and costs no read.
func (s *Service) ReportLeaked(ctx context.Context, strs []string) ([]*Token, error) {
	leaked, err := parseLeaked(s.Keys, s.Prefix, strs)
	if err != nil {
		return nil, err
	}
	reporter := access.Caller{OwnerID: audit.LeakReporter}
	var revoked []*Token
	var errs []error
	for _, p := range leaked {
		t, err := s.Store.Get(ctx, p.ID)
		if errors.Is(err, fault.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("leaked %s: %w", p.ID, err))
			continue
		}
		if !leakRevocable(t, s.Keys, p.Secret, s.now()) {
			continue
		}
		t, err = s.apply(ctx, reporter, t, 0, op{typ: audit.EventLeakedRevoke, reason: "reported as leaked"}, revokeEdit)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		revoked = append(revoked, t)
	}
	return revoked, errors.Join(errs...)
}

// parseLeaked reads a leaked-token report: 1 to MaxLeakReport strings, of which it keeps
// those made by tokengate (their tag verifies), once per id. The rest cost no read.
func parseLeaked(k *Keyring, prefix string, strs []string) ([]Presented, error) {
	if len(strs) == 0 {
		return nil, fault.Invalid("tokens", "give at least one token string")
	}
	if len(strs) > MaxLeakReport {
		return nil, fault.Invalid("tokens", fmt.Sprintf("at most %d token strings per report", MaxLeakReport))
	}
	seen := map[ID]bool{}
	var out []Presented
	for _, str := range strs {
		p, err := k.Parse(prefix, strings.TrimSpace(str))
		if err != nil || seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		out = append(out, p)
	}
	return out, nil
}

// leakRevocable reports whether a report's secret revokes t: it must be t's secret (or
// its previous one within a grace period), and t not ended already.
func leakRevocable(t *Token, k *Keyring, secret Secret, now time.Time) bool {
	return t.Verify(k, secret, now) && !t.Ended(now)
}
