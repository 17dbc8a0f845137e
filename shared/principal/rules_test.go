package principal

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/fault"
)

// The rules of docs/permissions.md ("Who may manage principals", "Four eyes") as tables,
// without a table or a stack.

var rulesCatalog = func() *access.Catalog {
	c, err := access.ParseCatalog([]byte(`{"scopes": [{"name": "orders:read", "risk": "low", "description": "x"}],
		"roles": {"token-admin": {"description": "x", "scopes": ["tokens:read", "tokens:admin"]},
		          "reader": {"description": "x", "scopes": ["tokens:read", "orders:read"]}}}`))
	if err != nil {
		panic(err)
	}
	return c
}()

var (
	// ruleAdmin acts with a token of its own holding tokens:admin.
	ruleAdmin = access.Caller{TokenID: "t", OwnerID: "ann", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead}}
	// ruleLent is a token sam minted for ann: delegated.
	ruleLent = access.Caller{TokenID: "t", OwnerID: "ann", MinterID: "sam", Scopes: ruleAdmin.Scopes}
)

// wantRule asserts err (and the superuser reason need) against want: "" allowed,
// "superuser:<part of the reason>" allowed for a superuser only, "forbidden:<part of the
// reason>", "invalid:<field>", "state:<part of the reason>", "notfound", "conflict".
func wantRule(t *testing.T, want, need string, err error) {
	t.Helper()
	kind, detail, _ := strings.Cut(want, ":")
	switch kind {
	case "":
		require.NoError(t, err)
		require.Empty(t, need)
	case "superuser":
		require.NoError(t, err)
		require.Contains(t, need, detail)
	case "forbidden":
		var forb *fault.ForbiddenError
		require.ErrorAs(t, err, &forb)
		require.ErrorIs(t, err, fault.ErrForbidden)
		require.Contains(t, forb.Reason, detail)
	case "invalid":
		var inv *fault.InvalidError
		require.ErrorAs(t, err, &inv)
		var fields []string
		for _, f := range inv.Fields {
			fields = append(fields, f.Field)
		}
		require.Contains(t, fields, detail, err.Error())
	case "state":
		var st *fault.StateError
		require.ErrorAs(t, err, &st)
		require.Contains(t, st.Reason, detail)
	case "notfound":
		require.ErrorIs(t, err, fault.ErrNotFound)
	case "conflict":
		require.ErrorIs(t, err, fault.ErrConflict)
	default:
		t.Fatalf("bad want %q", want)
	}
}

func TestCheckChange(t *testing.T) {
	none := &access.Principal{}
	bob := &access.Principal{ID: "bob", Name: "Bob", Email: "bob@example.com", Kind: KindUser, Scopes: []string{access.TokensRead}}
	carol := &access.Principal{ID: "carol", Name: "Carol", Email: "carol@example.com", Kind: KindUser, Scopes: []string{access.TokensAdmin, access.TokensRead}}
	root := &access.Principal{ID: "root", Name: "Root", Email: "root@example.com", Kind: KindUser, Scopes: []string{access.TokensAdmin}, Superuser: true}
	ann := &access.Principal{ID: "ann", Name: "Ann", Email: "ann@example.com", Kind: KindUser, Scopes: ruleAdmin.Scopes}
	with := func(p *access.Principal, f func(*access.Principal)) *access.Principal {
		q := *p
		f(&q)
		return &q
	}
	tests := []struct {
		rule     string
		c        access.Caller
		old, new *access.Principal
		want     string
	}{
		// Authority-bearing attributes never change through a delegated token.
		{"a delegated token changes its owner's email", ruleLent, ann, with(ann, func(p *access.Principal) { p.Email = "sam@example.com" }), "forbidden:minted by sam for ann"},
		{"a delegated token removes an email", ruleLent, bob, with(bob, func(p *access.Principal) { p.Email = "" }), "forbidden:authority is personal"},
		{"a delegated token changes scopes", ruleLent, bob, with(bob, func(p *access.Principal) { p.Scopes = nil }), "forbidden:authority is personal"},
		{"a delegated token creates a principal with an email", ruleLent, none, with(bob, func(p *access.Principal) { p.Scopes = nil }), "forbidden:authority is personal"},
		{"a delegated token renames", ruleLent, bob, with(bob, func(p *access.Principal) { p.Name = "Robert" }), ""},
		{"a delegated token creates a principal holding nothing, without email", ruleLent, none, &access.Principal{ID: "x", Name: "X"}, ""},
		// Nobody changes its own grants.
		{"a caller changes its own scopes", ruleAdmin, ann, with(ann, func(p *access.Principal) { p.Scopes = p.Scopes[:1] }), "forbidden:your own roles"},
		{"a caller changes its own email", ruleAdmin, ann, with(ann, func(p *access.Principal) { p.Email = "ann2@example.com" }), ""},
		// Nobody grants what it does not hold.
		{"granting a scope the token lacks", ruleAdmin, bob, with(bob, func(p *access.Principal) { p.Scopes = []string{"orders:read"} }), "forbidden:do not hold: orders:read"},
		{"a role whose scope the token lacks", ruleAdmin, bob, with(bob, func(p *access.Principal) { p.Roles = []string{"reader"} }), "forbidden:do not hold: orders:read"},
		{"renaming a principal that holds more than the caller", ruleAdmin, with(bob, func(p *access.Principal) { p.Scopes = []string{"orders:read"} }),
			with(bob, func(p *access.Principal) { p.Scopes, p.Name = []string{"orders:read"}, "Robert" }), ""},
		// Approval power comes from a superuser.
		{"granting tokens:admin on a change", ruleAdmin, bob, with(bob, func(p *access.Principal) { p.Scopes = []string{access.TokensAdmin} }), "superuser:granting tokens:admin"},
		{"granting tokens:admin through a role", ruleAdmin, bob, with(bob, func(p *access.Principal) { p.Roles = []string{"token-admin"} }), "superuser:granting tokens:admin"},
		{"creating a principal with tokens:admin", ruleAdmin, none, with(carol, func(p *access.Principal) { p.Email = "" }), "superuser:granting tokens:admin"},
		{"re-addressing and promoting at once", ruleAdmin, bob, with(bob, func(p *access.Principal) { p.Email, p.Scopes = "x@example.com", []string{access.TokensAdmin} }), "superuser:granting tokens:admin"},
		{"tokens:admin held already, by scope then by role", ruleAdmin, carol, with(carol, func(p *access.Principal) { p.Roles = []string{"token-admin"} }), ""},
		{"taking tokens:admin away", ruleAdmin, carol, with(carol, func(p *access.Principal) { p.Scopes = []string{access.TokensRead} }), ""},
		{"creating a principal without approval power", ruleAdmin, none, bob, ""},
		// Where an admin's credential is mailed is a superuser's decision.
		{"changing another admin's email", ruleAdmin, carol, with(carol, func(p *access.Principal) { p.Email = "ann@example.com" }), "superuser:another admin's email"},
		{"changing a non-admin's email", ruleAdmin, bob, with(bob, func(p *access.Principal) { p.Email = "ann@example.com" }), ""},
		// Only a superuser makes, changes or deletes a superuser.
		{"making a superuser", ruleAdmin, bob, with(bob, func(p *access.Principal) { p.Superuser = true }), "superuser:make or unmake"},
		{"creating a superuser", ruleAdmin, none, with(bob, func(p *access.Principal) { p.Superuser = true }), "superuser:make or unmake"},
		{"emptying a superuser", ruleAdmin, root, with(root, func(p *access.Principal) { p.Scopes = nil }), "superuser:a superuser's roles"},
		{"re-addressing a superuser", ruleAdmin, root, with(root, func(p *access.Principal) { p.Email = "ann@example.com" }), "superuser:a superuser's roles"},
		{"changing a superuser's kind", ruleAdmin, root, with(root, func(p *access.Principal) { p.Kind = KindApplication }), "superuser:a superuser's roles"},
		{"renaming a superuser", ruleAdmin, root, with(root, func(p *access.Principal) { p.Name = "Groot" }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			need, err := checkChange(rulesCatalog, tt.c, tt.old, tt.new)
			wantRule(t, tt.want, need, err)
		})
	}
}

func TestVouchers(t *testing.T) {
	none := &access.Principal{}
	bob := &access.Principal{ID: "bob", Email: "bob@example.com", Scopes: []string{access.TokensRead}, VouchedBy: []string{"zed"}}
	with := func(p *access.Principal, f func(*access.Principal)) *access.Principal {
		q := *p
		f(&q)
		return &q
	}
	tests := []struct {
		rule     string
		old, new *access.Principal
		want     []string
	}{
		{"granting tokens:admin vouches", bob, with(bob, func(p *access.Principal) { p.Scopes = []string{access.TokensAdmin} }), []string{"ann", "zed"}},
		{"granting it through a role vouches", bob, with(bob, func(p *access.Principal) { p.Roles = []string{"token-admin"} }), []string{"ann", "zed"}},
		{"setting the email vouches (enrollments go there)", bob, with(bob, func(p *access.Principal) { p.Email = "ann@example.com" }), []string{"ann", "zed"}},
		{"creating with an email vouches", none, &access.Principal{ID: "x", Email: "x@example.com"}, []string{"ann"}},
		{"creating with tokens:admin vouches", none, &access.Principal{ID: "x", Scopes: []string{access.TokensAdmin}}, []string{"ann"}},
		{"creating without either does not", none, &access.Principal{ID: "x", Scopes: []string{access.TokensRead}}, nil},
		{"removing the email does not", bob, with(bob, func(p *access.Principal) { p.Email = "" }), []string{"zed"}},
		{"renaming does not", bob, with(bob, func(p *access.Principal) { p.Name = "Robert" }), []string{"zed"}},
		{"taking tokens:admin away removes nobody", with(bob, func(p *access.Principal) { p.Scopes = []string{access.TokensAdmin} }), bob, []string{"zed"}},
		{"changing one's own email does not", &access.Principal{ID: "ann", Email: "a@example.com"}, &access.Principal{ID: "ann", Email: "b@example.com"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			require.Equal(t, tt.want, vouchers(rulesCatalog, ruleAdmin, tt.old, tt.new))
		})
	}
}

// TestFingerprint: what voids an outstanding enrollment, and what does not.
func TestFingerprint(t *testing.T) {
	base := access.Principal{ID: "p", Name: "P", Email: "p@example.com", Kind: KindUser, Roles: []string{"reader", "token-admin"},
		Scopes: []string{"orders:read", access.TokensRead}, Incarnation: "aaaa", Version: 3, CreatedAt: time.Unix(100, 0)}
	tests := []struct {
		rule   string
		change func(*access.Principal)
		void   bool
	}{
		{"a role added", func(p *access.Principal) { p.Roles = append(p.Roles, "x") }, true},
		{"a role removed", func(p *access.Principal) { p.Roles = p.Roles[:1] }, true},
		{"a scope removed", func(p *access.Principal) { p.Scopes = p.Scopes[:1] }, true},
		{"roles and scopes swapped", func(p *access.Principal) { p.Roles, p.Scopes = p.Scopes, p.Roles }, true},
		{"another email", func(p *access.Principal) { p.Email = "q@example.com" }, true},
		{"the email's case", func(p *access.Principal) { p.Email = "P@example.com" }, true},
		{"no email", func(p *access.Principal) { p.Email = "" }, true},
		{"made a superuser", func(p *access.Principal) { p.Superuser = true }, true},
		{"deleted and created again, same second", func(p *access.Principal) { p.Incarnation = "bbbb" }, true},
		{"renamed", func(p *access.Principal) { p.Name = "Q" }, false},
		{"another kind", func(p *access.Principal) { p.Kind = KindApplication }, false},
		{"a new version", func(p *access.Principal) { p.Version = 4 }, false},
		{"roles and scopes in another order, repeated", func(p *access.Principal) {
			p.Roles, p.Scopes = []string{"token-admin", "reader", "reader"}, []string{access.TokensRead, "orders:read"}
		}, false},
		{"vouched for by one more", func(p *access.Principal) { p.VouchedBy = []string{"root"} }, false},
	}
	want := Fingerprint(&base)
	require.Len(t, want, 64)
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			p := base
			p.Roles, p.Scopes = append([]string{}, base.Roles...), append([]string{}, base.Scopes...)
			tt.change(&p)
			require.Equal(t, tt.void, Fingerprint(&p) != want)
		})
	}
}

// TestExchangeable: an enrollment is exchanged only unused, unexpired, for its principal
// as it was when the enrollment was sent.
func TestExchangeable(t *testing.T) {
	now := time.Unix(1_000_000, 0).UTC()
	p := &access.Principal{ID: "p", Email: "p@example.com", Scopes: []string{access.TokensRead}, Incarnation: "aaaa"}
	sent := func(f func(*Enrollment)) *Enrollment {
		e := &Enrollment{PrincipalID: "p", Fingerprint: Fingerprint(p), CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)}
		if f != nil {
			f(e)
		}
		return e
	}
	tests := []struct {
		rule string
		e    *Enrollment
		p    *access.Principal
		want bool
	}{
		{"as sent", sent(nil), p, true},
		{"used", sent(func(e *Enrollment) { e.UsedAt = now.Add(-time.Minute) }), p, false},
		{"expired", sent(func(e *Enrollment) { e.ExpiresAt = now }), p, false},
		{"the principal is gone", sent(nil), nil, false},
		{"the principal changed", sent(nil), &access.Principal{ID: "p", Email: "q@example.com", Scopes: p.Scopes, Incarnation: "aaaa"}, false},
		{"another principal", sent(func(e *Enrollment) { e.PrincipalID = "q" }), p, false},
		{"sent before fingerprints", sent(func(e *Enrollment) { e.Fingerprint = "" }), p, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			require.Equal(t, tt.want, exchangeable(tt.e, tt.p, now))
		})
	}
}
