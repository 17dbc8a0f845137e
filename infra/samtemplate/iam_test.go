package samtemplate

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// TestNoFunctionCreatesThePepper: only the operator's bootstrap creates the pepper. No
// function role may generate a KMS data key, and every role that may write items of the
// table either is denied writes to the PEPPER item or may write only under other
// leading keys.
func TestNoFunctionCreatesThePepper(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	require.NotContains(t, string(raw), "GenerateDataKey")
	var doc struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Policies []struct {
					Statement []struct {
						Effect    string         `yaml:"Effect"`
						Action    any            `yaml:"Action"`
						Condition map[string]any `yaml:"Condition"`
					} `yaml:"Statement"`
				} `yaml:"Policies"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	writes := []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
	checked := 0
	for name, r := range doc.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		unconditionedWrite, pepperDenied := false, false
		for _, p := range r.Properties.Policies {
			for _, st := range p.Statement {
				actions := actionsOf(st.Action)
				leading := leadingKeys(st.Condition)
				writesSome := slices.ContainsFunc(actions, func(a string) bool { return slices.Contains(writes, a) || a == "dynamodb:*" })
				switch {
				case st.Effect == "Allow" && writesSome && (len(leading) == 0 || slices.ContainsFunc(leading, func(k string) bool { return strings.HasPrefix("PEPPER", strings.TrimSuffix(k, "*")) })):
					unconditionedWrite = true
				case st.Effect == "Deny" && slices.Contains(leading, "PEPPER") && slices.Contains(actions, "dynamodb:PutItem") && slices.Contains(actions, "dynamodb:UpdateItem"):
					pepperDenied = true
				}
			}
		}
		require.False(t, unconditionedWrite && !pepperDenied, "%s may write the pepper item", name)
		checked++
	}
	require.Greater(t, checked, 10)
}

func actionsOf(a any) []string {
	switch v := a.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func leadingKeys(cond map[string]any) []string {
	var out []string
	for _, op := range cond {
		m, _ := op.(map[string]any)
		for k, v := range m {
			if k == "dynamodb:LeadingKeys" {
				out = append(out, actionsOf(v)...)
			}
		}
	}
	return out
}
