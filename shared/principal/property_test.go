package principal

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"tokengate/shared/access"
)

// Where the rules compose (a patch of several fields, by a caller that may be delegated,
// of a principal that may be the caller, a superuser or an admin), properties over any
// request: whatever decideUpdate and decideCreate allow keeps each invariant of
// docs/permissions.md.

var (
	propScopes = []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead, "orders:read"}
	propRoles  = []string{"token-admin", "reader"}
	propIDs    = []string{"ann", "bob", "sam"}
	propEmails = []string{"", "ann@example.com", "bob@example.com"}
)

func subset(t *rapid.T, of []string, label string) []string {
	return rapid.SliceOfDistinct(rapid.SampledFrom(of), rapid.ID[string]).Draw(t, label)
}

// propCaller is any caller, through its own token or one minted by another; half of them
// hold every scope, so that the rules beyond "you do not hold it" come into play.
func propCaller(t *rapid.T) access.Caller {
	scopes := propScopes
	if rapid.Bool().Draw(t, "someScopes") {
		scopes = subset(t, propScopes, "callerScopes")
	}
	c := access.Caller{TokenID: "t", OwnerID: rapid.SampledFrom(propIDs).Draw(t, "owner"), Scopes: scopes}
	if rapid.Bool().Draw(t, "delegated") {
		c.MinterID = rapid.SampledFrom(propIDs).Draw(t, "minter")
	}
	return c
}

func propPrincipal(t *rapid.T) *access.Principal {
	return &access.Principal{
		ID: rapid.SampledFrom(propIDs).Draw(t, "id"), Name: "P", Kind: KindUser,
		Email: rapid.SampledFrom(propEmails).Draw(t, "email"),
		Roles: sorted(subset(t, propRoles, "roles")), Scopes: sorted(subset(t, propScopes, "scopes")),
		Superuser: rapid.Bool().Draw(t, "superuser"), VouchedBy: sorted(subset(t, propIDs, "vouchedBy")), Version: 1,
	}
}

// propUpdate is any valid patch.
func propUpdate(t *rapid.T) UpdateInput {
	var in UpdateInput
	if rapid.Bool().Draw(t, "setName") {
		in.Name = ptrTo(rapid.SampledFrom([]string{"P", "Q"}).Draw(t, "name"))
	}
	if rapid.Bool().Draw(t, "setEmail") {
		in.Email = ptrTo(rapid.SampledFrom(propEmails).Draw(t, "newEmail"))
	}
	if rapid.Bool().Draw(t, "setKind") {
		in.Kind = ptrTo(rapid.SampledFrom([]string{KindUser, KindApplication}).Draw(t, "kind"))
	}
	if rapid.Bool().Draw(t, "setRoles") {
		in.Roles = ptrTo(subset(t, propRoles, "newRoles"))
	}
	if rapid.Bool().Draw(t, "setScopes") {
		in.Scopes = ptrTo(subset(t, propScopes, "newScopes"))
	}
	if rapid.Bool().Draw(t, "setSuperuser") {
		in.Superuser = ptrTo(rapid.Bool().Draw(t, "newSuperuser"))
	}
	return in
}

func ptrTo[T any](v T) *T { return &v }

// decided draws a caller, a stored principal and a patch, and returns them with what
// decideUpdate allows; ok is false when it refuses or the patch changes nothing.
func decided(t *rapid.T) (c access.Caller, old *access.Principal, ch change, ok bool) {
	c, old, in := propCaller(t), propPrincipal(t), propUpdate(t)
	if checkUpdate(rulesCatalog, c, in) != nil {
		return c, old, change{}, false
	}
	ch, err := decideUpdate(rulesCatalog, c, old, in, 0, decideNow)
	return c, old, ch, err == nil && !ch.unchanged
}

func TestDecidedUpdateNeverGrantsAScopeTheCallerLacks(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c, old, ch, ok := decided(t)
		if !ok {
			return
		}
		if missing := access.Missing(access.Missing(rulesCatalog.Holds(ch.next), rulesCatalog.Holds(old)), c.Scopes); len(missing) > 0 {
			t.Fatalf("%s granted %v it lacks", c.OwnerID, missing)
		}
	})
}

func TestDecidedUpdateNeverChangesTheCallersOwnGrants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c, old, ch, ok := decided(t)
		if ok && (old.ID == c.OwnerID || old.ID == c.Minter()) && !sameGrants(old, ch.next) {
			t.Fatalf("%s (minted by %s) changed the grants of %s", c.OwnerID, c.Minter(), old.ID)
		}
	})
}

func TestDecidedUpdateThroughADelegatedTokenChangesNoAuthority(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c, old, ch, ok := decided(t)
		if ok && c.Delegated() && (!sameGrants(old, ch.next) || old.Email != ch.next.Email) {
			t.Fatalf("a token minted by %s for %s changed the grants or email of %s", c.Minter(), c.OwnerID, old.ID)
		}
	})
}

// Approval power and superusers come from a superuser acting in person: a decision that
// makes or unmakes a superuser, changes a superuser's authority, or grants tokens:admin
// always says a superuser must confirm it.
func TestDecidedUpdateOfApprovalPowerAlwaysNeedsASuperuser(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		_, old, ch, ok := decided(t)
		if !ok {
			return
		}
		p := ch.next
		grantsAdmin := !holdsAdmin(rulesCatalog, old) && holdsAdmin(rulesCatalog, p)
		touchesSuperuser := old.Superuser != p.Superuser || (old.Superuser && (!sameGrants(old, p) || old.Email != p.Email || old.Kind != p.Kind))
		if (grantsAdmin || touchesSuperuser) && ch.superuserFor == "" {
			t.Fatalf("%+v -> %+v allowed without a superuser", old, p)
		}
	})
}

func TestDecidedUpdateOnlyAddsVouchers(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c, old, ch, ok := decided(t)
		if !ok {
			return
		}
		for _, v := range old.VouchedBy {
			if !slices.Contains(ch.next.VouchedBy, v) {
				t.Fatalf("%s dropped from vouchedBy", v)
			}
		}
		if added := access.Missing(ch.next.VouchedBy, old.VouchedBy); len(added) > 0 && !slices.Equal(added, []string{c.OwnerID}) {
			t.Fatalf("vouchedBy gained %v; only the caller %s may join", added, c.OwnerID)
		}
	})
}

func TestDecidedCreateHoldsNothingBeyondTheCaller(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := propCaller(t)
		in := CreateInput{ID: rapid.SampledFrom(propIDs).Draw(t, "id"), Name: "P", Email: rapid.SampledFrom(propEmails).Draw(t, "email"),
			Roles: subset(t, propRoles, "roles"), Scopes: subset(t, propScopes, "scopes"), Superuser: rapid.Bool().Draw(t, "superuser")}
		ch, err := decideCreate(rulesCatalog, c, in, decideNow)
		if err != nil {
			return
		}
		p := ch.next
		if missing := access.Missing(rulesCatalog.Holds(p), c.Scopes); len(missing) > 0 {
			t.Fatalf("created %s holding %v the caller lacks", p.ID, missing)
		}
		if p.ID == c.OwnerID || p.ID == c.Minter() {
			t.Fatalf("%s created itself", p.ID)
		}
		if (p.Superuser || holdsAdmin(rulesCatalog, p)) && ch.superuserFor == "" {
			t.Fatalf("created %+v without a superuser", p)
		}
	})
}
