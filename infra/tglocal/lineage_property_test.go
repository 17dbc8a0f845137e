package main

import (
	"context"
	"errors"
	"flag"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/fault"
	"tokengate/shared/principal"
	"tokengate/shared/restriction"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// TestLineageProperties drives the real services on DynamoDB Local with random sequences
// of create, rotate, enroll, grant, approve, update and revoke by several principals,
// each call made with a caller the real authorizer let in (so narrowing applies), and
// after every step checks the lineage invariants over every token in the table:
//
//   - a child's scopes are within its parent's, so its effective scopes are within its
//     owner's holdings and its parent's;
//   - a child's limits are at least its parent's, both as they were when it was minted
//     and as they are now (each ancestor's current restrictions bind it), whatever was
//     updated since;
//   - a child of a delegated token is delegated (borrowing twice is still borrowing), and
//     a token rotated by anyone but its owner in person is delegated;
//   - a temporary token never ends after its latest end, which is within
//     MAX_TEMPORARY_TOKEN_LIFETIME of its creation and never after its parent's end;
//   - no delegated token ever approved, or changed roles, scopes, superuser or email;
//   - no non-superuser approved a request of a principal that vouched for it.
//
// TG_RAPID_CHECKS sets the number of sequences (make test: 25; each 40 steps).
func TestLineageProperties(t *testing.T) {
	checks := "25"
	if testing.Short() {
		checks = "5"
	}
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == "100" { // rapid's default: not set on the command line
		require.NoError(t, flag.Set("rapid.checks", checks))
	}
	var steps, sequences int
	rapid.Check(t, func(rt *rapid.T) {
		sequences++
		steps += runLineageSequence(t, rt, 40)
	})
	t.Logf("%d sequences, %d steps that changed something, %d children of restricted parents, %d approvals", sequences, steps, restrictedChildren, approvals)
}

// lineageModel is what the test remembers that the table does not say: each token's
// parent's limits when it was minted.
type lineageModel struct {
	parentLimits    map[token.ID]restriction.Bounds
	parentDelegated map[token.ID]bool
	parentEnd       map[token.ID]time.Time
}

// restrictedChildren counts the tokens minted from a restricted parent, for the log: a
// run that mints none has not tried the bounds.
var restrictedChildren, approvals int

func runLineageSequence(t *testing.T, rt *rapid.T, n int) int {
	ctx := context.Background()
	svc := localtest.Service(t, nil)
	tb := svc.Store.(*store.Table)
	principals := &principal.Service{Store: tb, Catalog: svc.Catalog, Now: time.Now}
	auth := authorizer.New(authorizer.Config{Tokens: tb, Rates: tb, Keys: svc.Keys, Catalog: svc.Catalog, Prefix: svc.Prefix})
	model := lineageModel{parentLimits: map[token.ID]restriction.Bounds{}, parentDelegated: map[token.ID]bool{}, parentEnd: map[token.ID]time.Time{}}

	ids := []string{"root", "admin", "alice", "bob"}
	var pool []string // every secret handed out
	root, err := svc.Bootstrap(ctx, "root", "property test")
	require.NoError(t, err)
	pool = append(pool, root.Plaintext.Reveal())
	for _, id := range ids[1:] {
		p, err := tb.GetPrincipal(ctx, id)
		require.NoError(t, err)
		first, err := svc.Enroll(ctx, p)
		require.NoError(t, err)
		pool = append(pool, first.Plaintext.Reveal())
	}
	// A request waiting for approval, and a vouchee: root promotes bob, so bob may never
	// approve root's requests.
	rootCaller := auth.Check(ctx, authorizer.Request{Token: pool[0], SourceIP: "127.0.0.1"}).Caller
	_, err = svc.Create(ctx, rootCaller, token.CreateInput{Name: "root's request", Scopes: []string{access.EmergencyActivate}, Reason: "on call"})
	require.NoError(t, err)
	bobScopes := []string{access.TokensRead, access.TokensWrite, access.TokensAdmin}
	_, err = principals.Update(ctx, rootCaller, "bob", principal.UpdateInput{Scopes: &bobScopes}, 0)
	require.NoError(t, err)
	builtin := []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead, access.EmergencyActivate}
	subset := func(label string) []string {
		var out []string
		for _, s := range builtin {
			if rapid.Bool().Draw(rt, label+" "+s) {
				out = append(out, s)
			}
		}
		return out
	}
	// caller is a random secret of the pool as the authorizer lets it in, if it does.
	caller := func() (access.Caller, bool) {
		i := rapid.IntRange(0, len(pool)-1).Draw(rt, "caller")
		if rapid.Bool().Draw(rt, "recent") {
			i = len(pool) - 1 - i%min(len(pool), 3) // one of the newest: lineages grow deep
		}
		d := auth.Check(ctx, authorizer.Request{Token: pool[i], SourceIP: "127.0.0.1"})
		return d.Caller, d.Allow
	}
	anyToken := func() token.ID {
		toks := allTokens(t, tb)
		return rapid.SampledFrom(toks).Draw(rt, "token").ID
	}

	changed := 0
	for step := 0; step < n; step++ {
		c, ok := caller()
		if !ok {
			continue
		}
		var err error
		switch action := rapid.IntRange(0, 6).Draw(rt, "action"); action {
		case 0: // create
			// Mostly what could succeed (the caller's own scopes, for itself, temporary),
			// often what should not.
			scopes := subset("scope")
			if rapid.IntRange(0, 3).Draw(rt, "within") > 0 {
				scopes = nil
				for _, sc := range c.Scopes {
					if rapid.Bool().Draw(rt, "keep "+sc) {
						scopes = append(scopes, sc)
					}
				}
				if len(scopes) == 0 {
					scopes = c.Scopes
				}
			}
			owner := c.OwnerID
			if rapid.IntRange(0, 3).Draw(rt, "other owner") == 0 {
				owner = rapid.SampledFrom(ids).Draw(rt, "owner")
			}
			in := token.CreateInput{Name: "t", OwnerID: owner, Scopes: scopes, Reason: "r",
				Type: rapid.SampledFrom([]token.Type{token.TypeTemporary, token.TypeTemporary, token.TypePermanent}).Draw(rt, "type")}
			if rapid.Bool().Draw(rt, "rate limited") {
				in.RateLimit = &restriction.RateLimit{Limit: rapid.IntRange(100, 1000).Draw(rt, "limit"), Per: "minute"}
			}
			if rapid.Bool().Draw(rt, "allowlist") {
				in.IPAllowlist = []string{rapid.SampledFrom([]string{"127.0.0.1", "127.0.0.0/8", "10.0.0.0/8"}).Draw(rt, "cidr")}
			}
			via, _ := tb.Get(ctx, token.ID(c.TokenID))
			var out token.Created
			if out, err = svc.Create(ctx, c, in); err == nil {
				pool = append(pool, out.Plaintext.Reveal())
				model.parentLimits[out.Token.ID] = via.Limits()
				if !via.Limits().IsZero() {
					restrictedChildren++
				}
				model.parentDelegated[out.Token.ID] = via.Delegated()
				model.parentEnd[out.Token.ID] = via.ExpiresAt
			}
		case 1: // rotate
			var out token.Created
			if out, err = svc.Rotate(ctx, c, anyToken(), token.RotateInput{}); err == nil {
				pool = append(pool, out.Plaintext.Reveal())
				if c.OwnerID != out.Token.OwnerID || c.Delegated() {
					require.True(t, out.Token.Delegated(), "a token rotated by anyone but its owner in person is delegated")
				}
			}
		case 2: // enroll: a principal's own first token (the exchange's issuance)
			p, gerr := tb.GetPrincipal(ctx, rapid.SampledFrom(ids).Draw(rt, "enrollee"))
			require.NoError(t, gerr)
			var out token.Created
			if out, err = svc.Enroll(ctx, p); err == nil {
				pool = append(pool, out.Plaintext.Reveal())
			}
		case 3: // grant: change a principal's directly held scopes
			scopes := subset("grant")
			grantee := rapid.SampledFrom(ids).Draw(rt, "grantee")
			before, gerr := tb.GetPrincipal(ctx, grantee)
			require.NoError(t, gerr)
			var after *access.Principal
			if after, err = principals.Update(ctx, c, grantee, principal.UpdateInput{Scopes: &scopes}, 0); err == nil && after.Version != before.Version {
				require.False(t, c.Delegated(), "a delegated token changed a principal's grants")
			}
		case 4: // approve
			target := anyToken()
			var pending []token.ID
			for _, x := range allTokens(t, tb) {
				if x.Status == token.StatusPending {
					pending = append(pending, x.ID)
				}
			}
			if len(pending) > 0 {
				target = rapid.SampledFrom(pending).Draw(rt, "pending")
			}
			var approved *token.Token
			if approved, err = svc.Approve(ctx, c, target, "ok"); err == nil {
				require.False(t, c.Delegated(), "a delegated token approved")
				approver, gerr := tb.GetPrincipal(ctx, c.OwnerID)
				require.NoError(t, gerr)
				if !approver.Superuser {
					for _, who := range []string{approved.CreatedBy, approved.Minter(), approved.OwnerID} {
						require.NotContains(t, approver.VouchedBy, who, "a non-superuser approved a request of a principal that vouched for it")
					}
				}
				approvals++
			}
		case 5: // update: loosen or tighten a restriction
			in := token.UpdateInput{Reason: "r"}
			switch rapid.IntRange(0, 2).Draw(rt, "restriction") {
			case 0:
				empty := []string{}
				in.IPAllowlist = &empty
			case 1:
				var none *restriction.RateLimit
				in.RateLimit = &none
			case 2:
				l := []string{"127.0.0.1"}
				in.IPAllowlist = &l
			}
			_, err = svc.Update(ctx, c, anyToken(), in, 0)
		case 6: // revoke
			_, err = svc.Revoke(ctx, c, anyToken(), "r")
		}
		var inv *fault.InvalidError
		switch {
		case err == nil:
			changed++
		case errors.Is(err, fault.ErrForbidden), errors.Is(err, fault.ErrNotFound), errors.Is(err, fault.ErrConflict), errors.As(err, &inv):
		default:
			var st *fault.StateError
			require.ErrorAs(t, err, &st, "an unexpected failure")
		}
		checkLineage(t, tb, svc.Policy, model)
	}
	return changed
}

func allTokens(t *testing.T, tb *store.Table) []*token.Token {
	t.Helper()
	var out []*token.Token
	cursor := ""
	for {
		page, next, err := tb.List(context.Background(), token.Filter{Limit: 100, Cursor: cursor, Now: time.Now()})
		require.NoError(t, err)
		out = append(out, page...)
		if next == "" {
			return out
		}
		cursor = next
	}
}

func checkLineage(t *testing.T, tb *store.Table, p token.Policy, m lineageModel) {
	t.Helper()
	toks := allTokens(t, tb)
	byID := map[token.ID]*token.Token{}
	for _, x := range toks {
		byID[x.ID] = x
	}
	for _, x := range toks {
		if x.Type == token.TypeTemporary && !x.NotAfter.IsZero() {
			require.False(t, x.ExpiresAt.After(x.NotAfter), "%s ends after its latest end", x.ID)
			require.False(t, x.NotAfter.After(x.CreatedAt.Add(token.MaxTemporaryTTL)), "%s", x.ID)
		}
		if x.ParentID == "" {
			continue
		}
		parent := byID[x.ParentID]
		require.NotNil(t, parent, "%s has a parent the table does not", x.ID)
		require.Empty(t, access.Missing(x.Scopes, parent.Scopes), "%s carries scopes its parent does not", x.ID)
		if limits, ok := m.parentLimits[x.ID]; ok {
			require.True(t, restriction.BoundsWithin(x.Limits(), limits), "%s is less restricted than its parent was", x.ID)
		}
		require.True(t, restriction.BoundsWithin(effectiveLimits(x, byID), effectiveLimits(parent, byID)), "%s is less restricted than its parent is", x.ID)
		if m.parentDelegated[x.ID] {
			require.True(t, x.Delegated(), "%s, a child of a delegated token, is its owner's own", x.ID)
		}
		if x.Type == token.TypeTemporary {
			require.True(t, slices.Contains(x.EndsWith, parent.ID), "%s does not end with its parent", x.ID)
			if end := m.parentEnd[x.ID]; !end.IsZero() {
				require.False(t, x.ExpiresAt.After(end), "%s outlives its parent", x.ID)
			}
		}
	}
}

// effectiveLimits is everything that restricts x's requests as the authorizer applies it:
// its own restrictions, its Bounds, and each ancestor's own restrictions as they are now.
func effectiveLimits(x *token.Token, byID map[token.ID]*token.Token) restriction.Bounds {
	b := x.Limits()
	for _, id := range x.Ancestors {
		anc := byID[id]
		if anc == nil {
			continue
		}
		own := (&token.Token{ID: anc.ID, Restrictions: anc.Restrictions}).Limits()
		b.IPAllowlists = append(b.IPAllowlists, own.IPAllowlists...)
		b.TimeWindows = append(b.TimeWindows, own.TimeWindows...)
		b.Rates = append(b.Rates, own.Rates...)
	}
	return b
}
