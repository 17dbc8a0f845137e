package api

import (
	"time"

	"tokengate/shared/access"
	"tokengate/shared/restriction"
	"tokengate/shared/token"
)

// tokenView is a token as the API shows it. Its own struct, so a new field on
// token.Token (the hash, say) never reaches a response by accident.
type tokenView struct {
	ID                 string                  `json:"id"`
	Name               string                  `json:"name"`
	Description        string                  `json:"description"`
	OwnerID            string                  `json:"ownerId"`
	CreatedBy          string                  `json:"createdBy,omitempty"`
	MintedBy           string                  `json:"mintedBy"`
	Delegated          bool                    `json:"delegated"`
	DisabledBy         *string                 `json:"disabledBy,omitempty"`
	Type               token.Type              `json:"type"`
	Status             token.Status            `json:"status"`
	Scopes             []string                `json:"scopes"`
	Risk               access.Risk             `json:"risk"`
	Hint               string                  `json:"hint"`
	CreatedAt          string                  `json:"createdAt"`
	UpdatedAt          string                  `json:"updatedAt"`
	ExpiresAt          *string                 `json:"expiresAt"`
	EndedAt            *string                 `json:"endedAt,omitempty"`
	RotationGraceUntil *string                 `json:"rotationGraceUntil,omitempty"`
	IPAllowlist        []string                `json:"ipAllowlist"`
	RateLimit          *restriction.RateLimit  `json:"rateLimit"`
	TimeRestriction    *restriction.TimeWindow `json:"timeRestriction"`
	// OnReuse is what a reuse of a rotated-away secret does beside alerting: alert or
	// revoke; ReuseDetectedAt and ReuseIP the last one recorded.
	OnReuse         token.ReuseAction `json:"onReuse"`
	ReuseDetectedAt *string           `json:"reuseDetectedAt,omitempty"`
	ReuseIP         *string           `json:"reuseSourceIp,omitempty"`
	// Lineage: the token that minted it (null for a root), what that token's limits
	// impose on it, the tokens a temporary one lives and dies with, and the latest it may
	// ever expire.
	ParentID              *string        `json:"parentId"`
	InheritedRestrictions *inheritedView `json:"inheritedRestrictions,omitempty"`
	EndsWith              []string       `json:"endsWith,omitempty"`
	LatestExpiry          *string        `json:"latestExpiry,omitempty"`
	// RestrictionsSetBy names who set each restriction that is set.
	RestrictionsSetBy map[string]string `json:"restrictionsSetBy"`
	EmergencyUntil    *string           `json:"emergencyAccessUntil"`
	LastUsedAt        *string           `json:"lastUsedAt"`
	LastUsedIP        *string           `json:"lastUsedIp"`
	UseCount          int64             `json:"useCount"`
	Version           int64             `json:"version"`
}

// usesDays is how many UTC days of uses GET /tokens/{id} shows.
const usesDays = 30

// detailView is GET /tokens/{id}: a token and its uses per UTC day of the last usesDays
// days, oldest first. Only the one-token answer carries them, not lists and changes.
type detailView struct {
	tokenView
	UsesByDay []dayUsesView `json:"usesByDay"`
}

// dayUsesView is a token's uses on one UTC day (token.DayUses).
type dayUsesView struct {
	Day  string `json:"day"`
	Uses int64  `json:"uses"`
}

func viewDetail(t *token.Token, cat *access.Catalog, now time.Time) detailView {
	v := detailView{tokenView: view(t, cat, now)}
	for _, d := range t.DailyUses(now, usesDays) {
		v.UsesByDay = append(v.UsesByDay, dayUsesView{Day: d.Day, Uses: d.Uses})
	}
	return v
}

// inheritedView is a token's Bounds as the API shows them.
type inheritedView struct {
	IPAllowlists     [][]string               `json:"ipAllowlists,omitempty"`
	TimeRestrictions []restriction.TimeWindow `json:"timeRestrictions,omitempty"`
	RateLimits       []inheritedRate          `json:"rateLimits,omitempty"`
}

// inheritedRate is an ancestor's rate limit the token counts against.
type inheritedRate struct {
	TokenID string `json:"tokenId"`
	restriction.RateLimit
}

func viewBounds(b restriction.Bounds) *inheritedView {
	if b.IsZero() {
		return nil
	}
	v := &inheritedView{TimeRestrictions: b.TimeWindows}
	for _, l := range b.IPAllowlists {
		var strs []string
		for _, p := range l {
			strs = append(strs, p.String())
		}
		v.IPAllowlists = append(v.IPAllowlists, strs)
	}
	for _, r := range b.Rates {
		v.RateLimits = append(v.RateLimits, inheritedRate{TokenID: string(r.Key), RateLimit: r.Limit})
	}
	return v
}

// createdView adds the one-time token string to a created or rotated token.
type createdView struct {
	tokenView
	Token string `json:"token"`
}

// selfView is GET /tokens/self: the calling token and the policy its new tokens meet.
type selfView struct {
	tokenView
	Policy policyView `json:"policy"`
}

// policyView is what a client needs of token.Policy to offer only what the API accepts.
type policyView struct {
	// MaxLifetime is MAX_TOKEN_LIFETIME as a Go duration; "0s" is unlimited.
	MaxLifetime  string `json:"maxLifetime"`
	NeverAllowed bool   `json:"neverAllowed"`
	// PermanentTokensAdminOnly: creating a permanent token needs tokens:admin.
	PermanentTokensAdminOnly bool   `json:"permanentTokensAdminOnly"`
	TemporaryTokenTTL        string `json:"temporaryTokenTtl"`
	MaxTemporaryLifetime     string `json:"maxTemporaryTokenLifetime"`
}

func viewPolicy(p token.Policy) policyView {
	maxTemp := p.MaxTemporaryLifetime
	if maxTemp <= 0 {
		maxTemp = token.DefaultMaxTemporaryLifetime
	}
	return policyView{
		MaxLifetime: p.MaxLifetime.String(), NeverAllowed: p.MaxLifetime == 0, PermanentTokensAdminOnly: p.PermanentAdminOnly,
		TemporaryTokenTTL: p.TemporaryTTL.String(), MaxTemporaryLifetime: maxTemp.String(),
	}
}

type listView struct {
	Items      []tokenView `json:"items"`
	NextCursor *string     `json:"nextCursor"`
}

func timePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func view(t *token.Token, cat *access.Catalog, now time.Time) tokenView {
	v := tokenView{
		ID: string(t.ID), Name: t.Name, Description: t.Description, OwnerID: t.OwnerID, CreatedBy: t.CreatedBy,
		Type: t.Type, Status: t.EffectiveStatus(now), Scopes: t.Scopes, Risk: cat.RiskOf(t.Scopes), Hint: t.Hint,
		CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: t.UpdatedAt.UTC().Format(time.RFC3339),
		ExpiresAt: timePtr(t.ExpiresAt), EndedAt: timePtr(t.EndedAt),
		LastUsedAt: timePtr(t.LastUsedAt), LastUsedIP: strPtr(t.LastUsedIP), UseCount: t.UseCount,
		Version: t.Version,
	}
	if len(t.PrevHash) > 0 && now.Before(t.PrevValidUntil) {
		v.RotationGraceUntil = timePtr(t.PrevValidUntil)
	}
	v.IPAllowlist = []string{}
	for _, p := range t.Restrictions.IPAllowlist {
		v.IPAllowlist = append(v.IPAllowlist, p.String())
	}
	v.RateLimit, v.TimeRestriction = t.Restrictions.RateLimit, t.Restrictions.TimeRestriction
	v.OnReuse = token.ReuseAlertOnly
	if t.OnReuse.Revokes() {
		v.OnReuse = token.ReuseRevoke
	}
	if !t.ReuseDetectedAt.IsZero() {
		v.ReuseDetectedAt, v.ReuseIP = timePtr(t.ReuseDetectedAt), strPtr(t.ReuseIP)
	}
	v.MintedBy, v.Delegated = t.Minter(), t.Delegated()
	v.ParentID, v.InheritedRestrictions, v.LatestExpiry = strPtr(string(t.ParentID)), viewBounds(t.Bounds), timePtr(t.NotAfter)
	for _, id := range t.EndsWith {
		v.EndsWith = append(v.EndsWith, string(id))
	}
	if t.Status == token.StatusDisabled {
		v.DisabledBy = strPtr(t.DisabledBy)
	}
	v.RestrictionsSetBy = map[string]string{}
	setBy := func(field, who string, set bool) {
		if !set {
			return
		}
		if who == "" {
			who = t.CreatedBy
		}
		v.RestrictionsSetBy[field] = who
	}
	r := t.Restrictions
	setBy("ipAllowlist", r.IPAllowlistSetBy, len(r.IPAllowlist) > 0)
	setBy("rateLimit", r.RateLimitSetBy, r.RateLimit != nil)
	setBy("timeRestriction", r.TimeRestrictionSetBy, r.TimeRestriction != nil)
	setBy("onReuse", t.OnReuseSetBy, t.OnReuse.Revokes())
	if t.EmergencyActive(now) {
		v.EmergencyUntil = timePtr(t.EmergencyUntil)
	}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	return v
}
