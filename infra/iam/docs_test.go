package iam

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestAttachAuthorizerSnippets: the templates docs/attach-authorizer.md shows (one REST
// API, one HTTP API) pass cfn-lint, SAM transform included.
func TestAttachAuthorizerSnippets(t *testing.T) {
	doc, err := os.ReadFile("../../docs/attach-authorizer.md")
	require.NoError(t, err)
	blocks := yamlBlock.FindAllSubmatch(doc, -1)
	require.Len(t, blocks, 2, "a REST API and an HTTP API snippet")
	dir := t.TempDir()
	var files []string
	for i, b := range blocks {
		f := filepath.Join(dir, []string{"rest.yaml", "http.yaml"}[i])
		require.NoError(t, os.WriteFile(f, b[1], 0o600))
		files = append(files, f)
	}
	require.Contains(t, string(blocks[0][1]), "Type: AWS::Serverless::Api")
	require.Contains(t, string(blocks[1][1]), "Type: AWS::Serverless::HttpApi")
	out, err := exec.Command("cfn-lint", files...).CombinedOutput()
	require.NoError(t, err, "cfn-lint: %s", out)
}
