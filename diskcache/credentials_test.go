package diskcache

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCredentialsAreNeverStoredInClear checks that the file holds no
// Authorization, Cookie or Proxy-Authorization value of a response that
// varies on them (RFC 9111 Section 4.1), only their keyed hash, and that the
// next run, with the same partition secret, still matches it.
func TestCredentialsAreNeverStoredInClear(t *testing.T) {
	t.Parallel()
	const token, cookie, proxy = "SECRET-TOKEN-4f1c", "SECRET-COOKIE-9b2e", "U0VDUkVULVBST1hZ"
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Vary", "Authorization, Cookie, Proxy-Authorization")
		io.WriteString(w, "varied")
	}))
	t.Cleanup(o.Close)
	dir := t.TempDir()
	opts := []acache.Option{acache.WithShared(), acache.WithPartitionSecret([]byte("a secret every run shares"))}
	get := func(rt http.RoundTripper) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, o.URL+"/c", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Cookie", "session="+cookie)
		req.Header.Set("Proxy-Authorization", "Basic "+proxy)
		resp, err := rt.RoundTrip(req)
		require.NoError(t, err)
		io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp
	}

	first, err := Open(dir)
	require.NoError(t, err)
	tr := acache.NewTransport(acache.NewCache(first, append([]acache.Option{acache.WithBackendTimeout(liveness)}, opts...)...))
	get(tr)
	tr.Close()
	require.NoError(t, first.Close())

	data, err := os.ReadFile(filepath.Join(dir, fileName))
	require.NoError(t, err)
	require.True(t, bytes.Contains(data, []byte("varied")), "the response was not stored")
	for _, secret := range []string{token, cookie, proxy} {
		assert.False(t, bytes.Contains(data, []byte(secret)), "the file holds the credential %q in clear", secret)
	}

	second := openDir(t, dir)
	resp := get(newTransport(t, second, opts...))
	status, _ := acache.CacheStatusOf(resp)
	assert.True(t, status.Hit, "the next run with the same secret matches the credentials: %q", resp.Header.Get("Cache-Status"))
}
