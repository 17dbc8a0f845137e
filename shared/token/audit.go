package token

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"tokengate/shared/access"
)

// EventType names a change the audit trail records.
type EventType string

const (
	EventCreate       EventType = "create"
	EventUpdate       EventType = "update"
	EventRotate       EventType = "rotate"
	EventDisable      EventType = "disable"
	EventEnable       EventType = "enable"
	EventRevoke       EventType = "revoke"
	EventApprove      EventType = "approve"
	EventReject       EventType = "reject"
	EventEmergencyOn  EventType = "emergency.on"
	EventEmergencyOff EventType = "emergency.off"
	EventLeakedRevoke EventType = "leaked.revoke"
	EventBootstrap    EventType = "bootstrap"
	EventEnroll       EventType = "enroll"
	// EventEnrollSend: an admin had an enrollment secret mailed to a principal (tokenId
	// empty, ownerId the principal); it supersedes any earlier unused one.
	EventEnrollSend EventType = "enroll.send"
)

// EventTypes lists every event type, for filters.
var EventTypes = []EventType{EventCreate, EventUpdate, EventRotate, EventDisable, EventEnable, EventRevoke,
	EventApprove, EventReject, EventEmergencyOn, EventEmergencyOff, EventLeakedRevoke, EventBootstrap, EventEnroll, EventEnrollSend}

// LeakReporter is the actor of a revocation by a leaked-token report: anyone may report.
const LeakReporter = "leak-report"

// Event is one audit record: who changed which token, when, why, and what changed. It
// never holds a secret: Changes are computed from auditFields, which has none.
type Event struct {
	ID           string
	Time         time.Time
	Version      int64 // the token's version after the change: orders one token's records within a second
	Type         EventType
	ActorID      string // the principal who made the change, or LeakReporter
	ActorTokenID string // the token the change was made with
	// ActorMintedBy is set when that token was delegated: the principal who minted it
	// for ActorID (its owner). Both are named, so a borrowed token never hides its minter.
	ActorMintedBy string
	TokenID       ID
	OwnerID       string
	Reason        string
	Changes       []Change
}

// Change is one field's value before and after, as text.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// newEventID is time-ordered within a second by the caller's timestamp and unique by
// its random part.
func newEventID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

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

// diff lists the audited fields that differ between before and after (auditFields of
// the token before and after a change), by name.
func diff(b, a map[string]string) []Change {
	var out []Change
	for k, v := range a {
		if b[k] != v {
			out = append(out, Change{Field: k, From: b[k], To: v})
		}
	}
	slices.SortFunc(out, func(x, y Change) int { return strings.Compare(x.Field, y.Field) })
	return out
}

// AuditFilter selects events for the activity log.
type AuditFilter struct {
	ActorID string // the actor, or the minter of the delegated token the actor used
	TokenID ID
	Type    EventType
	Since   time.Time // inclusive; zero: from the start
	Until   time.Time // exclusive; zero: until now
	Limit   int
	Cursor  string
}

// event makes the audit record of a change c made to t.
func event(typ EventType, c access.Caller, t *Token, now time.Time, reason string, changes []Change) Event {
	e := Event{ID: newEventID(), Time: now, Version: t.Version, Type: typ, ActorID: c.OwnerID, ActorTokenID: c.TokenID,
		TokenID: t.ID, OwnerID: t.OwnerID, Reason: reason, Changes: changes}
	if c.Delegated() {
		e.ActorMintedBy = c.Minter()
	}
	return e
}

// PrincipalEvent makes the audit record of an action c took on principal id that
// concerns no token.
func PrincipalEvent(typ EventType, c access.Caller, id string, now time.Time, reason string) Event {
	e := Event{ID: newEventID(), Time: now, Type: typ, ActorID: c.OwnerID, ActorTokenID: c.TokenID, OwnerID: id, Reason: reason}
	if c.Delegated() {
		e.ActorMintedBy = c.Minter()
	}
	return e
}

// Match reports whether e passes the filter's conditions that no index serves.
func (f AuditFilter) Match(e *Event) bool {
	return (f.Type == "" || e.Type == f.Type) && (f.ActorID == "" || e.ActorID == f.ActorID || e.ActorMintedBy == f.ActorID) && (f.TokenID == "" || e.TokenID == f.TokenID)
}
