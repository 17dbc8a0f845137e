// Package audit is the audit trail's record: who changed which token or principal,
// when, through which token (and, for a delegated one, who minted it), why, and what
// changed, field by field, never a secret. The token and principal services make the
// records; shared/store writes each in the transaction of its change.
package audit

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
	// EventReuseDetected: a secret rotated away was presented after its grace period
	// (actor ReuseDetector); recorded at most once per token an hour, with the source IP.
	// With the token's onReuse "revoke" the same record revokes it.
	EventReuseDetected EventType = "reuse-detected"
	// EventSettingsChange: a superuser changed the run-time settings (shared/settings);
	// tokenId and ownerId are empty, Version is the settings' version after the change.
	EventSettingsChange EventType = "settings.change"
)

// EventTypes lists every event type, for filters.
var EventTypes = []EventType{EventCreate, EventUpdate, EventRotate, EventDisable, EventEnable, EventRevoke,
	EventApprove, EventReject, EventEmergencyOn, EventEmergencyOff, EventLeakedRevoke, EventBootstrap, EventEnroll, EventEnrollSend, EventReuseDetected, EventSettingsChange}

// LeakReporter is the actor of a revocation by a leaked-token report: anyone may report.
const LeakReporter = "leak-report"

// ReuseDetector is the actor of a reuse-detected record: the authorizer that refused a
// rotated-away secret.
const ReuseDetector = "reuse-detection"

// SystemActor reports whether id is one of tokengate's own actors, which no principal
// may be named: its records would pass for theirs (and reuse alerts are found by actor).
func SystemActor(id string) bool { return id == LeakReporter || id == ReuseDetector }

// Event is one audit record: who changed which token, when, why, and what changed. It
// never holds a secret: Changes are computed from auditFields, which has none.
type Event struct {
	ID           string
	Time         time.Time
	Version      int64 // the token's version after the change: orders one token's records within a second
	Type         EventType
	ActorID      string // the principal who made the change, LeakReporter or ReuseDetector
	ActorTokenID string // the token the change was made with
	// ActorMintedBy is set when that token was delegated: the principal who minted it
	// for ActorID (its owner). Both are named, so a borrowed token never hides its minter.
	ActorMintedBy string
	TokenID       string
	OwnerID       string
	Reason        string
	Changes       []Change
	// Idempotency, when set, is the Idempotency-Key the change was asked with: the store
	// records it with the change, in the same transaction, so the same request sent again
	// changes nothing more (IdempotencyReplayError).
	Idempotency *Idempotency
}

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// Idempotency is an Idempotency-Key as stored: never the key itself, which a client may
// have logged anywhere, but keyed hashes of it (scoped to the principal that sent it)
// and of the request it came with.
type Idempotency struct {
	Key     string // hex SHA-256 of the principal and the key
	Request string // hex SHA-256 of the method, path and the decoded body
}

// IdempotencyReplayError says a request came again with the Idempotency-Key of one that
// already made its change: nothing more was changed. The new secret that change made was
// in its answer only and is kept nowhere, so it cannot be answered again: a client whose
// answer was lost rotates the token.
type IdempotencyReplayError struct {
	TokenID string
	Type    EventType
	At      time.Time
}

func (e *IdempotencyReplayError) Error() string {
	return fmt.Sprintf("this Idempotency-Key already made its change (%s of token %s at %s)", e.Type, e.TokenID, e.At.UTC().Format(time.RFC3339))
}

// Change is one field's value before and after, as text.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// NewID is time-ordered within a second by the caller's timestamp and unique by
// its random part.
func NewID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Diff lists the fields that differ between before and after (a record's fields as
// text, before and after a change), by name.
func Diff(b, a map[string]string) []Change {
	var out []Change
	for k, v := range a {
		if b[k] != v {
			out = append(out, Change{Field: k, From: b[k], To: v})
		}
	}
	slices.SortFunc(out, func(x, y Change) int { return strings.Compare(x.Field, y.Field) })
	return out
}

// Filter selects events for the activity log.
type Filter struct {
	ActorID string // the actor, or the minter of the delegated token the actor used
	TokenID string
	Type    EventType
	Since   time.Time // inclusive; zero: from the start
	Until   time.Time // exclusive; zero: until now
	Limit   int
	Cursor  string
}

// By is a record of a change c made: its id, time, type, reason and actor (with the
// minter of a delegated token); the caller fills in what was changed.
func By(typ EventType, c access.Caller, now time.Time, reason string) Event {
	e := Event{ID: NewID(), Time: now, Type: typ, ActorID: c.OwnerID, ActorTokenID: c.TokenID, Reason: reason}
	if c.Delegated() {
		e.ActorMintedBy = c.Minter()
	}
	return e
}

// PrincipalEvent makes the audit record of an action c took on principal id that
// concerns no token.
func PrincipalEvent(typ EventType, c access.Caller, id string, now time.Time, reason string) Event {
	e := By(typ, c, now, reason)
	e.OwnerID = id
	return e
}

// Match reports whether e passes the filter's conditions that no index serves.
func (f Filter) Match(e *Event) bool {
	return (f.Type == "" || e.Type == f.Type) && (f.ActorID == "" || e.ActorID == f.ActorID || e.ActorMintedBy == f.ActorID) && (f.TokenID == "" || e.TokenID == f.TokenID)
}
