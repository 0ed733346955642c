package acache

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cacheSettings are the settings of a Cache that options set.
type cacheSettings struct {
	maxEntries     int
	maxBytes       int64
	maxBodySize    int64
	shared         bool
	name           string
	storeUnframed  bool
	backendTimeout time.Duration
	targets        []string
}

func settingsOf(c *Cache) cacheSettings {
	return cacheSettings{c.maxEntries, c.maxBytes, c.maxBodySize, c.shared, c.name,
		c.storeUnframed, c.backendTimeout, c.targets}
}

// TestOptions checks that each option sets what its documentation says, and
// that the values documented to mean the default do.
func TestOptions(t *testing.T) {
	t.Parallel()
	defaults := cacheSettings{
		maxEntries:     defaultMaxEntries,
		maxBytes:       defaultMaxBytes,
		maxBodySize:    defaultMaxBodySize,
		name:           "acache",
		backendTimeout: defaultBackendTimeout,
	}
	assert.Equal(t, defaults, settingsOf(NewCache(nil)), "the defaults")
	for _, tc := range []struct {
		name string
		opts []Option
		want func(s *cacheSettings)
	}{
		{"the zero Option does nothing", []Option{{}}, func(*cacheSettings) {}},
		{"WithMaxEntries", []Option{WithMaxEntries(5)}, func(s *cacheSettings) { s.maxEntries = 5 }},
		{"WithMaxEntries(0) is the default", []Option{WithMaxEntries(0)}, func(*cacheSettings) {}},
		{"WithMaxEntries(-1) is the default", []Option{WithMaxEntries(-1)}, func(*cacheSettings) {}},
		{"the last of two options wins", []Option{WithMaxEntries(5), WithMaxEntries(7)}, func(s *cacheSettings) { s.maxEntries = 7 }},
		{"WithMaxBytes bounds the body size too", []Option{WithMaxBytes(1000)}, func(s *cacheSettings) {
			s.maxBytes, s.maxBodySize = 1000, 1000
		}},
		{"WithMaxBytes(0) is the default", []Option{WithMaxBytes(0)}, func(*cacheSettings) {}},
		{"WithMaxBodySize", []Option{WithMaxBodySize(10)}, func(s *cacheSettings) { s.maxBodySize = 10 }},
		{"WithMaxBodySize(-1) is the default", []Option{WithMaxBodySize(-1)}, func(*cacheSettings) {}},
		{"WithMaxBodySize above the byte limit is the byte limit", []Option{WithMaxBodySize(defaultMaxBytes + 1)},
			func(s *cacheSettings) { s.maxBodySize = defaultMaxBytes }},
		{"WithShared obeys CDN-Cache-Control", []Option{WithShared()}, func(s *cacheSettings) {
			s.shared, s.targets = true, []string{"Cdn-Cache-Control"}
		}},
		{"WithName", []Option{WithName("edge 1")}, func(s *cacheSettings) { s.name = "edge 1" }},
		{`WithName("") is the default`, []Option{WithName("")}, func(*cacheSettings) {}},
		{"WithUnframedBodies", []Option{WithUnframedBodies()}, func(s *cacheSettings) { s.storeUnframed = true }},
		{"WithBackendTimeout", []Option{WithBackendTimeout(time.Minute)}, func(s *cacheSettings) { s.backendTimeout = time.Minute }},
		{"WithBackendTimeout(0) is the default", []Option{WithBackendTimeout(0)}, func(*cacheSettings) {}},
		{"WithTargetedField, canonical, in the order given", []Option{WithTargetedField("my-cache-control"), WithTargetedField(""), WithTargetedField("Other-CC")},
			func(s *cacheSettings) { s.targets = []string{"My-Cache-Control", "Other-Cc"} }},
		{"WithTargetedField before CDN-Cache-Control in a shared Cache", []Option{WithShared(), WithTargetedField("my-cc")},
			func(s *cacheSettings) { s.shared, s.targets = true, []string{"My-Cc", "Cdn-Cache-Control"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := defaults
			tc.want(&want)
			assert.Equal(t, want, settingsOf(NewCache(nil, tc.opts...)), "the settings of NewCache(nil, %s)", tc.name)
		})
	}
}

func TestOptionsClockAndLogger(t *testing.T) {
	t.Parallel()
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	assert.Equal(t, fixed, NewCache(nil, WithClock(func() time.Time { return fixed })).now(), "WithClock")
	before := time.Now()
	now := NewCache(nil, WithClock(nil)).now()
	assert.False(t, now.Before(before) || now.After(time.Now()), "WithClock(nil) reads time.Now; got %v", now)

	var logs logBuffer
	l := logs.logger()
	assert.Same(t, l, NewCache(nil, WithLogger(l)).logger, "WithLogger")
	for _, c := range []*Cache{NewCache(nil), NewCache(nil, WithLogger(nil))} {
		assert.False(t, c.logger.Enabled(context.Background(), slog.LevelError), "the default logger discards")
	}
}

func TestOptionsPartitionSecret(t *testing.T) {
	t.Parallel()
	auth := []string{"Bearer alice"}
	secret := []byte("shared secret")
	a, b := NewCache(nil, WithPartitionSecret(secret)), NewCache(nil, WithPartitionSecret(secret))
	assert.Equal(t, a.partitionOf(auth, ""), b.partitionOf(auth, ""), "two Caches with one secret partition alike")
	before := a.partitionOf(auth, "")
	secret[0] = 'X' // a Cache keeps its own copy
	assert.Equal(t, before, a.partitionOf(auth, ""), "changing the secret after NewCache changed the Cache's partitions")
	assert.NotEqual(t, a.partitionOf(auth, ""), NewCache(nil, WithPartitionSecret([]byte("another"))).partitionOf(auth, ""),
		"two secrets partition alike")
	assert.NotEqual(t, NewCache(nil, WithPartitionSecret(nil)).partitionOf(auth, ""), NewCache(nil, WithPartitionSecret([]byte{})).partitionOf(auth, ""),
		"an empty secret must leave the random default, which differs per Cache")
}

func TestOptionsPartitionBy(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "tenant=%q auth=%q", r.Header.Get("X-Tenant"), r.Header.Get("Authorization"))
	})
	byTenant := func(req *http.Request) string { return req.Header.Get("X-Tenant") }
	tr := newTestTransport(clock, WithPartitionBy(byTenant))
	get := func(tenant, auth string) (bool, string) {
		t.Helper()
		h := http.Header{}
		if tenant != "" {
			h.Set("X-Tenant", tenant)
		}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		resp, body := fetch(t, tr, "GET", o.URL+"/report", h)
		return isHit(resp), body
	}

	_, body := get("a", "")
	assert.Equal(t, `tenant="a" auth=""`, body)
	hit, body := get("b", "")
	assert.False(t, hit, "tenant b was served tenant a's response")
	assert.Equal(t, `tenant="b" auth=""`, body)
	hit, body = get("a", "")
	assert.True(t, hit)
	assert.Equal(t, `tenant="a" auth=""`, body)
	hit, _ = get("", "")
	assert.False(t, hit, "a request without a tenant shares no tenant's partition")
	hit, _ = get("", "")
	assert.True(t, hit, "an empty value is no partition: such requests share one")

	hit, body = get("a", "Bearer x")
	assert.False(t, hit, "the partition adds to Authorization, it does not replace it")
	assert.Equal(t, `tenant="a" auth="Bearer x"`, body)

	// An unsafe request by one tenant removes every tenant's copy (RFC 9111
	// Section 4.4).
	req, err := http.NewRequest(http.MethodPost, o.URL+"/report", nil)
	require.NoError(t, err)
	req.Header.Set("X-Tenant", "a")
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	hit, _ = get("b", "")
	assert.False(t, hit, "tenant b's copy outlived tenant a's POST")

	// The value is hashed into the key, never kept in clear.
	c := tr.Cache
	keyReq, _ := http.NewRequest(http.MethodGet, o.URL+"/report", nil)
	keyReq.Header.Set("X-Tenant", "tenant-secret-name")
	assert.NotContains(t, c.key(keyReq), "tenant-secret-name")
	assert.Equal(t, c.key(keyReq), c.key(keyReq.Clone(keyReq.Context())))
}

func TestOptionsPartitionByFromContextAndPanics(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "ok")
	})
	type tenantKey struct{}
	tr := newTestTransport(clock, WithPartitionBy(func(req *http.Request) string {
		v, _ := req.Context().Value(tenantKey{}).(string)
		if v == "panic" {
			panic("partition function failed")
		}
		return v
	}))
	get := func(tenant string) (*http.Response, error) {
		ctx := context.WithValue(context.Background(), tenantKey{}, tenant)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL+"/", nil)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	get("a")
	resp, _ := get("a")
	assert.True(t, isHit(resp))
	resp, _ = get("b")
	assert.False(t, isHit(resp), "a context value partitions")

	resp, err := get("panic")
	require.NoError(t, err, "a partition function that panics costs the cache, not the request")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Positive(t, tr.Cache.Stats().Errors)
}
