package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
)

// TestFunctionsMatchTheTemplate: functions declares every function a route of
// template.yaml reaches and nothing else, and every function of the template, with or
// without a route, has its main under functions/.
func TestFunctionsMatchTheTemplate(t *testing.T) {
	tmpl := localtest.Template(t)
	routed := map[string]bool{}
	for _, r := range tmpl.Routes {
		routed[r.Function] = true
		require.Contains(t, functions, r.Function, "%s %s: function %s is not declared in functions", r.Method, r.Path, r.Function)
	}
	for fn := range functions {
		require.True(t, routed[fn], "functions declares %s, which no route of template.yaml reaches", fn)
	}
	for _, fn := range tmpl.Functions {
		require.FileExists(t, mainOf(fn), "template function %s", fn)
	}
	entries, err := os.ReadDir("../../functions")
	require.NoError(t, err)
	require.Len(t, entries, len(tmpl.Functions), "one folder under functions/ per template function")
}

// TestMainsServeTheirDeclaration: each HTTP function's main.go is the line functions
// declares for it — boot.Serve(boot.<Parts>, api.<Operation>), or the operation with no
// boot at all — so what the local gateway mounts is what Lambda runs, and a main cannot
// start an operation on parts other than the ones declared.
func TestMainsServeTheirDeclaration(t *testing.T) {
	for name, f := range functions {
		t.Run(name, func(t *testing.T) {
			file, err := parser.ParseFile(token.NewFileSet(), mainOf(name), nil, 0)
			require.NoError(t, err)
			pkg, op := splitFuncName(f.Operation)
			var serve *ast.CallExpr
			var usesOperation, usesBoot bool
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && isIdent(sel.X, "boot") && sel.Sel.Name == "Serve" {
						serve = n
					}
				case *ast.SelectorExpr:
					if isIdent(n.X, pkg) && n.Sel.Name == op {
						usesOperation = true
					}
					if isIdent(n.X, "boot") {
						usesBoot = true
					}
				}
				return true
			})
			require.True(t, usesOperation, "%s does not serve %s.%s", mainOf(name), pkg, op)
			if f.Parts == "" {
				require.False(t, usesBoot, "%s needs nothing loaded: its main must not import boot (it would link every AWS client)", name)
				return
			}
			require.NotNil(t, serve, "%s: the main is boot.Serve(boot.%s, %s.%s)", name, f.Parts, pkg, op)
			require.Len(t, serve.Args, 2)
			parts, ok := serve.Args[0].(*ast.SelectorExpr)
			require.True(t, ok && isIdent(parts.X, "boot") && parts.Sel.Name == f.Parts, "%s: boot.Serve's parts are boot.%s", name, f.Parts)
			operation, ok := serve.Args[1].(*ast.SelectorExpr)
			require.True(t, ok && isIdent(operation.X, pkg) && operation.Sel.Name == op, "%s: boot.Serve's operation is %s.%s", name, pkg, op)
		})
	}
}

// mainOf is the main.go of a template function: CreateTokenFunction is
// functions/createtoken/main.go.
func mainOf(function string) string {
	return filepath.Join("../../functions", strings.ToLower(strings.TrimSuffix(function, "Function")), "main.go")
}

// splitFuncName turns "tokengate/shared/api.CreateToken" into "api", "CreateToken".
func splitFuncName(full string) (pkg, name string) {
	dot := strings.LastIndex(full, ".")
	return filepath.Base(full[:dot]), full[dot+1:]
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
