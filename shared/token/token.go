// Package token is tokengate's domain: the token string format and its checksum, keyed
// hashing under a pepper, statuses and expiry rules, the Store boundary and the Service
// that runs every token operation. It imports no AWS SDK and never reads the clock or
// the environment itself: both are passed in. Every rule is decided by a pure function
// of the caller, the token or principal as read, the request, the policy, the catalog
// and the time (planCreate, updateEdit, notRequester, ...): a Service method reads,
// decides with them, and writes.
package token

import (
	"slices"
	"time"

	"tokengate/shared/restriction"
)

// Status is the lifecycle state kept on a token. StatusExpired is never stored: it is
// derived from ExpiresAt on every read, because DynamoDB TTL deletes items days late.
type Status string

const (
	StatusActive   Status = "active"
	StatusPending  Status = "pending"
	StatusDisabled Status = "disabled"
	StatusRevoked  Status = "revoked"
	StatusRejected Status = "rejected"
	StatusExpired  Status = "expired"
)

// ValidStatus reports whether s names a status a list may filter on.
func ValidStatus(s string) bool {
	switch Status(s) {
	case StatusActive, StatusPending, StatusDisabled, StatusRevoked, StatusRejected, StatusExpired:
		return true
	}
	return false
}

// Type tells how a token is meant to be used. Temporary tokens are short-lived and
// self-service; permanent tokens default to one year and may need tokens:admin.
type Type string

const (
	TypePermanent Type = "permanent"
	TypeTemporary Type = "temporary"
)

// Token is what tokengate keeps of an API token: everything but the secret, of which
// only a keyed hash is kept.
type Token struct {
	ID        ID
	OwnerID   string
	CreatedBy string // the principal whose call created the token
	// MintedBy is the principal whose personal authority the token carries: the owner
	// for a token it minted for itself, else whoever minted it for the owner, following
	// the chain (a token minted with a delegated token has the same minter). Empty on
	// tokens stored before it existed: Minter falls back to CreatedBy.
	MintedBy string
	// ParentID is the token whose call minted this one (empty for a root: the bootstrap
	// token and a principal's first token from its enrollment). Set at issuance, it never
	// changes: rotation, approval and updates keep it, as they keep CreatedBy.
	ParentID ID
	// Bounds are what the lineage imposes (the parent's limits when it minted this one);
	// immutable, checked by the authorizer beside Restrictions.
	Bounds restriction.Bounds
	// Ancestors are the tokens above it, parent first, up to its root: the authorizer
	// applies each one's restrictions as they are now (an ancestor tightened later binds
	// its descendants at once), beside the Bounds copied at minting.
	Ancestors []ID
	// EndsWith are the tokens whose life a temporary token shares: it works only while
	// each of them is active (its parent, and the parent's own EndsWith when the parent
	// is temporary too). Empty for permanent tokens, which live on their own.
	EndsWith []ID
	// NotAfter is the latest a temporary token may ever expire, whatever a rotation asks:
	// MAX_TEMPORARY_TOKEN_LIFETIME after its creation, no later than its parent, and for a
	// session (a high-risk temporary token active without approval) the end it was issued
	// with. Zero for permanent tokens.
	NotAfter time.Time
	// DisabledBy is the principal who last disabled the token: enabling a token that
	// another principal disabled needs tokens:admin.
	DisabledBy  string
	Name        string
	Description string
	Scopes      []string
	Type        Type
	Status      Status // stored status; see EffectiveStatus
	Hint        string

	// OwnerIncarnation is the owner's Incarnation when the token was created: a principal
	// deleted and created again has a new one, so its old tokens stay dead.
	OwnerIncarnation string

	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time // zero: never expires
	EndedAt   time.Time // when it was revoked or rejected

	Hash          []byte
	PepperVersion int
	// During a rotation grace period the previous secret still verifies.
	PrevHash          []byte
	PrevPepperVersion int
	PrevValidUntil    time.Time
	// Retired are the secrets rotated away before the previous one, newest first, at most
	// MaxRetired: presenting one of them, or the previous one past its grace period, is
	// reuse (Reused). Only their keyed hashes are kept.
	Retired []RetiredSecret

	// OnReuse is what a detected reuse does beside alerting: ReuseRevoke revokes the
	// token (and with it the temporary tokens that live with it). OnReuseSetBy is who set
	// it, as for restrictions: loosening it back to alert needs them or tokens:admin.
	OnReuse      ReuseAction
	OnReuseSetBy string
	// ReuseDetectedAt and ReuseIP are the last reuse recorded (at most one an hour).
	ReuseDetectedAt time.Time
	ReuseIP         string
	// ReuseNotifiedAt is the ReuseDetectedAt whose mail the notifier claimed; only its
	// conditional claim writes it, never Store.Put.
	ReuseNotifiedAt time.Time

	// Security settings, checked by the authorizer.
	Restrictions restriction.Set
	// EmergencyUntil: until then, emergency access lifts the IP and time restrictions.
	EmergencyUntil time.Time

	// Usage, written by the authorizer with atomic adds, never by Store.Put.
	LastUsedAt time.Time
	LastUsedIP string
	UseCount   int64
	// UsesByDay are the uses of each recent UTC day, keyed by date ("2006-01-02"): the
	// same flush that adds to UseCount adds to its day. Only the last few weeks are kept;
	// see DailyUses.
	UsesByDay map[string]int64
	// LastNotifiedAt is when the expiry notifier last claimed a notice of the token;
	// only its conditional claim writes it, never Store.Put.
	LastNotifiedAt time.Time

	// Unreadable names stored fields that did not parse (shared/store sets it): the
	// authorizer refuses such a token rather than read "no restriction" into it.
	Unreadable []string

	// Version increases with every change; Store.Put writes only if it is unchanged.
	Version int64
}

// RetiredSecret is the keyed hash of a secret rotated away.
type RetiredSecret struct {
	Hash          []byte
	PepperVersion int
}

// MaxRetired bounds Token.Retired: reuse is detected for the secret rotated away last
// (PrevHash) and the MaxRetired before it.
const MaxRetired = 4

// ReuseAction is what a detected reuse of a rotated-away secret does beside recording
// and alerting it.
type ReuseAction string

const (
	ReuseAlertOnly ReuseAction = "alert" // the default (also when empty)
	ReuseRevoke    ReuseAction = "revoke"
)

// ValidReuseAction reports whether s names a ReuseAction.
func ValidReuseAction(s string) bool { return s == string(ReuseAlertOnly) || s == string(ReuseRevoke) }

// Revokes reports whether the action revokes the token.
func (a ReuseAction) Revokes() bool { return a == ReuseRevoke }

// IsExpired is checked on every read: DynamoDB TTL deletes items days late.
func (t *Token) IsExpired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// EffectiveStatus is the status a client sees: an active or disabled token past its
// expiry is expired.
func (t *Token) EffectiveStatus(now time.Time) Status {
	if (t.Status == StatusActive || t.Status == StatusDisabled) && t.IsExpired(now) {
		return StatusExpired
	}
	return t.Status
}

// Ended reports whether the token can never be used again.
func (t *Token) Ended(now time.Time) bool {
	switch t.EffectiveStatus(now) {
	case StatusRevoked, StatusRejected, StatusExpired:
		return true
	}
	return false
}

// RemoveAt is when DynamoDB TTL may delete the token: RETENTION_AFTER_END after it was
// revoked, rejected or expired. Zero: keep it.
func (t *Token) RemoveAt(retention time.Duration) time.Time {
	var end time.Time
	if !t.EndedAt.IsZero() {
		end = t.EndedAt
	}
	if !t.ExpiresAt.IsZero() && (end.IsZero() || t.ExpiresAt.Before(end)) {
		end = t.ExpiresAt
	}
	if end.IsZero() {
		return time.Time{}
	}
	return end.Add(retention)
}

// Minter is the principal whose authority the token carries (see MintedBy).
func (t *Token) Minter() string {
	switch {
	case t.MintedBy != "":
		return t.MintedBy
	case t.CreatedBy != "":
		return t.CreatedBy
	}
	return t.OwnerID
}

// Delegated reports whether one principal minted the token for another.
func (t *Token) Delegated() bool { return t.Minter() != t.OwnerID }

// EmergencyActive reports whether break-glass access is on at now.
func (t *Token) EmergencyActive(now time.Time) bool { return now.Before(t.EmergencyUntil) }

// VerifyUntil is Verify that also says until when the match holds: zero for the
// current secret, the end of the grace period for the previous one.
func (t *Token) VerifyUntil(k *Keyring, s Secret, now time.Time) (bool, time.Time) {
	cur := k.Verify(s, t.PepperVersion, t.Hash)
	prev := len(t.PrevHash) > 0 && now.Before(t.PrevValidUntil) && k.Verify(s, t.PrevPepperVersion, t.PrevHash)
	if cur {
		return true, time.Time{}
	}
	if prev {
		return true, t.PrevValidUntil
	}
	return false, time.Time{}
}

// Reused reports whether s is a secret rotated away from t: the previous one after its
// grace period, or a retired one. It is asked only of a secret that did not verify, so a
// token never rotated costs nothing more.
func (t *Token) Reused(k *Keyring, s Secret, now time.Time) bool {
	if len(t.PrevHash) > 0 && !now.Before(t.PrevValidUntil) && k.Verify(s, t.PrevPepperVersion, t.PrevHash) {
		return true
	}
	for _, r := range t.Retired {
		if k.Verify(s, r.PepperVersion, r.Hash) {
			return true
		}
	}
	return false
}

// Verify reports whether s is the token's secret, or its previous secret during a
// rotation grace period. Both comparisons always run, so timing does not tell which.
func (t *Token) Verify(k *Keyring, s Secret, now time.Time) bool {
	cur := k.Verify(s, t.PepperVersion, t.Hash)
	prev := len(t.PrevHash) > 0 && now.Before(t.PrevValidUntil) && k.Verify(s, t.PrevPepperVersion, t.PrevHash)
	return cur || prev
}

// Limits is everything that restricts requests made with t: its bounds and its own
// restrictions (its own rate limit counted under its own id). A child minted by t gets
// exactly these as its Bounds.
func (t *Token) Limits() restriction.Bounds {
	b := restriction.Bounds{
		IPAllowlists: slices.Clone(t.Bounds.IPAllowlists),
		TimeWindows:  slices.Clone(t.Bounds.TimeWindows),
		Rates:        slices.Clone(t.Bounds.Rates),
	}
	r := t.Restrictions
	if len(r.IPAllowlist) > 0 {
		b.IPAllowlists = append(b.IPAllowlists, slices.Clone(r.IPAllowlist))
	}
	if r.TimeRestriction != nil {
		w := *r.TimeRestriction
		w.Days = slices.Clone(w.Days)
		b.TimeWindows = append(b.TimeWindows, w)
	}
	if r.RateLimit != nil {
		b.Rates = append(b.Rates, restriction.RateBound{Key: restriction.TokenKey(string(t.ID)), Limit: *r.RateLimit})
	}
	return b
}
