package acache_test

// Tests for what an adversarial probe of acache found: each protects a user
// from a defect that once let a slow backend stall requests, or one user's
// response reach another. They use the exported API only, with the scripted
// origin and the fault-injecting backend of package acachetest.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
)

// liveness bounds how long a test waits for something that must happen
// promptly; it is a hang detector, not a speed assertion.
const liveness = 10 * time.Second

// countingOrigin is an httptest origin that counts its requests.
type countingOrigin struct {
	*httptest.Server
	hits atomic.Int64
}

func newCountingOrigin(t *testing.T, handler http.HandlerFunc) *countingOrigin {
	t.Helper()
	o := &countingOrigin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		handler(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// newInner returns a fresh net/http transport whose idle connections are
// closed when the test ends, so that no goroutine outlives it.
func newInner(t *testing.T) *http.Transport {
	inner := &http.Transport{}
	t.Cleanup(inner.CloseIdleConnections)
	return inner
}

// fetchVia sends a GET through rt with the given header fields (names as given,
// not canonicalised) and returns the response with its body read.
func fetchVia(t *testing.T, rt http.RoundTripper, url string, fields map[string][]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for name, values := range fields {
		req.Header[name] = values
	}
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, string(body)
}

func hit(resp *http.Response) bool {
	s, ok := acache.CacheStatusOf(resp)
	return ok && s.Hit
}

// within runs f and fails the test if it has not returned within liveness.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(liveness):
		t.Fatalf("%s did not return: a hung backend holds the caller", what)
	}
}

func TestReliabilityHungBackendSetDoesNotHoldCallers(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "body of "+r.URL.Path)
	})
	faulty := acachetest.NewFaultyBackend(acache.NewLRU())
	t.Cleanup(faulty.Release)
	cache := acache.NewCache(faulty, acache.WithBackendTimeout(time.Hour))
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}

	// A healthy backend (not the in-memory LRU, so called off the caller's
	// goroutine): a body read to its end is stored before the last Read
	// returns, and the next request is a hit.
	_, body := fetchVia(t, tr, origin.URL+"/healthy", nil)
	require.Equal(t, "body of /healthy", body)
	resp, _ := fetchVia(t, tr, origin.URL+"/healthy", nil)
	assert.True(t, hit(resp), "a caller that read to EOF and asked again missed: the store was not done by the last Read")

	faulty.Inject(acachetest.OpSet, acachetest.Fault{Hang: true, IgnoreContext: true})
	within(t, "a body whose store hangs, read until the caller's deadline", func() {
		// The caller's deadline passes once the store hangs: a timer could
		// pass before the origin answered on a loaded machine.
		ctx, expire := context.WithCancelCause(context.Background())
		defer expire(nil)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, origin.URL+"/hung", nil)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		read := make(chan string, 1)
		go func() {
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			read <- string(got)
		}()
		require.Eventually(t, func() bool { return faulty.Faults(acachetest.OpSet) == 1 }, liveness, time.Millisecond,
			"the store of a body read to its end did not start")
		expire(context.DeadlineExceeded)
		assert.Equal(t, "body of /hung", <-read, "the caller gets the origin's body whatever the backend does")
	})
	within(t, "Stats while a store hangs", func() { cache.Stats() })

	// The backend timeout bounds the wait when the caller has no deadline.
	short := acache.NewCache(faulty, acache.WithBackendTimeout(50*time.Millisecond))
	tr2 := &acache.Transport{Transport: newInner(t), Cache: short}
	within(t, "a body whose store hangs, read without a deadline", func() {
		_, got := fetchVia(t, tr2, origin.URL+"/other", nil)
		assert.Equal(t, "body of /other", got)
	})
	assert.Positive(t, short.Stats().Errors, "a store that timed out is reported")

	// Another key with a healthy store is not held up by the hung one, the
	// store of /hung: with the hour's backend timeout of cache, one that
	// waited for it would not return within liveness.
	faulty.Clear(acachetest.OpSet)
	within(t, "a store for another key", func() {
		fetchVia(t, tr, origin.URL+"/third", nil)
		resp, _ := fetchVia(t, tr, origin.URL+"/third", nil)
		assert.True(t, hit(resp), "a store for another key waited on the hung one")
	})
}

func TestReliabilityBackendGetIgnoringItsContextDoesNotOutliveTheRequest(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "fresh")
	})
	faulty := acachetest.NewFaultyBackend(acache.NewLRU())
	t.Cleanup(faulty.Release)
	faulty.Inject(acachetest.OpGet, acachetest.Fault{Hang: true, IgnoreContext: true})

	tr := &acache.Transport{Transport: newInner(t), Cache: acache.NewCache(faulty, acache.WithBackendTimeout(time.Hour))}
	// The Get takes a quarter of the deadline, and the origin has the rest:
	// 1.5 s, far more than it takes on a loaded machine (the exact share is
	// TestBackendCallsTakeAQuarterOfTheRequestsTime's, in a bubble).
	within(t, "a request with a 2 s deadline over a Get that ignores its context", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, origin.URL+"/", nil)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err, "the backend took the request's deadline: it waited past its quarter of it")
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, "fresh", string(body), "the origin answers within the request's deadline")
	})

	// Without a deadline of its own, the request waits the backend timeout,
	// then the origin answers.
	cache := acache.NewCache(faulty, acache.WithBackendTimeout(50*time.Millisecond))
	tr = &acache.Transport{Transport: newInner(t), Cache: cache}
	within(t, "a request over a hung Get", func() {
		_, body := fetchVia(t, tr, origin.URL+"/", nil)
		assert.Equal(t, "fresh", body, "a hung backend must cost a miss, not the request")
	})
	assert.Positive(t, cache.Stats().Errors, "the timed-out lookup is reported")
}

// echoCredentials answers with the request's credentials in the body, fresh
// for a minute, so a response served to the wrong user shows in the body.
func echoCredentials(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=60")
	fmt.Fprintf(w, "auth=%q cookie=%q", r.Header.Get("Authorization"), r.Header.Get("Cookie"))
}

func TestSecurityHeaderNamesAreReadCaseInsensitively(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			t.Parallel()
			origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/vary" {
					w.Header().Set("Vary", "Cookie")
				}
				echoCredentials(w, r)
			})
			var opts []acache.Option
			if shared {
				opts = append(opts, acache.WithShared())
			}
			tr := &acache.Transport{Transport: newInner(t), Cache: acache.NewCache(nil, opts...)}

			_, alice := fetchVia(t, tr, origin.URL+"/private", map[string][]string{"authorization": {"Bearer alice"}})
			require.Contains(t, alice, "alice", "the origin honours a lower-case authorization field")
			_, bob := fetchVia(t, tr, origin.URL+"/private", map[string][]string{"Authorization": {"Bearer bob"}})
			assert.NotContains(t, bob, "alice", "bob got alice's response")
			_, anonymous := fetchVia(t, tr, origin.URL+"/private", nil)
			assert.NotContains(t, anonymous, "alice", "an anonymous user got alice's response")

			_, first := fetchVia(t, tr, origin.URL+"/vary", map[string][]string{"cookie": {"session=alice"}})
			require.Contains(t, first, "alice")
			_, second := fetchVia(t, tr, origin.URL+"/vary", map[string][]string{"Cookie": {"session=bob"}})
			assert.NotContains(t, second, "alice", "Vary: Cookie ignored a lower-case cookie field")

			before := origin.hits.Load()
			fetchVia(t, tr, origin.URL+"/nostore", map[string][]string{"cache-control": {"no-store"}})
			fetchVia(t, tr, origin.URL+"/nostore", nil)
			assert.Equal(t, before+2, origin.hits.Load(), "a lower-case cache-control: no-store request was stored")
		})
	}
}

func TestSecurityHostFieldCannotPoisonAnotherSite(t *testing.T) {
	t.Parallel()
	// The inner transport stands for the network: it answers as the host the
	// URL names, which is the host contacted, whatever the Host field says.
	inner := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		body := "from " + req.URL.Host
		return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Cache-Control": {"max-age=60"}, "Content-Length": {fmt.Sprint(len(body))}},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: req}, nil
	})
	for _, shared := range []bool{false, true} {
		var opts []acache.Option
		if shared {
			opts = append(opts, acache.WithShared())
		}
		tr := &acache.Transport{Transport: inner, Cache: acache.NewCache(nil, opts...)}
		req, _ := http.NewRequest(http.MethodGet, "http://attacker.example/index", nil)
		req.Host = "victim.example"
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()

		resp, body := fetchVia(t, tr, "http://victim.example/index", nil)
		assert.Equal(t, "from victim.example", body, "shared=%v: the victim's URL served the attacker's body", shared)
		assert.False(t, hit(resp), "shared=%v", shared)

		// The same request again is still a hit: the virtual host is keyed.
		req, _ = http.NewRequest(http.MethodGet, "http://attacker.example/index", nil)
		req.Host = "victim.example"
		resp, err = tr.RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.True(t, hit(resp), "shared=%v: a request with a Host field is never cached", shared)
	}
}

func TestRFC9111_4_2_3_AgeSaturatesInsteadOfWrapping(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", "Mon, 01 Jan 1001 00:00:00 GMT")
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprint(w, "ancient")
	})
	tr := &acache.Transport{Transport: newInner(t)}
	fetchVia(t, tr, origin.URL+"/", nil)
	resp, _ := fetchVia(t, tr, origin.URL+"/", nil)
	assert.False(t, hit(resp), "a response dated in 1001 with max-age=60 was served as fresh")
	assert.Equal(t, int64(2), origin.hits.Load(), "the origin was never asked again")
	if age := resp.Header.Get("Age"); age != "" {
		assert.False(t, strings.HasPrefix(age, "-"), "Age %s is negative", age)
	}

	t.Run("a decoded entry with zero times", func(t *testing.T) {
		t.Parallel()
		origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Age", "5")
			w.Header().Set("ETag", `"v1"`)
			fmt.Fprint(w, "body")
		})
		faulty := acachetest.NewFaultyBackend(acache.NewLRU())
		faulty.Inject(acachetest.OpGet, acachetest.Fault{Corrupt: func(_ string, e *acache.Entry) *acache.Entry {
			e.RequestTime, e.ResponseTime = time.Time{}, time.Time{}
			return e
		}})
		tr := &acache.Transport{Transport: newInner(t), Cache: acache.NewCache(faulty)}
		fetchVia(t, tr, origin.URL+"/", nil)
		resp, _ := fetchVia(t, tr, origin.URL+"/", nil)
		assert.False(t, hit(resp), "an entry received at the zero time was served as fresh")
		assert.Equal(t, int64(2), origin.hits.Load())
	})
}

func gzipped(t *testing.T, members ...string) []byte {
	var buf bytes.Buffer
	for _, m := range members {
		zw := gzip.NewWriter(&buf)
		_, err := zw.Write([]byte(m))
		require.NoError(t, err)
		require.NoError(t, zw.Close())
	}
	return buf.Bytes()
}

func TestReliabilityTruncatedGzipBodyIsNotStored(t *testing.T) {
	t.Parallel()
	first := gzipped(t, "first member;")
	whole := gzipped(t, "first member;", "second member")
	origin := acachetest.NewOrigin(t, func(req *http.Request) acachetest.Reply {
		header := http.Header{"Content-Encoding": {"gzip"}, "Cache-Control": {"max-age=60"}}
		if req.URL.Path == "/framed" {
			return acachetest.Reply{Header: header, Body: whole, Framing: acachetest.ContentLength}
		}
		// One member, then the connection closes: the second never comes.
		return acachetest.Reply{Header: header, Body: whole, Framing: acachetest.CloseDelimited,
			Truncate: true, TruncateAt: len(first), Cut: acachetest.CutClose}
	})
	tr := &acache.Transport{Transport: newInner(t)}
	_, body := fetchVia(t, tr, origin.URL+"/cut", nil)
	require.Equal(t, "first member;", body, "Go's gzip reader takes a cut at a member boundary as the end")
	resp, _ := fetchVia(t, tr, origin.URL+"/cut", nil)
	assert.False(t, hit(resp), "a gzip body cut at a member boundary was stored as complete")
	assert.Equal(t, int64(2), origin.RequestsTo("/cut"))

	_, body = fetchVia(t, tr, origin.URL+"/framed", nil)
	require.Equal(t, "first member;second member", body)
	resp, _ = fetchVia(t, tr, origin.URL+"/framed", nil)
	assert.True(t, hit(resp), "a gzip body framed by Content-Length is proven complete and stored")
}

func TestReliabilityCacheThatCannotEvictDoesNotGrow(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write(bytes.Repeat([]byte("x"), 512))
	})
	for _, op := range []acachetest.Op{acachetest.OpLen, acachetest.OpPopOldest} {
		inner := acache.NewLRU()
		faulty := acachetest.NewFaultyBackend(inner)
		faulty.Inject(op, acachetest.Fault{Err: errors.New("injected")})
		cache := acache.NewCache(faulty, acache.WithMaxEntries(5), acache.WithMaxBytes(64<<10))
		tr := &acache.Transport{Transport: newInner(t), Cache: cache}
		for i := range 50 {
			fetchVia(t, tr, fmt.Sprintf("%s/%d", origin.URL, i), nil)
		}
		n, _ := inner.Len(context.Background())
		assert.LessOrEqual(t, n, 5, "with %s failing the store grew past WithMaxEntries(5)", op)
		assert.Positive(t, cache.Stats().Errors, "the failures are reported")
	}
}

func TestSecurityVaryWithManyNamesIsNotStored(t *testing.T) {
	t.Parallel()
	names := make([]string, 10_000)
	for i := range names {
		names[i] = fmt.Sprintf("X-H%d", i)
	}
	vary := strings.Join(names, ", ")
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", vary)
		fmt.Fprint(w, "varied")
	})
	tr := &acache.Transport{Transport: newInner(t)}
	resp, _ := fetchVia(t, tr, origin.URL+"/", nil)
	status, _ := acache.CacheStatusOf(resp)
	assert.False(t, status.Stored, "a response varying on 10,000 fields was stored; matching it costs time the origin chooses")
	resp, _ = fetchVia(t, tr, origin.URL+"/", nil)
	assert.False(t, hit(resp))
}

func TestReliabilityBodiesInFlightStayWithinMaxBytes(t *testing.T) {
	// Not parallel: it measures the heap, which the tests beside it would
	// grow, the more so on a loaded machine where they overlap longer.
	const announced = 1 << 20
	origin := acachetest.NewOrigin(t, func(req *http.Request) acachetest.Reply {
		return acachetest.Reply{Header: http.Header{"Cache-Control": {"max-age=60"}},
			Body: bytes.Repeat([]byte("y"), announced), Framing: acachetest.ContentLength,
			Truncate: true, TruncateAt: 1, Cut: acachetest.CutStall}
	})
	cache := acache.NewCache(nil, acache.WithMaxBytes(1<<20))
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const callers = 64
	bodies := make([]io.ReadCloser, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			resp, err := tr.RoundTrip(mustRequest(t, fmt.Sprintf("%s/%d", origin.URL, i)))
			if !assert.NoError(t, err) {
				return
			}
			one := make([]byte, 1)
			_, err = io.ReadFull(resp.Body, one)
			assert.NoError(t, err)
			bodies[i] = resp.Body
		})
	}
	wg.Wait()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	inFlight := cache.Stats().InFlightBytes
	for _, b := range bodies {
		if b != nil {
			b.Close()
		}
	}
	assert.LessOrEqual(t, inFlight, int64(callers*512), "copies grew ahead of the bytes that arrived")
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, grown, int64(16<<20), "64 bodies announcing 1 MiB, one byte each received, grew the heap by %d bytes", grown)
	assert.Zero(t, cache.Stats().InFlightBytes, "closed bodies still hold their reservation")
}

func mustRequest(t *testing.T, url string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	return req
}

func TestSecurityEntriesFromABackendAreValidated(t *testing.T) {
	t.Parallel()
	const body = "hello world"
	rows := []struct {
		name    string
		corrupt func(e *acache.Entry)
		served  bool // the entry is still fit to serve once its framing is recomputed
		check   func(t *testing.T, resp *http.Response, got string)
	}{
		{name: "a body shorter than its Content-Length", corrupt: func(e *acache.Entry) { e.Body = e.Body[:5] }},
		{name: "a header value with CR LF", corrupt: func(e *acache.Entry) { e.Header["X-Injected"] = []string{"a\r\nSet-Cookie: x=y"} }},
		{name: "a header name that is not a token", corrupt: func(e *acache.Entry) { e.Header["Bad Name"] = []string{"v"} }},
		{name: "a header name that is not canonical", corrupt: func(e *acache.Entry) {
			e.Header["cache-control"] = []string{"no-store"}
		}},
		{name: "an entry among its own variants", corrupt: func(e *acache.Entry) { e.Variants = []*acache.Entry{e} }},
		{name: "a variant under another key", corrupt: func(e *acache.Entry) {
			v := acachetest.CloneEntry(e)
			v.Key += "x"
			e.Variants = []*acache.Entry{v}
		}},
		{name: "an impossible status", corrupt: func(e *acache.Entry) { e.StatusCode = 42 }},
		{name: "a protocol that is not HTTP", corrupt: func(e *acache.Entry) { e.Proto = "SPDY/\r\n" }},
		{name: "framing fields are recomputed", served: true, corrupt: func(e *acache.Entry) {
			e.Header["Transfer-Encoding"] = []string{"chunked"}
			e.Header["Connection"] = []string{"close"}
		}, check: func(t *testing.T, resp *http.Response, got string) {
			assert.Empty(t, resp.Header.Values("Transfer-Encoding"), "a stored Transfer-Encoding was replayed")
			assert.Empty(t, resp.Header.Values("Connection"), "a stored Connection was replayed")
			assert.Equal(t, int64(len(body)), resp.ContentLength)
			assert.Equal(t, body, got)
		}},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				fmt.Fprint(w, body)
			})
			inner := acache.NewLRU()
			faulty := acachetest.NewFaultyBackend(inner)
			faulty.Inject(acachetest.OpGet, acachetest.Fault{Corrupt: func(_ string, e *acache.Entry) *acache.Entry {
				tc.corrupt(e)
				return e
			}})
			cache := acache.NewCache(faulty)
			tr := &acache.Transport{Transport: newInner(t), Cache: cache}
			fetchVia(t, tr, origin.URL+"/", nil)
			resp, got := fetchVia(t, tr, origin.URL+"/", nil)
			if tc.served {
				assert.True(t, hit(resp), "a valid entry was not served")
				tc.check(t, resp, got)
				return
			}
			assert.False(t, hit(resp), "a corrupt entry was served")
			assert.Equal(t, body, got, "the origin's body")
			assert.Equal(t, int64(2), origin.hits.Load())
			assert.Positive(t, cache.Stats().Errors, "the corrupt entry is reported")
			n, _ := inner.Len(context.Background())
			assert.Equal(t, 1, n, "the corrupt entry was removed and the origin's fresh response stored")
		})
	}
}

func TestSecurityRequestsNetHTTPRefusesAreNotAnsweredFromTheCache(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "stored")
	})
	tr := &acache.Transport{Transport: newInner(t)}
	fetchVia(t, tr, origin.URL+"/", nil)
	resp, _ := fetchVia(t, tr, origin.URL+"/", nil)
	require.True(t, hit(resp))
	for _, fields := range []map[string][]string{
		{"X-Value": {"a\r\nb"}},
		{"X-Value": {"a\x00b"}},
		{"X-Value": {"a\nb"}},
		{"Bad Name": {"v"}},
		{"Bad\r\nName": {"v"}},
	} {
		req := mustRequest(t, origin.URL+"/")
		for name, values := range fields {
			req.Header[name] = values
		}
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		assert.Error(t, err, "a request with %q was answered; net/http refuses to send it", fields)
	}
	// net/http cuts a Host at a space or slash instead of refusing it: the
	// cache must not guess what it will send, so it leaves such requests to
	// the origin.
	for _, host := range []string{"bad host", "127.0.0.1/x", "a\x00b"} {
		req := mustRequest(t, origin.URL+"/")
		req.Host = host
		before := origin.hits.Load()
		resp, err := tr.RoundTrip(req)
		if err == nil {
			assert.False(t, hit(resp), "a request with Host %q was answered from the cache", host)
			resp.Body.Close()
			assert.Equal(t, before+1, origin.hits.Load())
		}
	}
}

func TestSecurityNoRequestCanSpellAnotherUsersKey(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, echoCredentials)
	secret := []byte("a secret the attacker learned")
	tr := &acache.Transport{Transport: newInner(t), Cache: acache.NewCache(nil, acache.WithPartitionSecret(secret))}
	_, alice := fetchVia(t, tr, origin.URL+"/p?x", map[string][]string{"Authorization": {"Bearer alice"}})
	require.Contains(t, alice, "alice")

	// An attacker who learned the partition secret computes alice's
	// partition hash and spells it into the query, in the layouts a key
	// could have; none may reach her entry.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("Bearer alice\x00"))
	hash := hex.EncodeToString(mac.Sum(nil)[:16])
	for _, suffix := range []string{" auth=", "\x00auth=", "#auth=", "|auth="} {
		req := mustRequest(t, origin.URL+"/p")
		req.URL.RawQuery = "x" + suffix + hash
		resp, err := tr.RoundTrip(req)
		if err != nil {
			continue // refused: fine
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.NotContains(t, string(got), "alice", "a raw query %q reached alice's entry", req.URL.RawQuery)
	}
}

func TestSecuritySetCookieIsNeverReplayed(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "session", Value: r.URL.Query().Get("user")})
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprint(w, "welcome")
		case "/me":
			w.Header().Set("Cache-Control", "private, max-age=60")
			fmt.Fprintf(w, "cookie=%q", r.Header.Get("Cookie"))
		default:
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprint(w, "public")
		}
	})
	for _, shared := range []bool{false, true} {
		var opts []acache.Option
		if shared {
			opts = append(opts, acache.WithShared())
		}
		tr := &acache.Transport{Transport: newInner(t), Cache: acache.NewCache(nil, opts...)}
		jarA, _ := cookiejar.New(nil)
		jarB, _ := cookiejar.New(nil)
		clientA := &http.Client{Transport: tr, Jar: jarA}
		clientB := &http.Client{Transport: tr, Jar: jarB}
		read := func(c *http.Client, path string) (*http.Response, string) {
			resp, err := c.Get(origin.URL + path)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp, string(body)
		}

		read(clientA, "/login?user=alice")
		require.Len(t, jarA.Cookies(mustRequest(t, origin.URL).URL), 1, "alice's own response sets her cookie")
		resp, _ := read(clientB, "/login?user=alice")
		assert.True(t, hit(resp), "shared=%v", shared)
		assert.Empty(t, jarB.Cookies(mustRequest(t, origin.URL).URL), "shared=%v: a hit put alice's session into bob's jar", shared)

		if !shared {
			// RFC 9111 Section 5.2.2.7: private means one user. Clients with
			// other credentials sharing the Transport do not get it.
			_, mine := read(clientA, "/me")
			require.Contains(t, mine, "alice")
			resp, again := read(clientA, "/me")
			assert.True(t, hit(resp), "the same user reuses her private response")
			assert.Equal(t, mine, again)
			jarB.SetCookies(mustRequest(t, origin.URL).URL, []*http.Cookie{{Name: "session", Value: "bob"}})
			_, bobs := read(clientB, "/me")
			assert.NotContains(t, bobs, "alice", "bob got alice's private response")
			resp, mineAgain := read(clientA, "/me")
			assert.True(t, hit(resp), "bob's private response replaced alice's instead of standing beside it")
			assert.Contains(t, mineAgain, "alice")
		}
		// A response not marked private stays shared, cookies or not.
		read(clientA, "/public")
		resp, _ = read(clientB, "/public")
		assert.True(t, hit(resp), "shared=%v: a request with a Cookie missed a public response", shared)
	}
}

func TestReliabilityCancelledRequestGetsNoHit(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "stored")
	})
	tr := &acache.Transport{Transport: newInner(t)}
	fetchVia(t, tr, origin.URL+"/", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, origin.URL+"/", nil)
	resp, err := tr.RoundTrip(req)
	assert.Nil(t, resp, "a cancelled request got a response")
	assert.ErrorIs(t, err, context.Canceled, "net/http answers a cancelled request with context.Canceled")
}

func TestSecurityCredentialsAddedBelowTheCache(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/public" {
			w.Header().Set("Cache-Control", "public, max-age=60")
			fmt.Fprint(w, "for everyone")
			return
		}
		echoCredentials(w, r)
	})
	type userKey struct{}
	network := newInner(t)
	// An auth transport inside the cache: it adds the user's token, taken
	// from the context, to a copy of the request.
	auth := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		out := req.Clone(req.Context())
		out.Header.Set("Authorization", "Bearer "+req.Context().Value(userKey{}).(string))
		return network.RoundTrip(out)
	})
	for _, shared := range []bool{false, true} {
		var opts []acache.Option
		if shared {
			opts = append(opts, acache.WithShared())
		}
		tr := &acache.Transport{Transport: auth, Cache: acache.NewCache(nil, opts...)}
		as := func(user, path string) (*http.Response, string) {
			req, _ := http.NewRequestWithContext(context.WithValue(context.Background(), userKey{}, user),
				http.MethodGet, origin.URL+path, nil)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp, string(body)
		}
		_, alice := as("alice", "/private")
		require.Contains(t, alice, "user-token-alice"[len("user-token-"):])
		_, bob := as("bob", "/private")
		assert.NotContains(t, bob, "alice", "shared=%v: bob got alice's response, authorised below the cache", shared)

		as("alice", "/public")
		resp, body := as("bob", "/public")
		assert.True(t, hit(resp), "shared=%v: a public response is reusable whoever authorised it (RFC 9111 Section 3.5)", shared)
		assert.Equal(t, "for everyone", body)
	}
}

// gatedLen holds the first Len call after it is armed until the test lets it
// go, so the test can look at the Cache in the middle of a store.
type gatedLen struct {
	acache.Backend
	armed            atomic.Bool
	entered, proceed chan struct{}
}

func (g *gatedLen) Len(ctx context.Context) (int, error) {
	if g.armed.CompareAndSwap(true, false) {
		close(g.entered)
		<-g.proceed
	}
	return g.Backend.Len(ctx)
}

func TestReliabilityStoresNeverPassTheByteLimitEvenForAMoment(t *testing.T) {
	t.Parallel()
	const limit = 4 << 10
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, strings.Repeat("x", 3000))
	})
	gated := &gatedLen{Backend: acache.NewLRU(), entered: make(chan struct{}), proceed: make(chan struct{})}
	cache := acache.NewCache(gated, acache.WithMaxBytes(limit))
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, origin.URL+"/a", nil)

	gated.armed.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fetchVia(t, tr, origin.URL+"/b", nil)
	}()
	<-gated.entered // the store of /b is making room
	s := cache.Stats()
	assert.LessOrEqual(t, s.Bytes+s.InFlightBytes, int64(limit),
		"in the middle of a store the cache counts %+v against a limit of %d: two bodies held at once", s, limit)
	close(gated.proceed)
	<-done
	s = cache.Stats()
	assert.LessOrEqual(t, s.Bytes, int64(limit))
	assert.Equal(t, int64(1), s.Evictions, "the store of /b evicted /a to make room")
	resp, _ := fetchVia(t, tr, origin.URL+"/b", nil)
	assert.True(t, hit(resp))
}

func TestReliabilityHitDoesNotWaitForItsRecencyUpdate(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "fresh")
	})
	faulty := acachetest.NewFaultyBackend(acache.NewLRU())
	t.Cleanup(faulty.Release)
	cache := acache.NewCache(faulty, acache.WithBackendTimeout(time.Hour))
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, origin.URL+"/", nil)

	// A backend's recency update (a write to disk, a round trip to Redis)
	// that hangs: the hits are served all the same, each at once.
	faulty.Inject(acachetest.OpMoveToEnd, acachetest.Fault{Hang: true, IgnoreContext: true})
	within(t, "hits while every MoveToEnd hangs", func() {
		for range 3 {
			resp, body := fetchVia(t, tr, origin.URL+"/", nil)
			assert.True(t, hit(resp))
			assert.Equal(t, "fresh", body)
		}
	})
	assert.Equal(t, int64(1), origin.hits.Load(), "every later request was a hit")
	faulty.Release()
}
