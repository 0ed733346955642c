package rediscache

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCredentialsAreNeverStoredInClear checks that what Redis holds of a
// response that varies on credentials (RFC 9111 Section 4.1) has no
// Authorization, Cookie or Proxy-Authorization value in clear, only their
// keyed hash, and that a second process with the same partition secret
// still matches it.
func TestCredentialsAreNeverStoredInClear(t *testing.T) {
	t.Parallel()
	const token, cookie, proxy = "SECRET-TOKEN-4f1c", "SECRET-COOKIE-9b2e", "U0VDUkVULVBST1hZ"
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Vary", "Authorization, Cookie, Proxy-Authorization")
		io.WriteString(w, "varied")
	}))
	t.Cleanup(o.Close)
	client := newClient(t)
	prefix := newPrefix(t, client)
	secret := []byte("a secret every process shares")
	opts := []acache.Option{acache.WithShared(), acache.WithPartitionSecret(secret)}
	a, _, _ := newTransport(t, client.Options().Addr, prefix, opts...)
	b, _, _ := newTransport(t, client.Options().Addr, prefix, opts...)
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
	get(a)
	resp := get(b)
	status, _ := acache.CacheStatusOf(resp)
	assert.True(t, status.Hit, "another process with the same secret matches the credentials: %q", resp.Header.Get("Cache-Status"))

	ctx := context.Background()
	iter := client.Scan(ctx, 0, "{"+prefix+":*", 1000).Iterator()
	values := 0
	for iter.Next(ctx) {
		key := iter.Val()
		if typ, _ := client.Type(ctx, key).Result(); typ != "string" {
			continue
		}
		data, err := client.Get(ctx, key).Bytes()
		require.NoError(t, err)
		values++
		for _, secret := range []string{token, cookie, proxy} {
			assert.False(t, strings.Contains(string(data), secret), "the value of %q holds a credential in clear", key)
		}
	}
	require.NoError(t, iter.Err())
	assert.NotZero(t, values, "nothing was stored")
}

// TestNilClientBypassesTheCache checks that a Store made from a nil client,
// a mistake New cannot report, makes the Cache send every request to the
// origin and say why ("nil backend"), rather than fail each with a cache
// error.
func TestNilClientBypassesTheCache(t *testing.T) {
	t.Parallel()
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "from the origin")
	}))
	t.Cleanup(o.Close)
	cache := acache.NewCache(New(nil))
	tr := acache.NewTransport(cache)
	t.Cleanup(func() { tr.Close() })
	for range 3 {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, o.URL+"/a", nil)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "from the origin", string(body))
		if status, _ := acache.CacheStatusOf(resp); status.Detail != "nil backend" {
			// The first request learns it from the Store's first error.
			assert.Equal(t, "", status.Detail, "Cache-Status %q", resp.Header.Get("Cache-Status"))
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, o.URL+"/a", nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	status, _ := acache.CacheStatusOf(resp)
	assert.Equal(t, "nil backend", status.Detail)
	assert.Zero(t, cache.Stats().Errors, "a misconfiguration is said once, not counted per request")
}
