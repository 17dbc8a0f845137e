package faults_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"tokengate/shared/boot"
	"tokengate/shared/lambdahttp"
)

// TestTimeoutsAddUp: every function's Timeout in template.yaml leaves room for one AWS
// call at its worst (boot.CallBudget) plus the answer margin, so a call always ends, and
// the function answers, before Lambda stops it (docs/operations.md).
func TestTimeoutsAddUp(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &doc))
	get := func(n *yaml.Node, key string) *yaml.Node {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
		return nil
	}
	seconds := func(n *yaml.Node) time.Duration {
		v, err := strconv.Atoi(n.Value)
		require.NoError(t, err, "Timeout %q", n.Value)
		return time.Duration(v) * time.Second
	}
	root := doc.Content[0]
	global := get(get(get(root, "Globals"), "Function"), "Timeout")
	require.NotNil(t, global, "Globals.Function.Timeout")
	resources := get(root, "Resources")
	functions := 0
	for i := 0; i+1 < len(resources.Content); i += 2 {
		name, res := resources.Content[i].Value, resources.Content[i+1]
		if get(res, "Type").Value != "AWS::Serverless::Function" {
			continue
		}
		functions++
		timeout := seconds(global)
		if own := get(get(res, "Properties"), "Timeout"); own != nil {
			timeout = seconds(own)
		}
		require.Greater(t, timeout, boot.CallBudget+lambdahttp.AnswerMargin, "%s: Timeout %s", name, timeout)
	}
	require.NotZero(t, functions)
}
