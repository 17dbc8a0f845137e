package iam

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/infra/samtemplate"
)

func TestCalls(t *testing.T) {
	tests := []struct {
		op, body string
		want     []Need
	}{
		{"GetItem", `{"Key":{"pk":{"S":"TOKEN#a"},"sk":{"S":"TOKEN"}}}`, []Need{{Action: "dynamodb:GetItem", Resource: Table, Keys: []string{"TOKEN#a"}}}},
		{"PutItem", `{"Item":{"pk":{"S":"PRINCIPAL#b"}}}`, []Need{{Action: "dynamodb:PutItem", Resource: Table, Keys: []string{"PRINCIPAL#b"}}}},
		{"BatchGetItem", `{"RequestItems":{"t":{"Keys":[{"pk":{"S":"TOKEN#a"}},{"pk":{"S":"PRINCIPAL#b"}}]}}}`,
			[]Need{{Action: "dynamodb:BatchGetItem", Resource: Table, Keys: []string{"TOKEN#a", "PRINCIPAL#b"}}}},
		{"Query", `{"IndexName":"byOwner","KeyConditionExpression":"gsi1pk = :pk","ExpressionAttributeValues":{":pk":{"S":"OWNER#a"}}}`,
			[]Need{{Action: "dynamodb:Query", Resource: Index + "byOwner", Keys: []string{"OWNER#a"}}}},
		{"Query", `{"KeyConditionExpression":"#pk = :pk AND #sk > :s","ExpressionAttributeNames":{"#pk":"pk","#sk":"sk"},"ExpressionAttributeValues":{":pk":{"S":"AUDIT#x"},":s":{"S":"0"}}}`,
			[]Need{{Action: "dynamodb:Query", Resource: Table, Keys: []string{"AUDIT#x"}}}},
		{"Query", `{"KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"PEPPER"}}}`, []Need{{Action: "dynamodb:Query", Resource: Table, Keys: []string{"PEPPER"}}}},
		{"TransactWriteItems", `{"TransactItems":[{"Update":{"Key":{"pk":{"S":"TOKEN#a"}}}},{"Put":{"Item":{"pk":{"S":"AUDIT#a"}}}}]}`,
			[]Need{{Action: "dynamodb:UpdateItem", Resource: Table, Keys: []string{"TOKEN#a"}}, {Action: "dynamodb:PutItem", Resource: Table, Keys: []string{"AUDIT#a"}}}},
		{"Scan", `{}`, []Need{{Action: "dynamodb:Scan", Resource: Table, Keys: []string{""}}}},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, calls(tt.op, []byte(tt.body)), "%s %s", tt.op, tt.body)
	}
}

var (
	rolesOnce sync.Once
	roles     Roles
	rolesErr  error
)

// templateRoles are template.yaml's roles, the sender resolved as the local stack's.
func templateRoles(t *testing.T) Roles {
	rolesOnce.Do(func() {
		tmpl, err := samtemplate.Load("../../template.yaml")
		if err != nil {
			rolesErr = err
			return
		}
		roles, rolesErr = FromTemplate(tmpl, map[string]string{"NotificationSender": "tokengate@localhost"})
	})
	require.NoError(t, rolesErr)
	return roles
}

func TestAllows(t *testing.T) {
	r := templateRoles(t)
	get := func(action string, keys ...string) Need { return Need{Action: action, Resource: Table, Keys: keys} }
	require.True(t, r.Allows("AuthorizerFunction", get("dynamodb:BatchGetItem", "TOKEN#a", "PRINCIPAL#b")))
	require.False(t, r.Allows("AuthorizerFunction", get("dynamodb:BatchGetItem", "TOKEN#a", "AUDIT#b")), "every key must match")
	require.False(t, r.Allows("AuthorizerFunction", get("dynamodb:UpdateItem", "PRINCIPAL#b")), "the authorizer never changes a principal")
	require.False(t, r.Allows("CreateTokenFunction", get("dynamodb:PutItem", "PRINCIPAL#b")), "writers create audit records only")
	require.False(t, r.Allows("CreateTokenFunction", get("dynamodb:UpdateItem", "AUDIT#b")), "audit records are never changed")
	require.False(t, r.Allows("SendEnrollmentFunction", get("dynamodb:PutItem", "PRINCIPAL#b")), "sending an enrollment writes no principal")
	require.False(t, r.Allows("GetTokenFunction", Need{Action: "kms:Decrypt", Resource: Key}), "readers never see the pepper")
	pepperCtx := map[string]string{"kms:EncryptionContext:app": "tokengate", "kms:EncryptionContext:purpose": "token-pepper", "kms:EncryptionContext:version": "2"}
	require.True(t, r.Allows("CreateTokenFunction", Need{Action: "kms:Decrypt", Resource: Key, Condition: pepperCtx}))
	require.False(t, r.Allows("CreateTokenFunction", Need{Action: "kms:Decrypt", Resource: Key, Condition: map[string]string{"kms:EncryptionContext:purpose": "other"}}),
		"the key decrypts only the pepper's context")
	require.False(t, r.Allows("ListScopesFunction", get("dynamodb:GetItem", "TOKEN#a")))
	require.False(t, r.Allows("AlertsFunction", Need{Action: "dynamodb:Query", Resource: Index + "byExpiry", Keys: []string{"PENDING"}}), "alerts read expiry days, not the approval queue")
	require.True(t, r.Uses("NotifierFunction", "ses"))
	require.False(t, r.Uses("GetTokenFunction", "kms"))
}

func TestGuardRefusesLikeAWS(t *testing.T) {
	passed := 0
	next := roundTripper(func(*http.Request) (*http.Response, error) {
		passed++
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}"))}, nil
	})
	var denied []string
	r := Roles{"GetTokenFunction": {{Action: "dynamodb:GetItem", Resource: Table, Keys: []string{"TOKEN#*"}}}}
	rec := &Record{}
	g := r.Guard("GetTokenFunction", next, rec, func(s string) { denied = append(denied, s) })
	req := func(op, body string) *http.Response {
		r, _ := http.NewRequest("POST", "http://ddb/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
		res, err := g.RoundTrip(r)
		require.NoError(t, err)
		return res
	}
	require.Equal(t, 200, req("GetItem", `{"Key":{"pk":{"S":"TOKEN#a"}}}`).StatusCode)
	res := req("GetItem", `{"Key":{"pk":{"S":"PRINCIPAL#a"}}}`)
	require.Equal(t, 400, res.StatusCode)
	b, _ := io.ReadAll(res.Body)
	require.Contains(t, string(b), "AccessDeniedException")
	require.Equal(t, 1, passed, "a refused call never reaches DynamoDB")
	require.Len(t, denied, 1)
	require.Equal(t, []string{"dynamodb:GetItem table keys TOKEN#*"}, rec.Used("GetTokenFunction"), "what the allowed call used")
	require.Equal(t, r.Units("GetTokenFunction"), rec.Used("GetTokenFunction"))
}
