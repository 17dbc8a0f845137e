package api

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStrictJSON(t *testing.T) {
	type inner struct {
		Limit int    `json:"limit"`
		Per   string `json:"per"`
	}
	type body struct {
		Name      string          `json:"name"`
		Superuser bool            `json:"superuser"`
		Rate      *inner          `json:"rateLimit"`
		Raw       json.RawMessage `json:"raw"`
		List      []inner         `json:"list"`
	}
	tests := []struct {
		name, in, field string
		ok              bool
	}{
		{"plain", `{"name":"a","superuser":true,"rateLimit":{"limit":1,"per":"hour"}}`, "", true},
		{"escaped pair is a character", `{"name":"\ud83d\ude00"}`, "", true},
		{"escaped quote before a surrogate-looking text", `{"name":"\\ud800"}`, "", true},
		{"key differing in case", `{"NAME":"a"}`, "NAME", false},
		{"nested key differing in case", `{"rateLimit":{"Limit":1}}`, "rateLimit.Limit", false},
		{"key in an array of objects", `{"list":[{"per":"x"},{"PER":"y"}]}`, "list[1].PER", false},
		{"duplicate key", `{"name":"a","name":"b"}`, "name", false},
		{"duplicate nested key", `{"rateLimit":{"limit":1,"limit":2}}`, "rateLimit.limit", false},
		{"duplicate key inside raw", `{"raw":{"a":1,"a":2}}`, "raw.a", false},
		{"null boolean", `{"superuser":null}`, "superuser", false},
		{"lone high surrogate", `{"name":"\ud800"}`, "", false},
		{"lone low surrogate", `{"name":"\udc00"}`, "", false},
		{"reversed pair", `{"name":"\udc00\ud800"}`, "", false},
		{"high surrogate then a letter", `{"name":"\ud800\u0041"}`, "", false},
		{"invalid UTF-8", "{\"name\":\"\xc3\x28\"}", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := strictJSON([]byte(tt.in), &body{})
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.field+": ")
		})
	}
}

func TestCheckQuery(t *testing.T) {
	tests := []struct {
		url     string
		allowed []string
		ok      bool
	}{
		{"/audit?actor=carol", []string{"actor"}, true},
		{"/audit?actor=carol%zz", []string{"actor"}, false},
		{"/audit?actor=%ff", []string{"actor"}, false},
		{"/audit?nope=1", []string{"actor"}, false},
		{"/tokens/x?x", nil, false},
		{"/tokens/x", nil, true},
		{"/audit?actor=a;b", []string{"actor"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := checkQuery(httptest.NewRequest("GET", tt.url, nil), tt.allowed)
			require.Equal(t, tt.ok, err == nil, "%v", err)
		})
	}
}

// BenchmarkDecode bounds what the strict checks add to decoding a typical create body:
// compare "strict" with "plain" (encoding/json alone) in the same run.
func BenchmarkDecode(b *testing.B) {
	body := []byte(`{"name":"ci-deploy","description":"GitHub Actions deploy job","scopes":["tokens:read","orders:read"],
		"expiresIn":"3m","type":"permanent","reason":"release","ipAllowlist":["203.0.113.0/24","2001:db8::/32"],
		"rateLimit":{"limit":1000,"per":"hour"},"timeRestriction":{"days":["mon","tue","wed"],"startHour":9,"endHour":18}}`)
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var req createRequest
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var req createRequest
			if err := strictJSON(body, &req); err != nil {
				b.Fatal(err)
			}
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
