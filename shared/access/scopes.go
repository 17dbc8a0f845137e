package access

import (
	"fmt"
	"slices"
	"strings"
)

// Risk is how much harm a scope can do in the wrong hands.
type Risk string

const (
	RiskLow    Risk = "low"
	RiskMedium Risk = "medium"
	RiskHigh   Risk = "high"
)

func (r Risk) rank() int {
	switch r {
	case RiskLow:
		return 1
	case RiskMedium:
		return 2
	case RiskHigh:
		return 3
	}
	return 0
}

// Built-in scopes.
const (
	TokensRead        = "tokens:read"
	TokensWrite       = "tokens:write"
	TokensAdmin       = "tokens:admin"
	AuditRead         = "audit:read"
	EmergencyActivate = "emergency:activate"
)

// Scope is one entry of the scope catalog.
type Scope struct {
	Name        string `json:"name"`
	Risk        Risk   `json:"risk"`
	Description string `json:"description"`
}

// Catalog is the set of scopes tokens may carry, each with its risk level.
type Catalog struct {
	scopes map[string]Scope
	order  []string
	roles  map[string]Role
}

// BuiltinScopes are the scopes tokengate's own API checks.
var BuiltinScopes = []Scope{
	{TokensRead, RiskLow, "Read your own tokens"},
	{TokensWrite, RiskLow, "Create and change your own tokens, with scopes you hold"},
	{TokensAdmin, RiskMedium, "Read and change every principal's tokens"},
	{AuditRead, RiskMedium, "Read the whole activity log"},
	{EmergencyActivate, RiskHigh, "Turn on emergency access for a token"},
}

// NewCatalog returns a catalog of the built-in scopes plus extra ones.
func NewCatalog(extra ...Scope) (*Catalog, error) {
	c := &Catalog{scopes: map[string]Scope{}}
	for _, s := range append(append([]Scope(nil), BuiltinScopes...), extra...) {
		if s.Risk.rank() == 0 {
			return nil, fmt.Errorf("scope %q: risk %q is not low, medium or high", s.Name, s.Risk)
		}
		if !validScopeName(s.Name) {
			return nil, fmt.Errorf("scope %q: names are 1-64 characters of a-z, 0-9, and . _ - : *", s.Name)
		}
		if _, dup := c.scopes[s.Name]; dup {
			return nil, fmt.Errorf("scope %q is declared twice", s.Name)
		}
		c.scopes[s.Name] = s
		c.order = append(c.order, s.Name)
	}
	return c, nil
}

func validScopeName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:*", r)) {
			return false
		}
	}
	return true
}

// Lookup returns the scope named n.
func (c *Catalog) Lookup(n string) (Scope, bool) {
	s, ok := c.scopes[n]
	return s, ok
}

// Scopes lists the catalog in declaration order.
func (c *Catalog) Scopes() []Scope {
	out := make([]Scope, len(c.order))
	for i, n := range c.order {
		out[i] = c.scopes[n]
	}
	return out
}

// RiskOf is the highest risk among scopes; unknown scopes count as high.
func (c *Catalog) RiskOf(scopes []string) Risk {
	r := RiskLow
	for _, n := range scopes {
		s, ok := c.scopes[n]
		if !ok {
			return RiskHigh
		}
		if s.Risk.rank() > r.rank() {
			r = s.Risk
		}
	}
	return r
}

// Missing returns the scopes of want that have is missing, in order.
func Missing(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}
