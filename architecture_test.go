package tokengate_test

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// packages lists the module's packages with their project imports and all imports.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	require.NoError(t, err)
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkgs[strings.TrimPrefix(f[0], "tokengate/")] = f[1:]
	}
	return pkgs
}

// TestArchitectureDocNamesEveryPackage: docs/architecture.md has a row for every package
// under shared/ and infra/, and names none that does not exist.
func TestArchitectureDocNamesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile("docs/architecture.md")
	require.NoError(t, err)
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `((?:shared|infra)/[a-z0-9]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		named[m[1]] = true
	}
	pkgs := packages(t)
	for p := range pkgs {
		if strings.HasPrefix(p, "shared/") || strings.HasPrefix(p, "infra/") {
			require.True(t, named[p], "docs/architecture.md has no row for %s", p)
		}
	}
	for p := range named {
		_, ok := pkgs[p]
		require.True(t, ok || p == "infra/localkms", "docs/architecture.md names %s, which is no package", p)
	}
}

// TestImportDirection holds the rules docs/architecture.md states.
func TestImportDirection(t *testing.T) {
	domain := []string{"shared/fault", "shared/access", "shared/token", "shared/principal", "shared/expiry"}
	adapters := []string{"shared/store", "shared/pepper", "shared/email"}
	for p, imports := range packages(t) {
		for _, imp := range imports {
			proj := strings.TrimPrefix(imp, "tokengate/")
			isProj := proj != imp
			if slices.Contains(domain, p) {
				require.False(t, strings.HasPrefix(imp, "github.com/aws/"), "%s is domain: it imports %s", p, imp)
				require.NotEqual(t, "net/http", imp, "%s is domain: it imports net/http", p)
				require.False(t, isProj && !slices.Contains(domain, proj), "%s is domain: it imports %s", p, proj)
			}
			if p == "shared/fault" {
				require.False(t, isProj, "shared/fault imports %s: it is the leaf", proj)
			}
			if slices.Contains(adapters, p) {
				require.False(t, slices.Contains(adapters, proj), "adapter %s imports adapter %s", p, proj)
			}
			if strings.HasPrefix(p, "shared/") {
				require.False(t, strings.HasPrefix(proj, "infra/") || strings.HasPrefix(proj, "functions/"), "%s imports %s", p, proj)
			}
			if isProj && slices.Contains(adapters, proj) {
				require.True(t, p == "shared/boot" || strings.HasPrefix(p, "infra/") || p == "shared/store" && proj == "shared/store",
					"only shared/boot and infra/ wire adapters: %s imports %s", p, proj)
			}
		}
	}
}
