package token

import (
	"testing"

	"tokengate/shared/access"
	"tokengate/shared/audit"
)

// TestNotVouchee: an approver that is no superuser never decides on a token whose owner,
// minter or creator vouched for it (docs/permissions.md, "Four eyes").
func TestNotVouchee(t *testing.T) {
	dana := caller("dana", access.TokensAdmin)
	tests := []struct {
		rule     string
		approver *access.Principal
		token    func(*Token)
		want     string
	}{
		{"nobody vouched for the approver", &access.Principal{ID: "dana"}, nil, ""},
		{"others vouched for the approver", &access.Principal{ID: "dana", VouchedBy: []string{"root", "sam"}}, nil, ""},
		{"the owner vouched for the approver", &access.Principal{ID: "dana", VouchedBy: []string{"alice"}}, nil, "forbidden:alice vouched for you"},
		{"the creator vouched for the approver", &access.Principal{ID: "dana", VouchedBy: []string{"eve"}},
			func(t *Token) { t.OwnerID, t.CreatedBy, t.MintedBy = "ci", "eve", "eve" }, "forbidden:eve vouched for you"},
		{"the minter vouched for the approver", &access.Principal{ID: "dana", VouchedBy: []string{"eve"}},
			func(t *Token) { t.OwnerID, t.CreatedBy, t.MintedBy = "ci", "ci", "eve" }, "forbidden:eve vouched for you"},
		{"a superuser approver is trusted", &access.Principal{ID: "dana", Superuser: true, VouchedBy: []string{"alice"}}, nil, ""},
		{"an approver whose principal is gone", nil, nil, "forbidden:no longer exists"},
	}
	for _, tt := range tests {
		for _, typ := range []audit.EventType{audit.EventApprove, audit.EventReject} {
			t.Run(string(typ)+": "+tt.rule, func(t *testing.T) {
				requireErr(t, tt.want, notVouchee(dana, tt.approver, stored(tt.token), typ))
			})
		}
	}
}
