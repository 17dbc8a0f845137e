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
	domain := []string{"shared/fault", "shared/access", "shared/restriction", "shared/audit", "shared/token", "shared/principal", "shared/settings", "shared/expirynotice"}
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

// testImports lists each package's test imports: those of its internal tests (package
// p) and of its external ones (package p_test).
func testImports(t *testing.T) (internal, external map[string][]string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .TestImports " "}}|{{join .XTestImports " "}}`, "./...").Output()
	require.NoError(t, err)
	internal, external = map[string][]string{}, map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		p := strings.TrimPrefix(f[0], "tokengate/")
		internal[p], external[p] = strings.Fields(f[1]), strings.Fields(f[2])
	}
	return internal, external
}

// TestTestImportDirection holds tests to the same map: a domain package's own tests
// (package token, not token_test) import what the package may, so its rules are tested
// without the stack; tests under shared/ reach infra/ only through infra/localtest, the
// local stack's helpers; nothing imports functions/.
func TestTestImportDirection(t *testing.T) {
	domain := []string{"shared/fault", "shared/access", "shared/restriction", "shared/audit", "shared/token", "shared/principal", "shared/settings", "shared/expirynotice"}
	internal, external := testImports(t)
	for p, imports := range internal {
		for _, imp := range append(slices.Clone(imports), external[p]...) {
			proj := strings.TrimPrefix(imp, "tokengate/")
			require.False(t, strings.HasPrefix(proj, "functions/"), "a test of %s imports %s", p, proj)
			if strings.HasPrefix(p, "shared/") && strings.HasPrefix(proj, "infra/") {
				require.Equal(t, "infra/localtest", proj, "a test of %s imports %s: tests under shared/ use the stack through infra/localtest only", p, proj)
			}
		}
		if !slices.Contains(domain, p) {
			continue
		}
		for _, imp := range imports {
			proj := strings.TrimPrefix(imp, "tokengate/")
			require.False(t, strings.HasPrefix(imp, "github.com/aws/"), "the internal tests of domain package %s import %s", p, imp)
			require.False(t, proj != imp && !slices.Contains(domain, proj), "the internal tests of domain package %s import %s", p, proj)
		}
	}
}

// TestBootOnlyAssembles: shared/boot imports the packages it wires and the leaves it
// starts with, and nothing it would have to decide with.
func TestBootOnlyAssembles(t *testing.T) {
	assembles := []string{"shared/access", "shared/api", "shared/authorizer", "shared/email", "shared/expirynotice",
		"shared/fault", "shared/lambdahttp", "shared/lambdaruntime", "shared/logging", "shared/pepper",
		"shared/principal", "shared/settings", "shared/store", "shared/token"}
	for _, imp := range packages(t)["shared/boot"] {
		if proj := strings.TrimPrefix(imp, "tokengate/"); proj != imp {
			require.Contains(t, assembles, proj, "shared/boot imports %s", proj)
		}
	}
}

// TestFunctionsWithoutAWSLinkNoSDK: the functions that make no AWS call link no AWS SDK
// package at all (their binaries are the smallest; docs/architecture.md).
func TestFunctionsWithoutAWSLinkNoSDK(t *testing.T) {
	for _, f := range []string{"console", "demoecho", "listscopes", "listroles"} {
		out, err := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "./functions/"+f).Output()
		require.NoError(t, err)
		for _, dep := range strings.Fields(string(out)) {
			require.False(t, strings.HasPrefix(dep, "github.com/aws/aws-sdk-go-v2") || dep == "tokengate/shared/boot",
				"functions/%s links %s", f, dep)
		}
	}
}
