package principal

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/fault"
)

// The decisions of every principal operation, one row per rule, without a table or a
// stack: what each operation refuses before it reads, and what it writes (or why not)
// once it has read. docs/permissions.md ("Who may manage principals") says the same.

var decideNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// A caller without tokens:admin, and one whose token ann minted for bob (delegated).
var (
	ruleReader = access.Caller{TokenID: "t", OwnerID: "rita", Scopes: []string{access.TokensRead, access.TokensWrite}}
	ruleBorrow = access.Caller{TokenID: "t", OwnerID: "bob", MinterID: "ann", Scopes: ruleAdmin.Scopes}
)

func TestCreateRules(t *testing.T) {
	valid := func(f func(*CreateInput)) CreateInput {
		in := CreateInput{ID: "bob", Name: "Bob", Email: "bob@example.com", Scopes: []string{access.TokensRead}}
		if f != nil {
			f(&in)
		}
		return in
	}
	tests := []struct {
		rule string
		c    access.Caller
		in   CreateInput
		want string
		then func(t *testing.T, p *access.Principal)
	}{
		// Who may create at all, and what.
		{"a caller without tokens:admin creates nobody", ruleReader, valid(nil), "forbidden:tokens:admin", nil},
		{"an id is required", ruleAdmin, valid(func(in *CreateInput) { in.ID = "" }), "invalid:id", nil},
		{"an id is letters, digits and . _ @ : -", ruleAdmin, valid(func(in *CreateInput) { in.ID = "bob smith" }), "invalid:id", nil},
		{"a name is required", ruleAdmin, valid(func(in *CreateInput) { in.Name = "" }), "invalid:name", nil},
		{"an email is a bare address", ruleAdmin, valid(func(in *CreateInput) { in.Email = "Bob <bob@example.com>" }), "invalid:email", nil},
		{"an email fits a mail path", ruleAdmin, valid(func(in *CreateInput) { in.Email = strings.Repeat("b", 250) + "@example.com" }), "invalid:email", nil},
		{"a kind is user or application", ruleAdmin, valid(func(in *CreateInput) { in.Kind = "robot" }), "invalid:kind", nil},
		{"a role is one of the catalog's", ruleAdmin, valid(func(in *CreateInput) { in.Roles = []string{"janitor"} }), "invalid:roles", nil},
		{"a scope is one of the catalog's", ruleAdmin, valid(func(in *CreateInput) { in.Scopes = []string{"orders:write"} }), "invalid:scopes", nil},
		{"at most 20 roles", ruleAdmin, valid(func(in *CreateInput) { in.Roles = make([]string, maxRoles+1) }), "invalid:roles", nil},
		{"at most 50 scopes", ruleAdmin, valid(func(in *CreateInput) { in.Scopes = make([]string, maxScopes+1) }), "invalid:scopes", nil},
		// Nobody makes itself.
		{"a principal cannot create itself", ruleAdmin, valid(func(in *CreateInput) { in.ID = "ann" }), "forbidden:create itself", nil},
		{"a delegated token cannot create its minter", ruleBorrow, valid(func(in *CreateInput) { in.ID, in.Email, in.Scopes = "ann", "", nil }), "forbidden:create itself", nil},
		// Nothing beyond the caller; approval power and superusers from a superuser.
		{"a create grants no scope beyond the caller's", ruleAdmin, valid(func(in *CreateInput) { in.Scopes = []string{"orders:read"} }), "forbidden:do not hold: orders:read", nil},
		{"a create grants no role beyond the caller's", ruleAdmin, valid(func(in *CreateInput) { in.Roles = []string{"reader"} }), "forbidden:do not hold: orders:read", nil},
		{"a create with tokens:admin needs a superuser", ruleAdmin, valid(func(in *CreateInput) { in.Roles = []string{"token-admin"} }), "superuser:granting tokens:admin", nil},
		{"a create of a superuser needs a superuser", ruleAdmin, valid(func(in *CreateInput) { in.Superuser = true }), "superuser:make or unmake", nil},
		{"a delegated token creates nobody with an email", ruleBorrow, valid(func(in *CreateInput) { in.ID, in.Scopes = "carl", nil }), "forbidden:authority is personal", nil},
		// What is stored.
		{"a create is stored as asked, version 1, now", ruleAdmin, valid(nil), "", func(t *testing.T, p *access.Principal) {
			require.Equal(t, &access.Principal{ID: "bob", Name: "Bob", Email: "bob@example.com", Kind: KindUser, Scopes: []string{access.TokensRead},
				CreatedAt: decideNow, UpdatedAt: decideNow, Version: 1, VouchedBy: []string{"ann"}}, p, "the creator vouches for where its enrollment goes")
		}},
		{"the kind is user unless asked", ruleAdmin, valid(func(in *CreateInput) { in.Kind = KindApplication }), "", func(t *testing.T, p *access.Principal) {
			require.Equal(t, KindApplication, p.Kind)
		}},
		{"roles and scopes are stored once each, in order", ruleAdmin, valid(func(in *CreateInput) {
			in.Scopes = []string{access.TokensWrite, access.TokensRead, access.TokensWrite}
		}), "", func(t *testing.T, p *access.Principal) {
			require.Equal(t, []string{access.TokensRead, access.TokensWrite}, p.Scopes)
			require.Nil(t, p.Roles, "none is an absent set")
		}},
		{"a create without an email or tokens:admin has no voucher", ruleAdmin, valid(func(in *CreateInput) { in.Email = "" }), "", func(t *testing.T, p *access.Principal) {
			require.Nil(t, p.VouchedBy)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			ch, err := decideCreate(rulesCatalog, tt.c, tt.in, decideNow)
			wantRule(t, tt.want, ch.superuserFor, err)
			if err == nil {
				require.False(t, ch.unchanged)
				if tt.then != nil {
					tt.then(t, ch.next)
				}
			}
		})
	}
}

func TestUpdateRules(t *testing.T) {
	str := func(s string) *string { return &s }
	list := func(s ...string) *[]string { return &s }
	yes, no := true, false
	bob := &access.Principal{ID: "bob", Name: "Bob", Email: "bob@example.com", Kind: KindUser, Scopes: []string{access.TokensRead},
		VouchedBy: []string{"zed"}, Version: 4, CreatedAt: decideNow.Add(-time.Hour), UpdatedAt: decideNow.Add(-time.Hour)}
	carol := &access.Principal{ID: "carol", Name: "Carol", Email: "carol@example.com", Kind: KindUser, Roles: []string{"token-admin"}, Version: 2}
	root := &access.Principal{ID: "root", Name: "Root", Email: "root@example.com", Kind: KindUser, Scopes: []string{access.TokensAdmin}, Superuser: true, Version: 9}
	ann := &access.Principal{ID: "ann", Name: "Ann", Email: "ann@example.com", Kind: KindUser, Scopes: ruleAdmin.Scopes, Version: 3}
	tests := []struct {
		rule      string
		c         access.Caller
		old       *access.Principal
		in        UpdateInput
		ifVersion int64
		want      string
		then      func(t *testing.T, ch change)
	}{
		// Refused on the request alone, before the principal is read.
		{"a caller without tokens:admin changes nobody", ruleReader, bob, UpdateInput{Name: str("Robert")}, 0, "forbidden:tokens:admin", nil},
		{"an update changes something", ruleAdmin, bob, UpdateInput{}, 0, "invalid:", nil},
		{"a name is not emptied", ruleAdmin, bob, UpdateInput{Name: str("")}, 0, "invalid:name", nil},
		{"an email is a bare address", ruleAdmin, bob, UpdateInput{Email: str("not an address")}, 0, "invalid:email", nil},
		{"a kind is user or application", ruleAdmin, bob, UpdateInput{Kind: str("robot")}, 0, "invalid:kind", nil},
		{"a role is one of the catalog's", ruleAdmin, bob, UpdateInput{Roles: list("janitor")}, 0, "invalid:roles", nil},
		{"a scope is one of the catalog's", ruleAdmin, bob, UpdateInput{Scopes: list("orders:write")}, 0, "invalid:scopes", nil},
		// Against the stored principal.
		{"a stale If-Match is a conflict", ruleAdmin, bob, UpdateInput{Name: str("Robert")}, 3, "conflict", nil},
		{"a current If-Match is no conflict", ruleAdmin, bob, UpdateInput{Name: str("Robert")}, 4, "", nil},
		{"a rename is a new version, now", ruleAdmin, bob, UpdateInput{Name: str("Robert")}, 0, "", func(t *testing.T, ch change) {
			require.Equal(t, "Robert", ch.next.Name)
			require.Equal(t, int64(5), ch.next.Version)
			require.Equal(t, decideNow, ch.next.UpdatedAt)
			require.Equal(t, bob.CreatedAt, ch.next.CreatedAt)
			require.Equal(t, "Bob", bob.Name, "the stored principal is not changed in place")
		}},
		{"an update to what is stored writes nothing, whoever asks", ruleBorrow, root, UpdateInput{Email: str(root.Email), Superuser: &yes, Scopes: list(access.TokensAdmin)}, 0, "", func(t *testing.T, ch change) {
			require.True(t, ch.unchanged)
			require.Same(t, root, ch.next)
		}},
		{"the same roles in another order are no change", ruleAdmin, carol, UpdateInput{Roles: list("token-admin", "token-admin")}, 0, "", func(t *testing.T, ch change) {
			require.True(t, ch.unchanged)
		}},
		// Nothing beyond the caller.
		{"an update grants no scope beyond the caller's", ruleAdmin, bob, UpdateInput{Scopes: list("orders:read")}, 0, "forbidden:do not hold: orders:read", nil},
		{"an update grants no role beyond the caller's", ruleAdmin, bob, UpdateInput{Roles: list("reader")}, 0, "forbidden:do not hold: orders:read", nil},
		{"an update takes away a scope the caller lacks", ruleAdmin, &access.Principal{ID: "dan", Name: "Dan", Kind: KindUser, Scopes: []string{"orders:read", access.TokensRead}},
			UpdateInput{Scopes: list(access.TokensRead)}, 0, "", func(t *testing.T, ch change) {
				require.Equal(t, []string{access.TokensRead}, ch.next.Scopes)
			}},
		// Nobody changes its own grants.
		{"an update of one's own scopes is refused", ruleAdmin, ann, UpdateInput{Scopes: list(access.TokensRead)}, 0, "forbidden:your own roles", nil},
		{"an update of one's own superuser flag is refused", ruleAdmin, ann, UpdateInput{Superuser: &yes}, 0, "forbidden:your own roles", nil},
		{"an update of one's own name and email is allowed", ruleAdmin, ann, UpdateInput{Name: str("Annie"), Email: str("annie@example.com")}, 0, "", func(t *testing.T, ch change) {
			require.Nil(t, ch.next.VouchedBy, "nobody vouches for its own address")
		}},
		// Authority is personal.
		{"a delegated token changes no email", ruleBorrow, bob, UpdateInput{Email: str("ann@example.com")}, 0, "forbidden:authority is personal", nil},
		{"a delegated token changes no scopes", ruleBorrow, bob, UpdateInput{Scopes: list()}, 0, "forbidden:authority is personal", nil},
		{"a delegated token renames", ruleBorrow, carol, UpdateInput{Name: str("Caroline")}, 0, "", nil},
		{"a delegated token changes a superuser's kind only as a superuser, which it never is", ruleBorrow, root, UpdateInput{Kind: str(KindApplication)}, 0, "superuser:a superuser's roles", nil},
		// Approval power and superusers come from a superuser.
		{"granting tokens:admin needs a superuser", ruleAdmin, bob, UpdateInput{Scopes: list(access.TokensAdmin)}, 0, "superuser:granting tokens:admin", func(t *testing.T, ch change) {
			require.Equal(t, []string{"ann", "zed"}, ch.next.VouchedBy, "the granter vouches")
		}},
		{"making a superuser needs a superuser", ruleAdmin, bob, UpdateInput{Superuser: &yes}, 0, "superuser:make or unmake", nil},
		{"unmaking a superuser needs a superuser", ruleAdmin, root, UpdateInput{Superuser: &no}, 0, "superuser:make or unmake", nil},
		{"changing a superuser's scopes needs a superuser", ruleAdmin, root, UpdateInput{Scopes: list(access.TokensRead)}, 0, "superuser:a superuser's roles", nil},
		{"renaming a superuser needs none", ruleAdmin, root, UpdateInput{Name: str("Groot")}, 0, "", nil},
		{"re-addressing another admin needs a superuser", ruleAdmin, carol, UpdateInput{Email: str("ann@example.com")}, 0, "superuser:another admin's email", nil},
		{"re-addressing a principal that is no admin needs none", ruleAdmin, bob, UpdateInput{Email: str("robert@example.com")}, 0, "", func(t *testing.T, ch change) {
			require.Equal(t, []string{"ann", "zed"}, ch.next.VouchedBy, "who sets an address vouches for it")
		}},
		{"taking tokens:admin away needs none", ruleAdmin, carol, UpdateInput{Roles: list()}, 0, "", func(t *testing.T, ch change) {
			require.Nil(t, ch.next.Roles)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			var ch change
			err := checkUpdate(rulesCatalog, tt.c, tt.in)
			if err == nil {
				ch, err = decideUpdate(rulesCatalog, tt.c, tt.old, tt.in, tt.ifVersion, decideNow)
			}
			wantRule(t, tt.want, ch.superuserFor, err)
			if err == nil && tt.then != nil {
				tt.then(t, ch)
			}
		})
	}
}

func TestDeleteRules(t *testing.T) {
	bob := &access.Principal{ID: "bob", Version: 2}
	root := &access.Principal{ID: "root", Superuser: true}
	tests := []struct {
		rule   string
		c      access.Caller
		stored *access.Principal
		want   string
	}{
		{"a caller without tokens:admin deletes nobody", ruleReader, bob, "forbidden:tokens:admin"},
		{"nobody deletes itself", ruleAdmin, &access.Principal{ID: "ann"}, "forbidden:your own principal"},
		{"nobody deletes its minter through a delegated token", ruleBorrow, &access.Principal{ID: "ann"}, "forbidden:your own principal"},
		{"a delegated token deletes nobody it was minted for either", ruleBorrow, &access.Principal{ID: "bob"}, "forbidden:your own principal"},
		{"an admin deletes another principal", ruleAdmin, bob, ""},
		{"deleting a superuser needs a superuser", ruleAdmin, root, "superuser:delete a superuser"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			need, err := "", checkDelete(tt.c, tt.stored.ID)
			if err == nil {
				need = decideDelete(tt.stored)
			}
			wantRule(t, tt.want, need, err)
		})
	}
}

func TestListAndGetRules(t *testing.T) {
	tests := []struct {
		rule  string
		c     access.Caller
		limit int
		want  string
		size  int
	}{
		{"a caller without tokens:admin lists nobody", ruleReader, 10, "forbidden:tokens:admin", 0},
		{"no limit is a page of 50", ruleAdmin, 0, "", 50},
		{"a page of one", ruleAdmin, 1, "", 1},
		{"a page of 100", ruleAdmin, 100, "", 100},
		{"no page of 101", ruleAdmin, 101, "invalid:limit", 0},
		{"no negative page", ruleAdmin, -1, "invalid:limit", 0},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			size, err := checkList(tt.c, tt.limit)
			wantRule(t, tt.want, "", err)
			require.Equal(t, tt.size, size)
		})
	}
	t.Run("any caller reads its own principal", func(t *testing.T) { require.NoError(t, checkGet(ruleReader, "rita")) })
	t.Run("reading another needs tokens:admin", func(t *testing.T) { wantRule(t, "forbidden:tokens:admin", "", checkGet(ruleReader, "bob")) })
	t.Run("an admin reads another", func(t *testing.T) { require.NoError(t, checkGet(ruleAdmin, "bob")) })
}

func TestSuperuserIsTheCallersOwnPrincipalNow(t *testing.T) {
	down := errors.New("table unavailable")
	tests := []struct {
		rule  string
		me    *access.Principal
		err   error
		super bool
		fails bool
	}{
		{"a superuser", &access.Principal{ID: "ann", Superuser: true}, nil, true, false},
		{"an admin that is no superuser", &access.Principal{ID: "ann"}, nil, false, false},
		{"a principal deleted meanwhile is no superuser", nil, fault.ErrNotFound, false, false},
		{"a failed read is an error, never a yes", nil, down, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			super, err := superuserOf(ruleAdmin, tt.me, tt.err)
			require.Equal(t, tt.super, super)
			if tt.fails {
				require.ErrorIs(t, err, down)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestTakenIdSaysWhy(t *testing.T) {
	down := errors.New("table unavailable")
	wantRule(t, "state:exists already", "", takenBecause("bob", nil))
	wantRule(t, "state:same owner reference", "", takenBecause("bob", fault.ErrNotFound))
	err := takenBecause("bob", down)
	require.ErrorIs(t, err, down)
	var st *fault.StateError
	require.False(t, errors.As(err, &st), "a failed read is no answer to give the client")
}

func TestEnrollmentSendRules(t *testing.T) {
	bob := &access.Principal{ID: "bob", Name: "Bob", Email: "bob@example.com", Kind: KindUser, Scopes: []string{access.TokensRead}, Incarnation: "i1", Version: 3}
	carol := &access.Principal{ID: "carol", Name: "Carol", Email: "carol@example.com", Kind: KindUser, Roles: []string{"token-admin"}, Incarnation: "i2"}
	noMail := &access.Principal{ID: "dan", Name: "Dan", Kind: KindUser}
	tests := []struct {
		rule string
		c    access.Caller
		id   string
		p    *access.Principal
		want string
	}{
		{"a caller without tokens:admin enrolls nobody", ruleReader, "bob", bob, "forbidden:tokens:admin"},
		{"a delegated token enrolls nobody", ruleBorrow, "bob", bob, "forbidden:authority is personal"},
		{"an id no principal can have is not found", ruleAdmin, "not an id", nil, "notfound"},
		{"an enrollment goes to the principal's address", ruleAdmin, "dan", noMail, "invalid:email"},
		{"an admin enrolls a principal that is no admin", ruleAdmin, "bob", bob, ""},
		{"enrolling an admin needs a superuser", ruleAdmin, "carol", carol, "superuser:holds tokens:admin"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			var s sending
			err := checkSend(tt.c, tt.id)
			if err == nil {
				s, err = decideSend(rulesCatalog, tt.c, tt.p, decideNow)
			}
			wantRule(t, tt.want, s.superuserFor, err)
		})
	}
	t.Run("an enrollment is bound to the principal's incarnation and fingerprint as sent", func(t *testing.T) {
		s, err := decideSend(rulesCatalog, ruleAdmin, bob, decideNow.Add(500*time.Millisecond))
		require.NoError(t, err)
		require.Equal(t, Enrollment{PrincipalID: "bob", Incarnation: "i1", Fingerprint: Fingerprint(bob), CreatedBy: "ann",
			CreatedAt: decideNow, ExpiresAt: decideNow.Add(EnrollmentTTL)}, s.Enrollment, "whole seconds, 24h to exchange it")
		require.True(t, exchangeable(&s.Enrollment, bob, decideNow.Add(EnrollmentTTL-time.Second)))
		promoted := *bob
		promoted.Scopes = []string{access.TokensRead, access.TokensAdmin}
		require.False(t, exchangeable(&s.Enrollment, &promoted, decideNow), "a promotion since voids it")
		again := *bob
		again.Incarnation = "i9"
		require.False(t, exchangeable(&s.Enrollment, &again, decideNow), "so does a deletion and re-creation under the same id")
	})
}

// TestEnrollmentSecretFormat: the mailed secret is tge_<pepper version>_<64 hex digits>,
// and nothing else reads as one.
func TestEnrollmentSecretFormat(t *testing.T) {
	raw := strings.Repeat("0123456789abcdef", 4)
	p := &access.Principal{ID: "bob", Name: "Bob"}
	m := enrollmentMail(p, Enrollment{PepperVersion: 7, ExpiresAt: decideNow}, raw)
	require.Equal(t, EnrollmentMail{PrincipalID: "bob", Name: "Bob", Secret: "tge_7_" + raw, ExpiresAt: decideNow}, m)
	ver, got, ok := parseEnrollment(m.Secret)
	require.True(t, ok)
	require.Equal(t, 7, ver)
	require.Equal(t, raw, got)

	for rule, s := range map[string]string{
		"a token, not an enrollment":  "tg_7_" + raw,
		"no version":                  "tge__" + raw,
		"version 0":                   "tge_0_" + raw,
		"a version that is no number": "tge_x_" + raw,
		"no separator":                "tge_7" + raw,
		"a secret too short":          "tge_7_" + raw[1:],
		"a secret that is not hex":    "tge_7_" + strings.Repeat("g", 64),
	} {
		t.Run(rule, func(t *testing.T) {
			_, _, ok := parseEnrollment(s)
			require.False(t, ok)
		})
	}
}

// TestUnknownNamesAreQuotedShort: an error names an unknown role or scope, cut to 64
// characters so a request cannot make the answer large.
func TestUnknownNamesAreQuotedShort(t *testing.T) {
	bad := &fault.InvalidError{}
	checkRoles(rulesCatalog, bad, []string{strings.Repeat("é", 100)})
	require.Len(t, bad.Fields, 1)
	require.Contains(t, bad.Fields[0].Message, strings.Repeat("é", 64)+"…\"")
	require.NotContains(t, bad.Fields[0].Message, strings.Repeat("é", 65))
}
