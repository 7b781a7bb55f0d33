package bench

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestRaftParamsMatchCluster compares the settings copied in raftparams.go
// with the expressions internal/cluster uses, so the baseline cannot drift
// from Podling's configuration unnoticed.
func TestRaftParamsMatchCluster(t *testing.T) {
	clusterValues := map[string]string{}
	for _, file := range []string{"raft.go", "stream.go"} {
		collectValues(t, filepath.Join("..", "cluster", file), clusterValues)
	}
	local := map[string]string{}
	collectValues(t, "raftparams.go", local)

	pairs := map[string]string{
		"snapshotThreshold": "snapshotThreshold",
		"snapshotInterval":  "snapshotInterval",
		"trailingLogs":      "trailingLogs",
		"snapshotsRetained": "snapshotsRetained",
		"logCacheSize":      "raft.NewLogCache",
		"transportMaxPool":  "maxPool",
		"transportTimeout":  "timeout",
	}
	for mine, theirs := range pairs {
		want, ok := clusterValues[theirs]
		if !ok {
			t.Errorf("%s: not found in internal/cluster; update this test and raftparams.go", theirs)
			continue
		}
		if got := local[mine]; got != want {
			t.Errorf("%s = %s, but internal/cluster uses %s = %s", mine, got, theirs, want)
		}
	}
}

// collectValues records the expression of every constant declared in the
// file, and the first argument of each raft.NewLogCache call.
func collectValues(t *testing.T, path string, values map[string]string) {
	t.Helper()
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GenDecl:
			if n.Tok == token.CONST {
				for _, spec := range n.Specs {
					recordSpec(fset, spec.(*ast.ValueSpec), values)
				}
			}
		case *ast.CallExpr:
			if exprString(fset, n.Fun) == "raft.NewLogCache" && len(n.Args) > 0 {
				values["raft.NewLogCache"] = exprString(fset, n.Args[0])
			}
		}
		return true
	})
}

func recordSpec(fset *token.FileSet, spec *ast.ValueSpec, values map[string]string) {
	for i, name := range spec.Names {
		if i < len(spec.Values) {
			values[name.Name] = exprString(fset, spec.Values[i])
		}
	}
}

func exprString(fset *token.FileSet, expr ast.Expr) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, expr); err != nil {
		return "<" + err.Error() + ">"
	}
	return b.String()
}
