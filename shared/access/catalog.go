package access

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// Role is a named set of scopes a principal can be given.
type Role struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
}

// catalogFile is the JSON shape of a catalog file (infra/catalog.json).
type catalogFile struct {
	Scopes []Scope          `json:"scopes"`
	Roles  map[string]*Role `json:"roles"`
}

// CatalogAt reads the catalog file at path; "" is the built-in scopes only.
func CatalogAt(path string) (*Catalog, error) {
	if path == "" {
		return NewCatalog()
	}
	return LoadCatalog(path)
}

// CatalogFromEnv reads the catalog named by CATALOG_FILE from getenv: a function's own,
// resolved by CatalogPath. Without it, the built-in scopes only; a bad file is an error
// that names it.
func CatalogFromEnv(getenv func(string) string) (*Catalog, error) {
	return CatalogAt(CatalogPath(getenv("CATALOG_FILE"), getenv("LAMBDA_TASK_ROOT")))
}

// CatalogPath resolves a relative CATALOG_FILE against the function's code folder
// (LAMBDA_TASK_ROOT), where the build puts catalog.json beside bootstrap.
func CatalogPath(file, taskRoot string) string {
	if file == "" || filepath.IsAbs(file) || taskRoot == "" {
		return file
	}
	return filepath.Join(taskRoot, file)
}

// LoadCatalog reads a catalog file: application scopes added to the built-in ones, and
// roles. Anything wrong (unknown fields, a bad risk, a role naming an unknown scope)
// fails with a message naming the file and the entry, so a bad file stops a cold start
// instead of granting something by accident.
func LoadCatalog(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scope catalog: %w", err)
	}
	c, err := ParseCatalog(b)
	if err != nil {
		return nil, fmt.Errorf("scope catalog %s: %w", path, err)
	}
	return c, nil
}

// ParseCatalog reads a catalog from JSON.
func ParseCatalog(b []byte) (*Catalog, error) {
	var f catalogFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	c, err := NewCatalog(f.Scopes...)
	if err != nil {
		return nil, err
	}
	c.roles = map[string]Role{}
	for name, r := range f.Roles {
		if r == nil || !validScopeName(name) {
			return nil, fmt.Errorf("role %q: names are 1-64 characters of a-z, 0-9 and the marks . _ - : only", name)
		}
		if len(r.Scopes) == 0 {
			return nil, fmt.Errorf("role %q has no scopes", name)
		}
		for _, s := range r.Scopes {
			if _, ok := c.scopes[s]; !ok {
				return nil, fmt.Errorf("role %q names unknown scope %q", name, s)
			}
		}
		r.Name = name
		c.roles[name] = *r
	}
	return c, nil
}

// Role returns the role named n.
func (c *Catalog) Role(n string) (Role, bool) {
	r, ok := c.roles[n]
	return r, ok
}

// Roles lists the roles by name.
func (c *Catalog) Roles() []Role {
	out := make([]Role, 0, len(c.roles))
	for _, r := range c.roles {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Holds returns the scopes a principal holds now: those of its roles and its own, each
// once, sorted. Roles the catalog no longer has grant nothing.
func (c *Catalog) Holds(p *Principal) []string {
	var out []string
	add := func(s string) {
		if _, ok := c.scopes[s]; ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, rn := range p.Roles {
		for _, s := range c.roles[rn].Scopes {
			add(s)
		}
	}
	for _, s := range p.Scopes {
		add(s)
	}
	sort.Strings(out)
	return out
}

// Intersect returns the scopes of want that have also holds, in want's order.
func Intersect(want, have []string) []string {
	out := make([]string, 0, len(want))
	for _, w := range want {
		if slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}
