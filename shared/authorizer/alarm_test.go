package authorizer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/authorizer"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// TestFailureAlarmFilter: the template's AuthorizerStoreErrorMetricFilter counts the
// decision line of a store failure (the authorizer could not read the table) and none of
// an invalid token's, so the alarm fires on real failures and nobody can raise it by
// sending a bad token.
func TestFailureAlarmFilter(t *testing.T) {
	pattern := filterPattern(t, "AuthorizerStoreErrorMetricFilter")
	f := newFixture(t, 0)
	tok := f.create(t, token.CreateInput{})

	var failed, refused bytes.Buffer
	cfg := localtest.Clients(t).AWS.Copy()
	down := &store.Table{Name: f.table.Name, Client: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	})}
	a := authorizer.New(authorizer.Config{Tokens: down, Keys: f.svc.Keys, Prefix: "tg", Now: f.clock.Now, Log: &failed})
	require.Equal(t, authorizer.ReasonStoreFailed, a.Check(context.Background(), authorizer.Request{Token: tok.Plaintext.Reveal()}).Reason)

	up := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Prefix: "tg", Now: f.clock.Now, Log: &refused})
	wrong := tok.Plaintext.Reveal()[:len(tok.Plaintext.Reveal())-12] + "AAAAAAAAAAAA"
	for _, s := range []string{wrong, "x", "tg_x"} {
		require.False(t, up.Check(context.Background(), authorizer.Request{Token: s}).Allow)
	}

	require.True(t, matchesAny(t, pattern, failed.String()), "the store failure's line is counted: %s", failed.String())
	require.NotEmpty(t, refused.String(), "invalid tokens are logged")
	require.False(t, matchesAny(t, pattern, refused.String()), "invalid tokens are not: %s", refused.String())
}

// filterPattern reads a metric filter's FilterPattern from template.yaml.
func filterPattern(t *testing.T, resource string) string {
	t.Helper()
	b, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)\n  ` + resource + `:\n.*?FilterPattern: '([^']*)'`).FindSubmatch(b)
	require.NotNil(t, m, "template.yaml has no %s with a FilterPattern", resource)
	return string(m[1])
}

var filterTerm = regexp.MustCompile(`^\$\.([A-Za-z0-9_]+)\s*=\s*"([^"]*)"$`)

// matchesAny reports whether a line of log matches a CloudWatch Logs filter pattern of
// the forms the template uses: { $.a = "x" && $.b = "y*" } on JSON lines, or "text".
func matchesAny(t *testing.T, pattern, log string) bool {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if strings.HasPrefix(pattern, `"`) {
			if strings.Contains(line, strings.Trim(pattern, `"`)) {
				return true
			}
			continue
		}
		var fields map[string]any
		if json.Unmarshal([]byte(line), &fields) != nil {
			continue
		}
		all := true
		for _, term := range strings.Split(strings.Trim(pattern, "{} "), "&&") {
			m := filterTerm.FindStringSubmatch(strings.TrimSpace(term))
			require.NotNil(t, m, "unsupported filter term %q", term)
			v, _ := fields[m[1]].(string)
			if want, prefix := strings.CutSuffix(m[2], "*"); prefix {
				all = all && strings.HasPrefix(v, want)
			} else {
				all = all && v == m[2]
			}
		}
		if all {
			return true
		}
	}
	return false
}
