package migrationtest

import (
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// extras are the declarations of acache's httpcache beyond
// gregjones/httpcache's: a way to the native API for each kind of Cache.
var extras = []string{
	"func NewBackend(c Cache) acache.Backend",
	"func NewMemoryCacheWith(options ...acache.Option) *MemoryCache",
	"func (c *MemoryCache) Cache() *acache.Cache",
	"func (t *Transport) CloseIdleConnections()",
}

// Every declaration go doc lists for gregjones/httpcache is listed for
// acache's httpcache with the same names and signature, and acache's adds
// only the extras above.
func TestGoDocListsGregjonesAPI(t *testing.T) {
	original := declarations(t, "github.com/gregjones/httpcache")
	ours := declarations(t, "github.com/acachecontrol/acache/httpcache")
	require.NotEmpty(t, original)
	for _, decl := range original {
		assert.Contains(t, ours, decl, "gregjones/httpcache declares it; acache's httpcache does not")
	}
	var added []string
	for _, decl := range ours {
		if !slices.Contains(original, decl) {
			added = append(added, decl)
		}
	}
	assert.ElementsMatch(t, extras, added, "declarations beyond gregjones/httpcache's")
}

// declarations returns what `go doc -all` lists for pkg, one line per
// declaration: constants and variables as "const NAME = VALUE", functions
// and methods by their signature, types by their first line, and each
// field of a struct and method of an interface as "TYPE.FIELD ...", with
// comments left out and runs of blanks made one.
func declarations(t *testing.T, pkg string) []string {
	out, err := exec.Command("go", "doc", "-all", pkg).CombinedOutput()
	require.NoError(t, err, "go doc -all %s: %s", pkg, out)
	blanks := regexp.MustCompile(`\s+`)
	var decls []string
	var block, typ string // the const, var or type block being read
	for _, line := range strings.Split(string(out), "\n") {
		trimmed := strings.TrimSpace(line)
		if i := strings.Index(trimmed, "//"); i >= 0 && !strings.Contains(trimmed[:i], `"`) {
			trimmed = strings.TrimSpace(trimmed[:i])
		}
		trimmed = blanks.ReplaceAllString(trimmed, " ")
		switch {
		case trimmed == "":
		case block != "" && (trimmed == ")" || trimmed == "}"):
			block, typ = "", ""
		case block == "const" || block == "var":
			decls = append(decls, block+" "+trimmed)
		case block == "type":
			decls = append(decls, typ+"."+trimmed)
		case trimmed == "const (" || trimmed == "var (":
			block = strings.TrimSuffix(trimmed, " (")
		case strings.HasPrefix(line, "type ") && strings.HasSuffix(trimmed, "{"):
			block, typ = "type", strings.Fields(trimmed)[1]
			decls = append(decls, trimmed)
		case strings.HasPrefix(line, "const ") || strings.HasPrefix(line, "var ") ||
			strings.HasPrefix(line, "func ") || strings.HasPrefix(line, "type "):
			decls = append(decls, trimmed)
		}
	}
	return decls
}
