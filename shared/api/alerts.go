package api

import (
	"net/http"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// alertView is an alert about one token: a reuse of one of its rotated-away secrets
// (kind reuse-detected: when, from where, whether it revoked the token), or its expiry
// within the detection window (kind expiring: the whole days left, rounded up, as in the
// notifier's warning).
type alertView struct {
	tokenView
	Kind       string  `json:"kind"`
	DaysLeft   *int    `json:"daysLeft,omitempty"`
	DetectedAt *string `json:"detectedAt,omitempty"`
	SourceIP   *string `json:"sourceIp,omitempty"`
	Revoked    *bool   `json:"revoked,omitempty"`
}

type alertsView struct {
	Items      []alertView `json:"items"`
	NextCursor *string     `json:"nextCursor"` // always null: the windows bound the list
}

// Alerts serves GET /alerts: the reuses of rotated-away secrets recorded in the last
// seven days, newest first, then the active permanent tokens that expire within
// TOKEN_EXPIRATION_DETECTION_WINDOW, soonest first: the caller's (every principal's with
// tokens:admin), in one page.
func Alerts(svc *token.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		bad := &fault.InvalidError{}
		for k := range r.URL.Query() {
			bad.Add(k, "is not a known query parameter (GET /alerts takes none)")
		}
		if err := bad.Err(); err != nil {
			return err
		}
		reuses, err := svc.ReuseAlerts(r.Context(), c)
		if err != nil {
			return err
		}
		alerts, err := svc.Alerts(r.Context(), c)
		if err != nil {
			return err
		}
		now := svc.Now()
		out := alertsView{Items: make([]alertView, 0, len(reuses)+len(alerts))}
		for _, a := range reuses {
			revoked := a.Revoked
			out.Items = append(out.Items, alertView{tokenView: view(a.Token, svc.Catalog, now), Kind: string(audit.EventReuseDetected),
				DetectedAt: timePtr(a.DetectedAt), SourceIP: strPtr(a.SourceIP), Revoked: &revoked})
		}
		for _, a := range alerts {
			days := a.DaysLeft
			out.Items = append(out.Items, alertView{tokenView: view(a.Token, svc.Catalog, now), Kind: "expiring", DaysLeft: &days})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}
