package main

import (
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
)

// TestOpenAPIDocument: docs/openapi.yaml is a valid OpenAPI 3.1 document whose routes
// are exactly the management API's routes in template.yaml.
func TestOpenAPIDocument(t *testing.T) {
	doc, _ := localtest.OpenAPI(t)
	require.Equal(t, "3.1.0", doc.OpenAPI)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	var declared []string
	for _, r := range localtest.Template(t).Routes {
		if r.Function == "DemoEchoFunction" || r.Function == "ConsoleFunction" { // the example API (DemoApi), and the console's files: not the JSON API
			continue
		}
		declared = append(declared, r.Method+" "+r.Path)
	}
	slices.Sort(documented)
	slices.Sort(declared)
	require.Equal(t, declared, documented)

	// Python users' tools read YAML 1.1, where an unquoted Off is false: the document must
	// validate there too (openapi-spec-validator; make lint runs it as well).
	python := os.Getenv("TG_PYTHON")
	if python == "" {
		python = "python3"
	}
	out, err := exec.Command(python, "-m", "openapi_spec_validator", "../../docs/openapi.yaml").CombinedOutput()
	require.NoError(t, err, "openapi-spec-validator (infra/install.sh lint installs it): %s", out)
}
