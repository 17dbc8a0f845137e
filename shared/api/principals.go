package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/principal"
)

// principalView is a principal as the API shows it, with the scopes it holds now (its
// roles' and its own, as the authorizer counts them). Its own struct, so a field added
// to access.Principal never reaches a response by accident.
type principalView struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Email     *string  `json:"email"`
	Kind      string   `json:"kind"`
	Roles     []string `json:"roles"`
	Scopes    []string `json:"scopes"`
	Holds     []string `json:"holds"`
	Superuser bool     `json:"superuser"`
	// VouchedBy: the principals that granted it tokens:admin, set its email or sent it
	// an enrollment; none of them may have a request approved by it unless it is a
	// superuser.
	VouchedBy []string `json:"vouchedBy"`
	CreatedAt *string  `json:"createdAt"`
	UpdatedAt *string  `json:"updatedAt"`
	Version   int64    `json:"version"`
}

type principalListView struct {
	Items      []principalView `json:"items"`
	NextCursor *string         `json:"nextCursor"`
}

func viewPrincipal(p *access.Principal, cat *access.Catalog) principalView {
	v := principalView{
		ID: p.ID, Name: p.Name, Email: strPtr(p.Email), Kind: p.Kind,
		Roles: sortedOrEmpty(p.Roles), Scopes: sortedOrEmpty(p.Scopes), Holds: cat.Holds(p), Superuser: p.Superuser,
		VouchedBy: sortedOrEmpty(p.VouchedBy), CreatedAt: timePtr(p.CreatedAt), UpdatedAt: timePtr(p.UpdatedAt), Version: p.Version,
	}
	if v.Kind == "" {
		v.Kind = principal.KindUser // principals seeded before kinds existed
	}
	if v.Holds == nil {
		v.Holds = []string{}
	}
	return v
}

// sortedOrEmpty: the table keeps roles and scopes as sets, which come back in any order.
func sortedOrEmpty(names []string) []string {
	out := append([]string{}, names...)
	slices.Sort(out)
	return out
}

// ListPrincipals serves GET /principals?limit=&cursor= (tokens:admin), by id.
func ListPrincipals(svc *principal.Service) http.Handler {
	return handleQuery([]string{"limit", "cursor"}, func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		bad := &fault.InvalidError{}
		limit, cursor := page(r.URL.Query(), bad)
		if err := bad.Err(); err != nil {
			return err
		}
		items, next, err := svc.List(r.Context(), c, limit, cursor)
		if err != nil {
			return err
		}
		out := principalListView{Items: make([]principalView, len(items)), NextCursor: strPtr(next)}
		for i, p := range items {
			out.Items[i] = viewPrincipal(p, svc.Catalog)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// GetPrincipal serves GET /principals/{id}: any caller may read its own principal, to
// learn what it holds; another needs tokens:admin.
func GetPrincipal(svc *principal.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		p, err := svc.Get(r.Context(), c, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, viewPrincipal(p, svc.Catalog))
		return nil
	})
}

type createPrincipalRequest struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Email     string   `json:"email"`
	Kind      string   `json:"kind"`
	Roles     []string `json:"roles"`
	Scopes    []string `json:"scopes"`
	Superuser bool     `json:"superuser"`
}

// CreatePrincipal serves POST /principals: 201 with the principal and its Location.
func CreatePrincipal(svc *principal.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		p, err := createPrincipal(w, r, c, svc)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/principals/"+url.PathEscape(p.ID))
		writeJSON(w, http.StatusCreated, viewPrincipal(p, svc.Catalog))
		return nil
	})
}

func createPrincipal(w http.ResponseWriter, r *http.Request, c access.Caller, svc *principal.Service) (*access.Principal, error) {
	var req createPrincipalRequest
	if err := decode(w, r, &req, false); err != nil {
		return nil, err
	}
	return svc.Create(r.Context(), c, principal.CreateInput{
		ID: req.ID, Name: req.Name, Email: req.Email, Kind: req.Kind,
		Roles: req.Roles, Scopes: req.Scopes, Superuser: req.Superuser,
	})
}

// updatePrincipalRequest keeps every field raw, to tell an absent field (unchanged) from
// null (email, roles and scopes: removed) and to name every mistyped field at once.
type updatePrincipalRequest struct {
	ID        json.RawMessage `json:"id"`
	Name      json.RawMessage `json:"name"`
	Email     json.RawMessage `json:"email"`
	Kind      json.RawMessage `json:"kind"`
	Roles     json.RawMessage `json:"roles"`
	Scopes    json.RawMessage `json:"scopes"`
	Superuser json.RawMessage `json:"superuser"`
}

func (u updatePrincipalRequest) input(id string) (principal.UpdateInput, error) {
	var in principal.UpdateInput
	bad := &fault.InvalidError{}
	// field decodes one present field into v; JSON null leaves v at its zero value.
	field := func(raw json.RawMessage, name, want string, v any) bool {
		if raw == nil {
			return false
		}
		if string(raw) == "null" && !strings.Contains(want, "null") {
			bad.Add(name, "must be "+want+", not null")
			return false
		}
		if err := json.Unmarshal(raw, v); err != nil {
			bad.Add(name, "must be "+want)
			return false
		}
		return true
	}
	var sent string
	if field(u.ID, "id", "a string", &sent) && sent != id {
		bad.Add("id", "cannot be changed; create a new principal instead")
	}
	var name, email, kind string
	if field(u.Name, "name", "a string", &name) {
		in.Name = &name
	}
	if field(u.Email, "email", "a string or null", &email) {
		in.Email = &email
	}
	if field(u.Kind, "kind", "a string", &kind) {
		in.Kind = &kind
	}
	var roles, scopes []string
	if field(u.Roles, "roles", "an array of strings or null", &roles) {
		in.Roles = &roles
	}
	if field(u.Scopes, "scopes", "an array of strings or null", &scopes) {
		in.Scopes = &scopes
	}
	var super bool
	if field(u.Superuser, "superuser", "true or false", &super) {
		in.Superuser = &super
	}
	return in, bad.Err()
}

// UpdatePrincipal serves PATCH /principals/{id}. An If-Match header with the version
// last read makes the change fail with 409 if the principal changed since.
func UpdatePrincipal(svc *principal.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		var req updatePrincipalRequest
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		ifVersion, err := ifMatch(r)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		in, err := req.input(id)
		if err != nil {
			return err
		}
		p, err := svc.Update(r.Context(), c, id, in, ifVersion)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, viewPrincipal(p, svc.Catalog))
		return nil
	})
}

// DeletePrincipal serves DELETE /principals/{id}: 204. The principal's tokens stop
// validating, since the authorizer refuses a token whose owner is gone.
func DeletePrincipal(svc *principal.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		if err := svc.Delete(r.Context(), c, r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

type scopeView struct {
	Name        string      `json:"name"`
	Risk        access.Risk `json:"risk"`
	Description string      `json:"description"`
}

type roleView struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Scopes      []string    `json:"scopes"`
	Risk        access.Risk `json:"risk"`
}

// Scopes serves GET /scopes: the catalog in declaration order, for any caller, so
// clients can offer what a token may carry.
func Scopes(cat *access.Catalog) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, _ access.Caller) error {
		out := struct {
			Items []scopeView `json:"items"`
		}{Items: []scopeView{}}
		for _, s := range cat.Scopes() {
			out.Items = append(out.Items, scopeView{Name: s.Name, Risk: s.Risk, Description: s.Description})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// Roles serves GET /roles: every role by name with its scopes and the risk of a token
// carrying all of them, for any caller.
func Roles(cat *access.Catalog) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, _ access.Caller) error {
		out := struct {
			Items []roleView `json:"items"`
		}{Items: []roleView{}}
		for _, rl := range cat.Roles() {
			out.Items = append(out.Items, roleView{Name: rl.Name, Description: rl.Description, Scopes: rl.Scopes, Risk: cat.RiskOf(rl.Scopes)})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}
