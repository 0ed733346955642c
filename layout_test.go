package acache

// The rules that keep the package's shape (README, Architecture), each
// checked over the source: the layers import only what is below them, one
// door to the Backend, no knot of files that all reach each other, short
// functions, a small Cache and a small API.

import (
	"go/ast"
	"go/doc"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Limits of the shape: each only falls, but for the exported names, which
// the reshaping brought to 65 so that the optional backend interfaces and
// hooks of the fleet and streaming work fit under 75.
const (
	maxExportedNames = 75 // exported names of the root package (go/doc): 65 at the reshaping, 75 with what the fleet and streaming add
	maxKnot          = 8  // files in the largest group that all reach each other
	maxFuncLines     = 60 // lines of a function, its doc comment not counted
	maxCacheGoLines  = 150
)

// checkedPackage is the root package, parsed and type-checked once.
type checkedPackage struct {
	fset  *token.FileSet
	files map[string]*ast.File // by base name, without tests
	info  *types.Info
	pkg   *types.Package
}

var rootPackage = sync.OnceValues(func() (*checkedPackage, error) {
	p := &checkedPackage{fset: token.NewFileSet(), files: map[string]*ast.File{}}
	names, err := filepath.Glob("*.go")
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(p.fset, name, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		p.files[name] = f
		files = append(files, f)
	}
	p.info = &types.Info{Uses: map[*ast.Ident]types.Object{}, Defs: map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{}}
	conf := types.Config{Importer: importer.ForCompiler(p.fset, "source", nil)}
	p.pkg, err = conf.Check("github.com/acachecontrol/acache", p.fset, files, p.info)
	return p, err
})

func checked(t *testing.T) *checkedPackage {
	t.Helper()
	p, err := rootPackage()
	require.NoError(t, err, "type-checking the package")
	return p
}

// fileOf returns the base name of the file that declares obj, or "".
func (p *checkedPackage) fileOf(obj types.Object) string {
	if obj == nil || obj.Pkg() != p.pkg || !obj.Pos().IsValid() {
		return ""
	}
	return filepath.Base(p.fset.Position(obj.Pos()).Filename)
}

// TestLayoutImports checks the layers' imports: internal/httpsyntax imports
// the standard library and pquerna/cachecontrol only, internal/policy the
// standard library and httpsyntax only, and no nested module imports an
// internal package of the root (it would break across root versions).
func TestLayoutImports(t *testing.T) {
	t.Parallel()
	deps := func(dir string) []string {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, dir).Output()
		require.NoError(t, err, "go list %s", dir)
		return strings.Fields(string(out))
	}
	for _, d := range deps("./internal/httpsyntax") {
		assert.True(t, !strings.Contains(d, ".") || strings.HasPrefix(d, "github.com/pquerna/cachecontrol"),
			"internal/httpsyntax imports %s", d)
	}
	for _, d := range deps("./internal/policy") {
		assert.True(t, !strings.Contains(d, ".") || d == "github.com/acachecontrol/acache/internal/httpsyntax",
			"internal/policy imports %s", d)
	}
	err := filepath.WalkDir(".", func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		if !strings.Contains(path, string(filepath.Separator)) || strings.HasPrefix(path, "internal") {
			return nil // the root module's own packages
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			assert.NotContains(t, imp.Path.Value, "acachecontrol/acache/internal", "%s imports a root internal package", path)
		}
		return nil
	})
	require.NoError(t, err)
}

// backendDoor tells the files through which the Cache calls its Backend:
// the store and the partition index.
func backendDoor(file string) bool {
	return strings.HasPrefix(file, "store") || file == "index.go"
}

// TestLayoutOneDoorToTheBackend checks that only the store's files and the
// index call a method of Backend or of an optional backend interface.
func TestLayoutOneDoorToTheBackend(t *testing.T) {
	t.Parallel()
	p := checked(t)
	doors := map[types.Type]bool{}
	for _, name := range []string{"Backend", "Sizer", "Peeker"} {
		doors[p.pkg.Scope().Lookup(name).Type()] = true
	}
	for name, f := range p.files {
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			s := p.info.Selections[sel]
			if s == nil || s.Kind() != types.MethodVal {
				return true
			}
			if doors[s.Recv()] && !backendDoor(name) {
				t.Errorf("%s: %s calls %s of %s: only the store and the index call the Backend",
					p.fset.Position(sel.Pos()), name, sel.Sel.Name, s.Recv())
			}
			return true
		})
	}
}

// fileGraph returns, for each file of the package, the files whose
// top-level declarations it refers to.
func (p *checkedPackage) fileGraph() map[string]map[string]bool {
	g := map[string]map[string]bool{}
	for name, f := range p.files {
		g[name] = map[string]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok {
				return true
			}
			obj := p.info.Uses[id]
			if obj == nil || obj.Parent() != p.pkg.Scope() && !isMethodOrField(obj) {
				return true
			}
			if to := p.fileOf(obj); to != "" && to != name {
				g[name][to] = true
			}
			return true
		})
	}
	return g
}

func isMethodOrField(obj types.Object) bool {
	switch o := obj.(type) {
	case *types.Func:
		return o.Type().(*types.Signature).Recv() != nil
	case *types.Var:
		return o.IsField()
	}
	return false
}

// largestKnot returns the largest strongly connected component of g: files
// that all reach each other.
func largestKnot(g map[string]map[string]bool) []string {
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack, best []string
	next := 0
	var visit func(v string)
	visit = func(v string) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for w := range g[v] {
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			if len(scc) > len(best) {
				best = scc
			}
		}
	}
	for _, v := range slices.Sorted(func(yield func(string) bool) {
		for v := range g {
			if !yield(v) {
				return
			}
		}
	}) {
		if _, seen := index[v]; !seen {
			visit(v)
		}
	}
	slices.Sort(best)
	return best
}

// TestLayoutNoKnot checks that no more than maxKnot files of the package
// all reach each other.
func TestLayoutNoKnot(t *testing.T) {
	t.Parallel()
	knot := largestKnot(checked(t).fileGraph())
	t.Logf("the largest knot: %d files: %v", len(knot), knot)
	assert.LessOrEqual(t, len(knot), maxKnot, "the largest group of files that all reach each other: %v", knot)
}

// TestLayoutShortFunctions checks that no function of the root package or
// of its internal packages is longer than maxFuncLines.
func TestLayoutShortFunctions(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{".", "internal/httpsyntax", "internal/policy"} {
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, name, nil, 0)
			require.NoError(t, err)
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
				assert.LessOrEqual(t, lines, maxFuncLines, "%s: %s has %d lines", name, fn.Name.Name, lines)
			}
		}
	}
}

// TestLayoutSmallCache checks that cache.go, which declares Cache and its
// own methods, stays small: the Cache is its configuration, its store, its
// counters, its flights and its background work, each with methods of its
// own elsewhere.
func TestLayoutSmallCache(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("cache.go")
	require.NoError(t, err)
	lines := strings.Count(string(src), "\n")
	assert.LessOrEqual(t, lines, maxCacheGoLines, "cache.go has %d lines", lines)
}

// TestLayoutReasonsAreConstants checks that no Cache-Status detail is
// written as a string in the root package: a reason is a policy.Reason,
// whose words reasons.go gives (TestEveryReasonHasWords), never a literal
// that a test of words cannot see.
func TestLayoutReasonsAreConstants(t *testing.T) {
	t.Parallel()
	p := checked(t)
	for _, f := range p.files {
		ast.Inspect(f, func(n ast.Node) bool {
			var value ast.Expr
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if key, ok := n.Key.(*ast.Ident); ok && key.Name == "Detail" {
					value = n.Value
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "Detail" && i < len(n.Rhs) {
						value = n.Rhs[i]
					}
				}
			}
			if lit, ok := value.(*ast.BasicLit); ok && lit.Kind == token.STRING && lit.Value != `""` {
				t.Errorf("%s: the detail %s is a string, not a policy.Reason", p.fset.Position(lit.Pos()), lit.Value)
			}
			return true
		})
	}
}

// TestLayoutDocGroupsEveryName checks that doc.go, the tour go doc shows in
// sections, links every exported function, type and variable of the root
// package from one of its groups (methods and constants are found from
// their types).
func TestLayoutDocGroupsEveryName(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, strings.Count(string(src), "\n// # "), 4, "doc.go's # sections")
	p := checked(t)
	for _, name := range p.pkg.Scope().Names() {
		obj := p.pkg.Scope().Lookup(name)
		if _, isConst := obj.(*types.Const); isConst || !obj.Exported() {
			continue
		}
		assert.True(t, strings.Contains(string(src), "["+name+"]"), "doc.go does not introduce %s", name)
	}
}

// TestLayoutExportedNames counts the root package's exported names as go
// doc shows them: constants, variables, functions and types, and the methods
// of exported types; not fields, not interface methods.
func TestLayoutExportedNames(t *testing.T) {
	t.Parallel()
	// go/doc filters the trees it is given: it gets trees of its own.
	fset := token.NewFileSet()
	sources, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var files []*ast.File
	for _, name := range sources {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		require.NoError(t, err)
		files = append(files, f)
	}
	d, err := doc.NewFromFiles(fset, files, "github.com/acachecontrol/acache")
	require.NoError(t, err)
	var names []string
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			names = append(names, v.Names...)
		}
	}
	values(d.Consts)
	values(d.Vars)
	for _, f := range d.Funcs {
		names = append(names, f.Name)
	}
	for _, typ := range d.Types {
		names = append(names, typ.Name)
		values(typ.Consts)
		values(typ.Vars)
		for _, f := range typ.Funcs {
			names = append(names, f.Name)
		}
		for _, m := range typ.Methods {
			names = append(names, typ.Name+"."+m.Name)
		}
	}
	t.Logf("%d exported names: %v", len(names), names)
	assert.LessOrEqual(t, len(names), maxExportedNames, "exported names of the root package")
}
