package authorizer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// RouteTable is ROUTE_SCOPES parsed once, at cold start, into rules in the order they
// are tried: an exact method and path first, then the most specific template (fewest
// variables, then the longest literal prefix, a greedy {proxy+} last; a concrete method
// before ANY). The first rule that matches decides, so the answer never depends on the
// order of a JSON object or a Go map.
//
// Keys may be concrete ("GET /orders") or templates as API Gateway declares them
// ("GET /orders/{id}", "ANY /files/{proxy+}"), since a REST TOKEN event names the
// concrete path only. A table with keys refuses a route that matches none of them
// (route_unlisted) unless it has a catch-all: "ANY /{proxy+}" with the scopes every other
// route needs, or [] for "any valid token".
type RouteTable struct {
	rules []routeRule
}

type routeRule struct {
	key     string
	method  string   // upper-case, or ANY
	segs    []string // path segments; a variable is "{…}", a greedy one "{…+}"
	exact   bool     // no variable at all
	vars    int      // variables, the greedy one included
	literal int      // leading literal segments
	greedy  bool
	scopes  []string
}

// NewRouteTable parses ROUTE_SCOPES. A malformed key, or two keys equally specific that
// both match some request, is an error naming them.
func NewRouteTable(m map[string][]string) (*RouteTable, error) {
	rt := &RouteTable{}
	for key, scopes := range m {
		method, path, ok := strings.Cut(strings.TrimSpace(key), " ")
		path = strings.TrimSpace(path)
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf(`ROUTE_SCOPES key %q: want "METHOD /path", e.g. "GET /orders/{id}"`, key)
		}
		r := routeRule{key: key, method: strings.ToUpper(method), segs: segments(path), scopes: scopes}
		counting := true
		for i, s := range r.segs {
			switch {
			case isGreedy(s):
				if i != len(r.segs)-1 {
					return nil, fmt.Errorf("ROUTE_SCOPES key %q: a greedy variable must be the last segment", key)
				}
				r.greedy = true
				r.vars++
				counting = false
			case isVar(s):
				r.vars++
				counting = false
			case counting:
				r.literal++
			}
		}
		r.exact = r.vars == 0
		rt.rules = append(rt.rules, r)
	}
	slices.SortFunc(rt.rules, func(a, b routeRule) int {
		if c := rank(a, b); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	for i := 1; i < len(rt.rules); i++ {
		for j := i - 1; j >= 0 && rank(rt.rules[j], rt.rules[i]) == 0; j-- {
			if overlap(rt.rules[j], rt.rules[i]) {
				return nil, fmt.Errorf("ROUTE_SCOPES keys %q and %q are equally specific and both match some requests: make one more specific or merge them", rt.rules[j].key, rt.rules[i].key)
			}
		}
	}
	return rt, nil
}

// rank orders rules from the most specific to the least.
func rank(a, b routeRule) int {
	bool01 := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	if c := cmp.Compare(bool01(!a.exact), bool01(!b.exact)); c != 0 {
		return c
	}
	if c := cmp.Compare(bool01(a.greedy), bool01(b.greedy)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.vars, b.vars); c != 0 {
		return c
	}
	if c := cmp.Compare(b.literal, a.literal); c != 0 {
		return c
	}
	return cmp.Compare(bool01(a.method == "ANY"), bool01(b.method == "ANY"))
}

// overlap reports whether some request matches both rules.
func overlap(a, b routeRule) bool {
	if a.method != b.method && a.method != "ANY" && b.method != "ANY" {
		return false
	}
	for i := 0; ; i++ {
		ae, be := i >= len(a.segs), i >= len(b.segs)
		switch {
		case ae && be:
			return true
		case ae:
			return false // b needs more segments; a greedy b needs at least one
		case be:
			return false
		}
		x, y := a.segs[i], b.segs[i]
		if isGreedy(x) || isGreedy(y) {
			return true
		}
		if !isVar(x) && !isVar(y) && x != y {
			return false
		}
	}
}

// Len is the number of rules.
func (rt *RouteTable) Len() int {
	if rt == nil {
		return 0
	}
	return len(rt.rules)
}

// Scopes returns the scopes route ("METHOD /path") needs, and whether a rule lists it.
func (rt *RouteTable) Scopes(route string) ([]string, bool) {
	if rt == nil {
		return nil, false
	}
	method, path, _ := strings.Cut(route, " ")
	var xs []string
	for _, r := range rt.rules {
		if r.method != "ANY" && r.method != method {
			continue
		}
		if r.exact && r.key == route {
			return r.scopes, true
		}
		if xs == nil {
			xs = segments(path)
		}
		if matches(r.segs, xs) {
			return r.scopes, true
		}
	}
	return nil, false
}

func segments(path string) []string { return strings.Split(strings.Trim(path, "/"), "/") }

func isVar(s string) bool    { return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") }
func isGreedy(s string) bool { return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}") }

func matches(ps, xs []string) bool {
	for i, p := range ps {
		if isGreedy(p) {
			return i < len(xs)
		}
		if i >= len(xs) {
			return false
		}
		if !isVar(p) && p != xs[i] {
			return false
		}
	}
	return len(ps) == len(xs)
}
