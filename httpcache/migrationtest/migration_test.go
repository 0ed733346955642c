// Package migrationtest checks that a program written against
// github.com/gregjones/httpcache builds and caches over acache after a
// change of the import path of the root package alone: with a cache in
// memory, gregjones/httpcache's own diskcache, and its redis store on the
// Redis server ACACHE_REDIS_ADDR names (bash .ci/run starts one).
package migrationtest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	legacy "github.com/acachecontrol/acache/httpcache/migrationtest/legacy"
	migrated "github.com/acachecontrol/acache/httpcache/migrationtest/migrated"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// client is what both versions of the program offer.
type client interface {
	Fetch(url string) (body string, cached bool, err error)
	Peek(url string) (body string, ok bool, err error)
	Close() error
}

// versions makes a client of each version of the program.
var versions = map[string]func(kind, dir, addr string) (client, error){
	"gregjones/httpcache": func(kind, dir, addr string) (client, error) { return legacy.New(kind, dir, addr) },
	"acache/httpcache":    func(kind, dir, addr string) (client, error) { return migrated.New(kind, dir, addr) },
}

// The migrated program differs from the original by one line, the import
// path of the root package (gofmt then sorts it among the imports).
func TestOnlyTheImportPathDiffers(t *testing.T) {
	read := func(path string) []string {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		lines := strings.Split(string(b), "\n")
		slices.Sort(lines)
		return lines
	}
	original, moved := read("legacy/program.go"), read("migrated/program.go")
	const before, after = "\t\"github.com/gregjones/httpcache\"", "\t\"github.com/acachecontrol/acache/httpcache\""
	i := slices.Index(original, before)
	require.GreaterOrEqual(t, i, 0, "the original does not import gregjones/httpcache")
	original[i] = after
	slices.Sort(original)
	assert.Equal(t, original, moved, "the migrated program differs by more than its import path")
}

// origin is the service the program fetches from: /fresh is fresh for a
// minute, /etag must be revalidated each time (ETag "v1", 304 to
// If-None-Match), /sie is stale at once but may be served stale for a
// minute if the origin fails (RFC 5861 stale-if-error), which it does while
// failing is set.
type origin struct {
	*httptest.Server
	prefix       string // a path prefix of its own, so that runs share no key in Redis
	requests     atomic.Int64
	conditionals atomic.Int64 // requests with If-None-Match: "v1"
	failing      atomic.Bool
}

func newOrigin(t *testing.T) *origin {
	o := &origin{prefix: "/" + rand.Text()}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		if o.failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		switch strings.TrimPrefix(r.URL.Path, o.prefix) {
		case "/fresh":
			w.Header().Set("Cache-Control", "max-age=60")
		case "/etag":
			w.Header().Set("Cache-Control", "max-age=0")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				o.conditionals.Add(1)
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case "/sie":
			w.Header().Set("Cache-Control", "max-age=0, stale-if-error=60")
		}
		fmt.Fprint(w, "body of "+r.URL.Path)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *origin) url(path string) string { return o.URL + o.prefix + path }

// redisAddr is the Redis server of the redis store's runs. Without one,
// they fail in CI (CI=true), where bash .ci/run starts one, and skip, saying
// so, elsewhere, as rediscache's tests do.
func redisAddr(t *testing.T) string {
	addr := os.Getenv("ACACHE_REDIS_ADDR")
	if addr == "" {
		const how = "set ACACHE_REDIS_ADDR=127.0.0.1:6379 (bash .ci/run starts a server)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("a Redis server is needed in CI: %s", how)
		}
		t.Skipf("no Redis server: %s", how)
	}
	return addr
}

func TestMigratedProgramCaches(t *testing.T) {
	for _, kind := range []string{"memory", "disk", "redis"} {
		for version, newClient := range versions {
			t.Run(kind+"/"+version, func(t *testing.T) {
				dir, addr := filepath.Join(t.TempDir(), "cache"), ""
				if kind == "redis" {
					addr = redisAddr(t)
				}
				open := func() client {
					c, err := newClient(kind, dir, addr)
					require.NoError(t, err)
					t.Cleanup(func() { c.Close() })
					return c
				}
				checkCaching(t, newOrigin(t), open, kind != "memory")
			})
		}
	}
}

// checkCaching runs the program's requests against o through clients that
// open makes, and checks what gregjones/httpcache's users rely on: hits
// marked X-From-Cache, revalidation answered with 304s, stale-if-error, and
// CachedResponse; over a store that outlives the process (persistent), a
// new client serves what an earlier one stored.
func checkCaching(t *testing.T, o *origin, open func() client, persistent bool) {
	c := open()
	fetch := func(c client, path string, wantCached bool) {
		t.Helper()
		body, cached, err := c.Fetch(o.url(path))
		require.NoError(t, err, path)
		assert.Equal(t, "body of "+o.prefix+path, body, path)
		assert.Equal(t, wantCached, cached, "%s: X-From-Cache", path)
	}

	fetch(c, "/fresh", false)
	fetch(c, "/fresh", true)
	assert.EqualValues(t, 1, o.requests.Load(), "requests for /fresh that reached the origin")

	fetch(c, "/etag", false)
	fetch(c, "/etag", true)
	fetch(c, "/etag", true)
	assert.EqualValues(t, 2, o.conditionals.Load(), "revalidations of /etag answered with 304")

	fetch(c, "/sie", false)
	o.failing.Store(true)
	fetch(c, "/sie", true)
	o.failing.Store(false)

	body, ok, err := c.Peek(o.url("/fresh"))
	require.NoError(t, err)
	assert.True(t, ok, "CachedResponse found nothing for /fresh")
	assert.Equal(t, "body of "+o.prefix+"/fresh", body)
	_, ok, err = c.Peek(o.url("/never-fetched"))
	require.NoError(t, err)
	assert.False(t, ok, "CachedResponse found a response never fetched")

	if persistent {
		before := o.requests.Load()
		fetch(open(), "/fresh", true)
		assert.Equal(t, before, o.requests.Load(), "a new client went to the origin for what is stored")
	}
}
