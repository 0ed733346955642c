package diskcache

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/stretchr/testify/require"
)

// openTemp opens a Store in a new temporary directory, closed when t ends.
func openTemp(t testing.TB) *Store {
	t.Helper()
	return openDir(t, t.TempDir())
}

// openDir opens a Store in dir, closed when t ends.
func openDir(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, opts...)
	require.NoError(t, err, "Open(%q)", dir)
	t.Cleanup(func() { s.Close() })
	return s
}

// origin is an httptest server whose responses are fresh for ten minutes,
// counting the requests it gets.
type origin struct {
	*httptest.Server
	requests atomic.Int64
}

func newOrigin(t testing.TB, body []byte) *origin {
	t.Helper()
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Content-Type", "text/plain")
		if body != nil {
			w.Write(body)
			return
		}
		fmt.Fprintf(w, "response for %s", r.URL.Path)
	}))
	t.Cleanup(o.Close)
	return o
}

// liveness bounds how long a test waits for what must happen promptly: far
// above any real delay, even a slow fsync on a loaded machine, so that it
// fails only on a hang. It is also the backend timeout of the tests' Caches.
const liveness = 10 * time.Second

// newTransport returns a Transport over a Cache on s, with a backend timeout
// long enough for a slow fsync (liveness), closed when t ends.
func newTransport(t testing.TB, s *Store, opts ...acache.Option) *acache.Transport {
	t.Helper()
	opts = append([]acache.Option{acache.WithBackendTimeout(liveness)}, opts...)
	tr := acache.NewTransport(acache.NewCache(s, opts...))
	t.Cleanup(func() { tr.Close() })
	return tr
}

// fetch makes a GET request through tr, reads the body and reports whether
// the response was a hit.
func fetch(t testing.TB, tr *acache.Transport, url string) (body string, hit bool) {
	t.Helper()
	resp, err := (&http.Client{Transport: tr}).Get(url)
	require.NoError(t, err, "GET %s", url)
	defer resp.Body.Close()
	var b []byte
	b, err = io.ReadAll(resp.Body)
	require.NoError(t, err, "reading the body of GET %s", url)
	status, _ := acache.CacheStatusOf(resp)
	return string(b), status.Hit
}
