package httpcache_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/httpcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Code written for gregjones/httpcache reads, seeds and removes responses
// by its keys, a URL (or "METHOD URL"), and reads them as
// httputil.DumpResponse bytes.
func TestMemoryCacheTakesGregjonesKeys(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello "+r.URL.Path)
	})
	cache := httpcache.NewMemoryCache()
	client := httpcache.NewTransport(cache).Client()

	_, ok := cache.Get(o.URL + "/a")
	assert.False(t, ok, "Get of a URL with nothing stored")
	readAll(t, client, newGet(t, o.URL+"/a"))
	dump, ok := cache.Get(o.URL + "/a")
	require.True(t, ok, "Get of a URL whose response is stored")
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(dump)), nil)
	require.NoError(t, err, "the bytes Get returns are not a response")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "hello /a", string(body))
	assert.Equal(t, "max-age=60", resp.Header.Get("Cache-Control"))
	_, ok = cache.Get("GET " + o.URL + "/a")
	assert.True(t, ok, `Get of "GET URL"`)

	// Delete removes it: the next request goes to the origin.
	cache.Delete(o.URL + "/a")
	_, ok = cache.Get(o.URL + "/a")
	assert.False(t, ok, "Get after Delete")
	second, _ := readAll(t, client, newGet(t, o.URL+"/a"))
	assert.Empty(t, second.Header.Get(httpcache.XFromCache), "served from the cache after Delete")
	assert.EqualValues(t, 2, o.hits.Load(), "requests that reached the origin")

	// Set seeds a response, as gregjones/httpcache stored them; one that
	// must not be stored is not.
	seeded := &http.Response{
		StatusCode: http.StatusOK, ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Cache-Control": {"max-age=60"}, "Date": {time.Now().UTC().Format(http.TimeFormat)}},
		Body:   io.NopCloser(bytes.NewReader([]byte("seeded"))), ContentLength: 6,
	}
	dump, err = httputil.DumpResponse(seeded, true)
	require.NoError(t, err)
	cache.Set(o.URL+"/seeded", dump)
	resp, body2 := readAll(t, client, newGet(t, o.URL+"/seeded"))
	assert.Equal(t, "1", resp.Header.Get(httpcache.XFromCache), "the seeded response was not served")
	assert.Equal(t, "seeded", body2)
	seeded.Header.Set("Cache-Control", "no-store")
	seeded.Body = io.NopCloser(bytes.NewReader([]byte("seeded")))
	dump, err = httputil.DumpResponse(seeded, true)
	require.NoError(t, err)
	cache.Set(o.URL+"/nostore", dump)
	_, ok = cache.Get(o.URL + "/nostore")
	assert.False(t, ok, "a no-store response was stored by Set")
	cache.Set(o.URL+"/garbage", []byte("not a response"))
	_, ok = cache.Get(o.URL + "/garbage")
	assert.False(t, ok, "bytes that are not a response were stored by Set")
	assert.EqualValues(t, 2, o.hits.Load(), "requests that reached the origin")
}

// A MemoryCache inside a Cache of the user's keeps working: the Transport
// stores through its Set, by the keys it gives any Cache.
func TestMemoryCacheWrappedByTheUser(t *testing.T) {
	t.Parallel()
	o := newMigrationOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	wrapped := &wrappedMemory{MemoryCache: httpcache.NewMemoryCache()}
	client := httpcache.NewTransport(wrapped).Client()
	readAll(t, client, newGet(t, o.URL))
	resp, body := readAll(t, client, newGet(t, o.URL))
	assert.Equal(t, "1", resp.Header.Get(httpcache.XFromCache))
	assert.Equal(t, "hello", body)
	assert.EqualValues(t, 1, o.hits.Load(), "requests that reached the origin")
	assert.EqualValues(t, 1, wrapped.sets.Load(), "stores through the user's Cache")
}

func TestDate(t *testing.T) {
	t.Parallel()
	want := time.Date(1994, time.November, 6, 8, 49, 37, 0, time.UTC)
	for _, value := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT",  // IMF-fixdate
		"Sunday, 06-Nov-94 08:49:37 GMT", // obsolete RFC 850
		"Sun Nov  6 08:49:37 1994",       // ANSI C asctime()
	} {
		date, err := httpcache.Date(http.Header{"Date": {value}})
		require.NoError(t, err, value)
		assert.True(t, want.Equal(date), "%s: %v", value, date)
	}
	_, err := httpcache.Date(http.Header{})
	assert.ErrorIs(t, err, httpcache.ErrNoDateHeader)
	_, err = httpcache.Date(http.Header{"Date": {"yesterday"}})
	assert.Error(t, err)
}

// BenchmarkHitMemoryCache measures a hit through this package's Transport
// over a MemoryCache, against acache's own Transport over its LRU
// (BenchmarkHitNative) and this package's over a map of keys and bytes,
// which decodes an entry on every hit (BenchmarkHitMapCache).
func BenchmarkHitMemoryCache(b *testing.B) {
	benchmarkHit(b, httpcache.NewTransport(httpcache.NewMemoryCache()))
}

func BenchmarkHitNative(b *testing.B) {
	benchmarkHit(b, acache.NewTransport(nil))
}

func BenchmarkHitMapCache(b *testing.B) {
	benchmarkHit(b, httpcache.NewTransport(newMapCache()))
}

func benchmarkHit(b *testing.B, rt http.RoundTripper) {
	body := bytes.Repeat([]byte("x"), 1024)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(body)
	}))
	defer origin.Close()
	req, err := http.NewRequest(http.MethodGet, origin.URL+"/hit", nil)
	require.NoError(b, err)
	fetch := func() {
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fetch()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		fetch()
	}
}
