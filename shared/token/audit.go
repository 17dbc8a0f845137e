package token

import (
	"fmt"
	"strings"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/audit"
)

// auditFields are the fields whose changes the audit trail records, as text.
func auditFields(t *Token) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	f := map[string]string{
		"name": t.Name, "description": t.Description, "ownerId": t.OwnerID, "type": string(t.Type),
		"status": string(t.Status), "scopes": strings.Join(t.Scopes, " "),
		"expiresAt": formatAuditTime(t.ExpiresAt), "emergencyAccessUntil": formatAuditTime(t.EmergencyUntil),
		// The chain: the token that minted it and whose authority it carries.
		"parentId": string(t.ParentID), "mintedBy": t.MintedBy,
	}
	f["onReuse"] = "" // alert, the default: no noise in every create's record
	if t.OnReuse.Revokes() {
		f["onReuse"] = string(ReuseRevoke)
	}
	var ips []string
	for _, p := range t.Restrictions.IPAllowlist {
		ips = append(ips, p.String())
	}
	f["ipAllowlist"] = strings.Join(ips, " ")
	if r := t.Restrictions.RateLimit; r != nil {
		f["rateLimit"] = fmt.Sprintf("%d per %s", r.Limit, r.Per)
	} else {
		f["rateLimit"] = ""
	}
	if w := t.Restrictions.TimeRestriction; w != nil {
		f["timeRestriction"] = fmt.Sprintf("%s %02d:00-%02d:00 UTC", strings.Join(w.Days, ","), w.StartHour, w.EndHour)
	} else {
		f["timeRestriction"] = ""
	}
	return f
}

func formatAuditTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// event makes the audit record of a change c made to t.
func event(typ audit.EventType, c access.Caller, t *Token, now time.Time, reason string, changes []audit.Change) audit.Event {
	e := audit.By(typ, c, now, reason)
	e.Version, e.TokenID, e.OwnerID, e.Changes = t.Version, string(t.ID), t.OwnerID, changes
	return e
}
