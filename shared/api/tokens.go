package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/restriction"
	"tokengate/shared/token"
)

// tokenList is a page of tokens as the API shows it.
func tokenList(svc *token.Service, items []*token.Token, next string) listView {
	now := svc.Now()
	out := listView{Items: make([]tokenView, len(items)), NextCursor: strPtr(next)}
	for i, t := range items {
		out.Items[i] = view(t, svc.Catalog, now)
	}
	return out
}

type createRequest struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
	ExpiresIn   string   `json:"expiresIn"`
	ExpiresAt   string   `json:"expiresAt"`
	Type        string   `json:"type"`
	OwnerID     string   `json:"ownerId"`
	Reason      string   `json:"reason"`
	Role        string   `json:"role"`

	IPAllowlist     []string                `json:"ipAllowlist"`
	RateLimit       *restriction.RateLimit  `json:"rateLimit"`
	TimeRestriction *restriction.TimeWindow `json:"timeRestriction"`
	OnReuse         string                  `json:"onReuse"`
}

// CreateToken serves POST /tokens: 201 with the token and, this once, its secret.
func CreateToken(d Issuing) http.Handler {
	svc := d.Tokens
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		var req createRequest
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		once, err := idempotencyOf(r, c, req)
		if err != nil {
			return err
		}
		in := token.CreateInput{Idempotency: once,
			Name: req.Name, Description: req.Description, Scopes: req.Scopes, ExpiresIn: req.ExpiresIn,
			Type: token.Type(req.Type), OwnerID: req.OwnerID, Reason: req.Reason, Role: req.Role,
			IPAllowlist: req.IPAllowlist, RateLimit: req.RateLimit, TimeRestriction: req.TimeRestriction,
			OnReuse: req.OnReuse,
		}
		if req.ExpiresAt != "" {
			at, err := time.Parse(time.RFC3339, req.ExpiresAt)
			if err != nil {
				return fault.Invalid("expiresAt", "must be an RFC 3339 time such as 2030-01-31T12:00:00Z")
			}
			in.ExpiresAt = &at
		}
		created, err := svc.Create(r.Context(), c, in)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/tokens/"+string(created.Token.ID))
		writeJSON(w, http.StatusCreated, createdView{view(created.Token, svc.Catalog, svc.Now()), created.Plaintext.Reveal()})
		return nil
	})
}

// ListTokens serves GET /tokens?limit=&cursor=&ownerId=&status=&expiringWithin=.
func ListTokens(svc *token.Service) http.Handler {
	return handleQuery([]string{"limit", "cursor", "ownerId", "status", "expiringWithin"}, func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		f, err := listFilter(r.URL.Query())
		if err != nil {
			return err
		}
		items, next, err := svc.List(r.Context(), c, f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, tokenList(svc, items, next))
		return nil
	})
}

func listFilter(q url.Values) (token.Filter, error) {
	bad := &fault.InvalidError{}
	f := token.Filter{Limit: 50}
	for k, v := range q {
		switch k {
		case "limit", "cursor", "ownerId", "status", "expiringWithin":
			if len(v) > 1 {
				bad.Add(k, "give it once")
			}
		default:
			bad.Add(k, "is not a known query parameter (limit, cursor, ownerId, status, expiringWithin)")
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			bad.Add("limit", "must be a whole number from 1 to 100")
		}
		f.Limit = n
	}
	f.Cursor = q.Get("cursor")
	f.OwnerID = q.Get("ownerId")
	if s := q.Get("status"); s != "" {
		if !token.ValidStatus(s) {
			bad.Add("status", "must be one of active, pending, disabled, revoked, rejected, expired")
		}
		f.Status = token.Status(s)
	}
	if s := q.Get("expiringWithin"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			bad.Add("expiringWithin", `must be a positive duration such as "168h"`)
		}
		f.ExpiringWithin = d
	}
	return f, bad.Err()
}

// SelfToken serves GET /tokens/self: the calling token's own metadata, and the lifetime
// policy its new tokens meet, so a client offers only the expiries the API accepts.
func SelfToken(svc *token.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		t, err := svc.Self(r.Context(), c)
		if err != nil {
			return err
		}
		p, err := svc.EffectivePolicy(r.Context())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, selfView{view(t, svc.Catalog, svc.Now()), viewPolicy(p)})
		return nil
	})
}

// GetToken serves GET /tokens/{id}: the token and its uses per day.
func GetToken(svc *token.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		t, err := svc.Get(r.Context(), c, token.ID(r.PathValue("id")))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, viewDetail(t, svc.Catalog, svc.Now()))
		return nil
	})
}

type updateRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Reason      string  `json:"reason"`
	// Security settings: absent leaves them, null (or [] for the allowlist) removes them.
	IPAllowlist     json.RawMessage `json:"ipAllowlist"`
	RateLimit       json.RawMessage `json:"rateLimit"`
	TimeRestriction json.RawMessage `json:"timeRestriction"`
	OnReuse         *string         `json:"onReuse"`
}

// input turns the request into an UpdateInput, telling absent fields from null ones.
func (u updateRequest) input() (token.UpdateInput, error) {
	in := token.UpdateInput{Name: u.Name, Description: u.Description, Reason: u.Reason, OnReuse: u.OnReuse}
	if u.IPAllowlist != nil {
		var l []string
		if err := optional(u.IPAllowlist, "ipAllowlist", &l); err != nil {
			return in, err
		}
		in.IPAllowlist = &l
	}
	if u.RateLimit != nil {
		var r *restriction.RateLimit
		if err := optional(u.RateLimit, "rateLimit", &r); err != nil {
			return in, err
		}
		in.RateLimit = &r
	}
	if u.TimeRestriction != nil {
		var w *restriction.TimeWindow
		if err := optional(u.TimeRestriction, "timeRestriction", &w); err != nil {
			return in, err
		}
		in.TimeRestriction = &w
	}
	return in, nil
}

// optional decodes one field strictly; JSON null leaves v at its zero value. Errors
// name the field inside the body: "rateLimit.limit".
func optional(raw json.RawMessage, field string, v any) error {
	if err := strictJSON(raw, v); err != nil {
		var inv *fault.InvalidError
		if errors.As(err, &inv) {
			for i, f := range inv.Fields {
				if f.Field == "" {
					inv.Fields[i].Field = field
				} else {
					inv.Fields[i].Field = field + "." + f.Field
				}
			}
		}
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var inv *fault.InvalidError
		if errors.As(jsonError(err), &inv) {
			for i, f := range inv.Fields {
				if f.Field == "" {
					inv.Fields[i].Field = field
				} else {
					inv.Fields[i].Field = field + "." + f.Field
				}
			}
			return inv
		}
		return fault.Invalid(field, "is malformed")
	}
	return nil
}

// UpdateToken serves PATCH /tokens/{id}. An If-Match header with the version last read
// makes the change fail with 409 if the token changed since.
func UpdateToken(svc *token.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		var req updateRequest
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		ifVersion, err := ifMatch(r)
		if err != nil {
			return err
		}
		in, err := req.input()
		if err != nil {
			return err
		}
		t, err := svc.Update(r.Context(), c, token.ID(r.PathValue("id")), in, ifVersion)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, view(t, svc.Catalog, svc.Now()))
		return nil
	})
}

type rotateRequest struct {
	GracePeriod string `json:"gracePeriod"`
	ExpiresIn   string `json:"expiresIn"`
	ExpiresAt   string `json:"expiresAt"`
}

// RotateToken serves POST /tokens/{id}/rotate {"gracePeriod", "expiresIn" | "expiresAt"}:
// 200 with the new secret, once. Without an {id} (POST /tokens/self/rotate) the calling
// token rotates itself.
func RotateToken(d Issuing) http.Handler {
	svc := d.Tokens
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		var req rotateRequest
		if err := decode(w, r, &req, true); err != nil {
			return err
		}
		once, err := idempotencyOf(r, c, req)
		if err != nil {
			return err
		}
		in := token.RotateInput{ExpiresIn: req.ExpiresIn, Idempotency: once}
		if req.GracePeriod != "" {
			d, err := time.ParseDuration(req.GracePeriod)
			if err != nil {
				return fault.Invalid("gracePeriod", `must be a duration such as "90m" or "24h"`)
			}
			in.GracePeriod = d
		}
		if req.ExpiresAt != "" {
			at, err := time.Parse(time.RFC3339, req.ExpiresAt)
			if err != nil {
				return fault.Invalid("expiresAt", "must be an RFC 3339 time such as 2030-01-31T12:00:00Z")
			}
			in.ExpiresAt = &at
		}
		id := r.PathValue("id")
		if id == "" {
			id = c.TokenID // POST /tokens/self/rotate: the calling token rotates itself
		}
		created, err := svc.Rotate(r.Context(), c, token.ID(id), in)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, createdView{view(created.Token, svc.Catalog, svc.Now()), created.Plaintext.Reveal()})
		return nil
	})
}

// reasonRequest is the optional body of a status change: why, for the audit trail.
type reasonRequest struct {
	Reason string `json:"reason"`
}

// statusOp is a change that takes only a reason: svc.Disable, svc.Approve, ...
type statusOp func(ctx context.Context, c access.Caller, id token.ID, reason string) (*token.Token, error)

func changeStatus(svc *token.Service, op statusOp) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		var req reasonRequest
		if err := decode(w, r, &req, true); err != nil {
			return err
		}
		t, err := op(r.Context(), c, token.ID(r.PathValue("id")), req.Reason)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, view(t, svc.Catalog, svc.Now()))
		return nil
	})
}

// DisableToken serves POST /tokens/{id}/disable.
func DisableToken(svc *token.Service) http.Handler {
	return changeStatus(svc, svc.Disable)
}

// EnableToken serves POST /tokens/{id}/enable.
func EnableToken(svc *token.Service) http.Handler {
	return changeStatus(svc, svc.Enable)
}

// RevokeToken serves DELETE /tokens/{id}: 204.
func RevokeToken(svc *token.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		var req reasonRequest
		if err := decode(w, r, &req, true); err != nil {
			return err
		}
		if _, err := svc.Revoke(r.Context(), c, token.ID(r.PathValue("id")), req.Reason); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
