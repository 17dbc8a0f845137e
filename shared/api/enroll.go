package api

import (
	"log/slog"
	"net/http"
	"net/url"

	"tokengate/shared/access"
)

// enrollmentView tells an admin where an enrollment mail went; never its secret.
type enrollmentView struct {
	Status    string  `json:"status"`
	SentTo    *string `json:"sentTo,omitempty"`
	ExpiresAt *string `json:"expiresAt,omitempty"`
	Detail    string  `json:"detail,omitempty"`
}

// SendEnrollment serves POST /principals/{id}/enrollment (tokens:admin, with a token of
// the caller's own): a new one-time enrollment secret is mailed to the principal. 202.
func SendEnrollment(d Enrolling) http.Handler {
	e := d.Enroller
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		var req struct{}
		if err := decode(w, r, &req, true); err != nil {
			return err
		}
		sent, err := e.Send(r.Context(), c, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, enrollmentView{Status: "sent", SentTo: strPtr(sent.Email), ExpiresAt: timePtr(sent.ExpiresAt)})
		return nil
	})
}

// CreatePrincipalAndEnroll serves POST /principals as CreatePrincipal does and, when the
// new principal has an email address, mails it an enrollment secret; the answer's
// "enrollment" says whether it went out.
func CreatePrincipalAndEnroll(d Enrolling) http.Handler {
	svc, e := d.Principals, d.Enroller
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		p, err := createPrincipal(w, r, c, svc)
		if err != nil {
			return err
		}
		out := struct {
			principalView
			Enrollment *enrollmentView `json:"enrollment"`
		}{principalView: viewPrincipal(p, svc.Catalog)}
		if p.Email != "" {
			sent, err := e.Send(r.Context(), c, p.ID)
			if err != nil {
				slog.ErrorContext(r.Context(), "enrollment mail not sent", "principalId", p.ID, "err", err)
				out.Enrollment = &enrollmentView{Status: "failed", Detail: "The enrollment mail could not be sent; POST /principals/" + url.PathEscape(p.ID) + "/enrollment, with a token of your own, to send it again."}
			} else {
				out.Enrollment = &enrollmentView{Status: "sent", SentTo: strPtr(sent.Email), ExpiresAt: timePtr(sent.ExpiresAt)}
			}
		}
		w.Header().Set("Location", "/principals/"+url.PathEscape(p.ID))
		writeJSON(w, http.StatusCreated, out)
		return nil
	})
}

type enrollRequest struct {
	EnrollmentToken string `json:"enrollmentToken"`
}

// EnrollsPerMinute bounds the exchanges one source address may try.
const EnrollsPerMinute = 10

// Enroll serves POST /enroll {"enrollmentToken": "tge_…"}, open to anyone: a valid,
// unused, unexpired enrollment secret is exchanged, once, for its principal's first
// token, answered like a create (201 with the token, this once). Anything else is one
// uniform 400. Each source (an IPv4 address, or an IPv6 /64) may try EnrollsPerMinute
// times a minute.
func Enroll(d Exchange) http.Handler {
	e, rates := d.Enroller, d.Rates
	var limit perMinute
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkQuery(r, nil); err != nil {
			writeError(w, r, err)
			return
		}
		if !limit.allow(w, r, rates, "ENROLL", EnrollsPerMinute, e.Now().UTC()) {
			return
		}
		var req enrollRequest
		if err := decode(w, r, &req, false); err != nil {
			writeError(w, r, err)
			return
		}
		created, err := e.Exchange(r.Context(), req.EnrollmentToken)
		if err != nil {
			writeError(w, r, err)
			return
		}
		slog.InfoContext(r.Context(), "principal enrolled", "principalId", created.Token.OwnerID, "tokenId", string(created.Token.ID))
		w.Header().Set("Location", "/tokens/"+string(created.Token.ID))
		writeJSON(w, http.StatusCreated, createdView{view(created.Token, e.Tokens.Catalog, e.Now()), created.Plaintext.Reveal()})
	})
}
