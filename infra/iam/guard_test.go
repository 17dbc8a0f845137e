package iam

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCalls(t *testing.T) {
	tests := []struct {
		op, body string
		want     []Grant
	}{
		{"GetItem", `{"Key":{"pk":{"S":"TOKEN#a"},"sk":{"S":"TOKEN"}}}`, []Grant{{"dynamodb:GetItem", Table, []string{"TOKEN#a"}}}},
		{"PutItem", `{"Item":{"pk":{"S":"PRINCIPAL#b"}}}`, []Grant{{"dynamodb:PutItem", Table, []string{"PRINCIPAL#b"}}}},
		{"BatchGetItem", `{"RequestItems":{"t":{"Keys":[{"pk":{"S":"TOKEN#a"}},{"pk":{"S":"PRINCIPAL#b"}}]}}}`,
			[]Grant{{"dynamodb:BatchGetItem", Table, []string{"TOKEN#a", "PRINCIPAL#b"}}}},
		{"Query", `{"IndexName":"byOwner","KeyConditionExpression":"gsi1pk = :pk"}`, []Grant{{"dynamodb:Query", Index + "byOwner", nil}}},
		{"Query", `{"KeyConditionExpression":"#pk = :pk AND #sk > :s","ExpressionAttributeNames":{"#pk":"pk","#sk":"sk"},"ExpressionAttributeValues":{":pk":{"S":"AUDIT#x"},":s":{"S":"0"}}}`,
			[]Grant{{"dynamodb:Query", Table, []string{"AUDIT#x"}}}},
		{"Query", `{"KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"PEPPER"}}}`, []Grant{{"dynamodb:Query", Table, []string{"PEPPER"}}}},
		{"TransactWriteItems", `{"TransactItems":[{"Update":{"Key":{"pk":{"S":"TOKEN#a"}}}},{"Put":{"Item":{"pk":{"S":"AUDIT#a"}}}}]}`,
			[]Grant{{"dynamodb:UpdateItem", Table, []string{"TOKEN#a"}}, {"dynamodb:PutItem", Table, []string{"AUDIT#a"}}}},
		{"Scan", `{}`, []Grant{{"dynamodb:Scan", Table, []string{""}}}},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, calls(tt.op, []byte(tt.body)), "%s %s", tt.op, tt.body)
	}
}

func TestAllows(t *testing.T) {
	require.True(t, Allows("AuthorizerFunction", "dynamodb:BatchGetItem", Table, []string{"TOKEN#a", "PRINCIPAL#b"}))
	require.False(t, Allows("AuthorizerFunction", "dynamodb:BatchGetItem", Table, []string{"TOKEN#a", "AUDIT#b"}), "every key must match")
	require.False(t, Allows("AuthorizerFunction", "dynamodb:UpdateItem", Table, []string{"PRINCIPAL#b"}), "the authorizer never changes a principal")
	require.False(t, Allows("CreateTokenFunction", "dynamodb:PutItem", Table, []string{"PRINCIPAL#b"}), "writers create audit records only")
	require.False(t, Allows("CreateTokenFunction", "dynamodb:UpdateItem", Table, []string{"AUDIT#b"}), "audit records are never changed")
	require.False(t, Allows("GetTokenFunction", "kms:Decrypt", Key, nil), "readers never see the pepper")
	require.False(t, Allows("ListScopesFunction", "dynamodb:GetItem", Table, []string{"TOKEN#a"}))
	require.True(t, Uses("NotifierFunction", "ses"))
	require.False(t, Uses("GetTokenFunction", "kms"))
}

func TestGuardRefusesLikeAWS(t *testing.T) {
	passed := 0
	next := roundTripper(func(*http.Request) (*http.Response, error) {
		passed++
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}"))}, nil
	})
	var denied []string
	g := Guard("GetTokenFunction", next, func(s string) { denied = append(denied, s) })
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
}
