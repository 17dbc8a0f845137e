package api

import (
	"net/http"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// alertView is a token that expires within the detection window, with the whole days it
// has left (rounded up, as in the notifier's warning).
type alertView struct {
	tokenView
	DaysLeft int `json:"daysLeft"`
}

type alertsView struct {
	Items      []alertView `json:"items"`
	NextCursor *string     `json:"nextCursor"` // always null: the window bounds the list
}

// Alerts serves GET /alerts: the caller's active permanent tokens (every principal's
// with tokens:admin) that expire within TOKEN_EXPIRATION_DETECTION_WINDOW, soonest
// first, in one page.
func Alerts(svc *token.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		bad := &fault.InvalidError{}
		for k := range r.URL.Query() {
			bad.Add(k, "is not a known query parameter (GET /alerts takes none)")
		}
		if err := bad.Err(); err != nil {
			return err
		}
		alerts, err := svc.Alerts(r.Context(), c)
		if err != nil {
			return err
		}
		now := svc.Now()
		out := alertsView{Items: make([]alertView, len(alerts))}
		for i, a := range alerts {
			out.Items[i] = alertView{view(a.Token, svc.Catalog, now), a.DaysLeft}
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}
