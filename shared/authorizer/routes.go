package authorizer

import "strings"

// routeScopes returns the scopes ROUTE_SCOPES asks for route ("METHOD /path"). Keys may
// be concrete ("GET /orders") or templates as API Gateway declares them
// ("GET /orders/{id}", "ANY /files/{proxy+}"), since a REST TOKEN event names the
// concrete path only.
func routeScopes(m map[string][]string, route string) []string {
	if s, ok := m[route]; ok {
		return s
	}
	method, path, _ := strings.Cut(route, " ")
	for key, s := range m {
		km, kp, _ := strings.Cut(key, " ")
		if (km == method || km == "ANY") && pathMatches(kp, path) {
			return s
		}
	}
	return nil
}

func pathMatches(pattern, path string) bool {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			return i < len(xs)
		}
		if i >= len(xs) {
			return false
		}
		if !(strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}")) && p != xs[i] {
			return false
		}
	}
	return len(ps) == len(xs)
}
