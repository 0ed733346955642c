package acache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testOrigin is an httptest server that counts requests and stamps a Date from
// the test clock, if there is one, unless the handler sets its own.
type testOrigin struct {
	*httptest.Server
	hits atomic.Int64
}

func newOrigin(t *testing.T, clock *testClock, handler http.HandlerFunc) *testOrigin {
	t.Helper()
	o := &testOrigin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		if clock != nil {
			w.Header().Set("Date", clock.Now().Format(http.TimeFormat))
		}
		handler(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// newTestTransport returns a Transport over a fresh Cache on the test clock.
func newTestTransport(clock *testClock, opts ...Option) *Transport {
	opts = append([]Option{WithClock(clock.Now)}, opts...)
	return NewTransport(NewCache(nil, opts...))
}

// fetch sends a request through t and returns the response with its body read.
func fetch(t *testing.T, rt http.RoundTripper, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, string(body)
}

func isHit(resp *http.Response) bool {
	s, ok := CacheStatusOf(resp)
	return ok && s.Hit
}

func TestTransportZeroValueWorks(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	})
	tr := &Transport{}
	for range 2 {
		_, body := fetch(t, tr, "GET", o.URL, nil)
		assert.Equal(t, "hello", body)
	}
	assert.EqualValues(t, 1, o.hits.Load(), "the zero Transport should cache a fresh response")
}

func TestTransportHitIsIndependentCopy(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		fmt.Fprint(w, "stored body")
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "GET", o.URL, nil)

	req, _ := http.NewRequest("GET", o.URL, nil)
	first, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.True(t, isHit(first))
	assert.Same(t, req, first.Request, "a hit must carry the caller's request")
	assert.Equal(t, "1", first.Header.Get("X-From-Cache"))
	assert.EqualValues(t, len("stored body"), first.ContentLength)
	// A caller that scribbles on its response must not change the next hit.
	first.Header.Set("Cache-Control", "no-store")
	first.Header["X-Multi"] = append(first.Header["X-Multi"], "c")
	first.Header["X-Multi"][0] = "changed"
	buf := make([]byte, 6)
	_, err = io.ReadFull(first.Body, buf)
	require.NoError(t, err)
	copy(buf, "XXXXXX")

	second, body := fetch(t, tr, "GET", o.URL, nil)
	assert.True(t, isHit(second))
	assert.Equal(t, "stored body", body)
	assert.Equal(t, "max-age=60", second.Header.Get("Cache-Control"))
	assert.Equal(t, []string{"a", "b"}, second.Header["X-Multi"])
	assert.EqualValues(t, 1, o.hits.Load())
}

func TestTransportHEADHitHasNoBody(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "5")
		if r.Method == "GET" {
			fmt.Fprint(w, "hello")
		}
	})
	tr := newTestTransport(clock)
	fetch(t, tr, "HEAD", o.URL, nil)
	resp, body := fetch(t, tr, "HEAD", o.URL, nil)
	assert.True(t, isHit(resp), "a HEAD response is stored under its own key")
	assert.Empty(t, body)
	assert.Equal(t, http.NoBody, resp.Body)
	assert.EqualValues(t, 5, resp.ContentLength, "a HEAD hit announces the length the origin announced")
	// The stored HEAD response must not answer a GET.
	_, body = fetch(t, tr, "GET", o.URL, nil)
	assert.Equal(t, "hello", body)
	assert.EqualValues(t, 2, o.hits.Load())
}

// countingBody is a request body that counts its Close calls.
type countingBody struct {
	io.Reader
	closes atomic.Int32
}

func (b *countingBody) Close() error {
	b.closes.Add(1)
	return nil
}

func TestTransportContract(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "ok")
	})
	tr := newTestTransport(clock)

	t.Run("request body closed once on miss and hit", func(t *testing.T) {
		for i, want := range []string{"miss", "hit"} {
			body := &countingBody{Reader: strings.NewReader("payload")}
			req, _ := http.NewRequest("GET", o.URL+"/body", body)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			assert.Equal(t, i == 1, isHit(resp), want)
			assert.EqualValues(t, 1, body.closes.Load(), "request body closes on a %s", want)
		}
	})

	t.Run("caller's request is unchanged", func(t *testing.T) {
		req, _ := http.NewRequest("GET", o.URL+"/same?q=1", nil)
		req.Header.Set("Accept", "text/plain")
		req.Header.Set("Cache-Control", "max-age=100")
		before := req.Clone(context.Background())
		for range 2 {
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		assert.Equal(t, before.Header, req.Header)
		assert.Equal(t, before.URL.String(), req.URL.String())
		assert.Equal(t, before.Host, req.Host)
		assert.Equal(t, before.Method, req.Method)
	})

	t.Run("body of a hit is never nil", func(t *testing.T) {
		fetch(t, tr, "GET", o.URL+"/x", nil)
		req, _ := http.NewRequest("GET", o.URL+"/x", nil)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		require.NotNil(t, resp.Body)
		resp.Body.Close()
	})
}

// failingBackend fails every call, or panics when panics is set.
type failingBackend struct{ panics bool }

var errBackendDown = errors.New("backend down")

func (b failingBackend) fail() error {
	if b.panics {
		panic("backend exploded")
	}
	return errBackendDown
}
func (b failingBackend) Contains(context.Context, string) (bool, error) { return false, b.fail() }
func (b failingBackend) Len(context.Context) (int, error)               { return 0, b.fail() }
func (b failingBackend) Get(context.Context, string) (*Entry, error)    { return nil, b.fail() }
func (b failingBackend) Set(context.Context, string, *Entry) error      { return b.fail() }
func (b failingBackend) Pop(context.Context, string) (*Entry, error)    { return nil, b.fail() }
func (b failingBackend) PopOldest(context.Context) (string, *Entry, error) {
	return "", nil, b.fail()
}
func (b failingBackend) MoveToEnd(context.Context, string) error { return b.fail() }

func TestTransportFailingBackendFallsBackToOrigin(t *testing.T) {
	t.Parallel()
	for _, panics := range []bool{false, true} {
		t.Run(fmt.Sprintf("panics=%v", panics), func(t *testing.T) {
			clock := newTestClock()
			o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				fmt.Fprint(w, "from origin")
			})
			var logs strings.Builder
			var logMu sync.Mutex
			c := NewCache(failingBackend{panics: panics}, WithClock(clock.Now),
				WithLogger(slogTo(&logs, &logMu)))
			tr := NewTransport(c)
			for range 2 {
				resp, body := fetch(t, tr, "GET", o.URL, nil)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, "from origin", body, "a broken backend must not break the request")
			}
			assert.EqualValues(t, 2, o.hits.Load())
			assert.Positive(t, c.Stats().Errors, "failures are counted")
			logMu.Lock()
			assert.Contains(t, logs.String(), "acache: cache failure")
			logMu.Unlock()
		})
	}
}

// corruptingBackend wraps a backend and returns every entry under a wrong key.
type corruptingBackend struct{ Backend }

func (b corruptingBackend) Get(ctx context.Context, key string) (*Entry, error) {
	e, err := b.Backend.Get(ctx, key)
	if e != nil {
		bad := *e
		bad.Key = "GET http://evil.example/"
		return &bad, err
	}
	return e, err
}

func TestTransportCorruptEntryIsAMiss(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "fine")
	})
	backend := NewLRU()
	c := NewCache(corruptingBackend{backend}, WithClock(clock.Now))
	tr := NewTransport(c)
	fetch(t, tr, "GET", o.URL, nil)
	resp, body := fetch(t, tr, "GET", o.URL, nil)
	assert.False(t, isHit(resp), "an entry stored under another key is never served")
	assert.Equal(t, "fine", body)
	assert.EqualValues(t, 2, o.hits.Load())
	assert.EqualValues(t, 1, c.Stats().Errors)
}

func TestTransportStreaming(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	big := strings.Repeat("x", 4096)
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		switch r.URL.Path {
		case "/big":
			fmt.Fprint(w, big)
		case "/truncated":
			w.Header().Set("Content-Length", "100")
			fmt.Fprint(w, strings.Repeat("y", 50))
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case "/unframed":
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nConnection: close\r\n\r\nclose-delimited")
			buf.Flush()
			conn.Close()
		default:
			fmt.Fprint(w, "small body")
		}
	})

	t.Run("larger than the limit streams through uncached", func(t *testing.T) {
		tr := newTestTransport(clock, WithMaxBodySize(1024))
		for range 2 {
			resp, body := fetch(t, tr, "GET", o.URL+"/big", nil)
			assert.Equal(t, big, body, "the caller gets the whole body")
			assert.False(t, isHit(resp))
		}
	})

	t.Run("truncated body is not stored", func(t *testing.T) {
		tr := newTestTransport(clock)
		before := o.hits.Load()
		for range 2 {
			req, _ := http.NewRequest("GET", o.URL+"/truncated", nil)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			_, err = io.ReadAll(resp.Body)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
			resp.Body.Close()
		}
		assert.EqualValues(t, 2, o.hits.Load()-before, "a cut-short body must never be served")
	})

	t.Run("body closed early is not stored", func(t *testing.T) {
		tr := newTestTransport(clock)
		req, _ := http.NewRequest("GET", o.URL+"/early", nil)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		buf := make([]byte, 3)
		_, err = io.ReadFull(resp.Body, buf)
		require.NoError(t, err)
		resp.Body.Close()
		resp, body := fetch(t, tr, "GET", o.URL+"/early", nil)
		assert.False(t, isHit(resp))
		assert.Equal(t, "small body", body)
		resp, _ = fetch(t, tr, "GET", o.URL+"/early", nil)
		assert.True(t, isHit(resp), "a body read to the end is stored")
	})

	t.Run("unframed HTTP/1 body is stored only on opt-in", func(t *testing.T) {
		for _, optIn := range []bool{false, true} {
			var opts []Option
			if optIn {
				opts = append(opts, WithUnframedBodies())
			}
			tr := newTestTransport(clock, opts...)
			fetch(t, tr, "GET", o.URL+"/unframed", nil)
			resp, body := fetch(t, tr, "GET", o.URL+"/unframed", nil)
			assert.Equal(t, "close-delimited", body)
			assert.Equal(t, optIn, isHit(resp), "opt-in=%v", optIn)
		}
	})
}

// rawOrigin serves one canned HTTP/1.1 response per connection, for header
// fields net/http's server would rewrite.
func rawOrigin(t *testing.T, response string) (url string, hits *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	hits = &atomic.Int64{}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					if _, err := http.ReadRequest(r); err != nil {
						return
					}
					hits.Add(1)
					if _, err := io.WriteString(conn, response); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/", hits
}

func TestTransportBoundedLRU(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, strings.Repeat("b", 1000))
	})
	const n = 8
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"entries", []Option{WithMaxEntries(n)}},
		{"bytes", []Option{WithMaxBytes(n * 1600)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend := NewLRU()
			c := NewCache(backend, append(tc.opts, WithClock(clock.Now))...)
			tr := NewTransport(c)
			for i := range 10 * n {
				fetch(t, tr, "GET", fmt.Sprintf("%s/%d", o.URL, i), nil)
			}
			count, _ := backend.Len(context.Background())
			assert.LessOrEqual(t, count, n)
			assert.Positive(t, count)
			assert.LessOrEqual(t, c.Stats().Bytes, c.maxBytes)
			var sum int64
			for key, e := range lruEntries(backend) {
				sum += e.Size()
				_ = key
			}
			assert.Equal(t, sum, c.Stats().Bytes, "the byte count matches what is stored")
			resp, _ := fetch(t, tr, "GET", fmt.Sprintf("%s/%d", o.URL, 10*n-1), nil)
			assert.True(t, isHit(resp), "the most recently stored entry survives")
			resp, _ = fetch(t, tr, "GET", o.URL+"/0", nil)
			assert.False(t, isHit(resp), "the oldest entry was evicted")
		})
	}
}

// lruEntries drains a copy of what an LRU holds, oldest first.
func lruEntries(l *LRU) map[string]*Entry {
	out := map[string]*Entry{}
	ctx := context.Background()
	var keys []string
	var entries []*Entry
	for {
		k, e, _ := l.PopOldest(ctx)
		if e == nil {
			break
		}
		keys = append(keys, k)
		entries = append(entries, e)
		out[k] = e
	}
	for i, k := range keys {
		l.Set(ctx, k, entries[i])
	}
	return out
}

// slogTo returns a logger writing text records to w under mu.
func slogTo(w io.Writer, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{w, mu}, nil))
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestTransportConcurrentUse(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, r.URL.Path)
	})
	tr := newTestTransport(clock, WithMaxEntries(4))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				path := fmt.Sprintf("/%d", (g+i)%6)
				req, _ := http.NewRequest("GET", o.URL+path, nil)
				resp, err := tr.RoundTrip(req)
				if !assert.NoError(t, err) {
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				assert.NoError(t, err)
				assert.Equal(t, path, string(body), "a response is only ever served for its own URL")
				if i%10 == 0 {
					clock.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	n, _ := tr.Cache.backend.Len(context.Background())
	assert.LessOrEqual(t, n, 4)
}

func TestTransportPassesOnInnerErrors(t *testing.T) {
	t.Parallel()
	inner := errors.New("dial failed")
	tr := &Transport{Transport: roundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, inner })}
	req, _ := http.NewRequest("GET", "http://example.invalid/", nil)
	resp, err := tr.RoundTrip(req)
	assert.Nil(t, resp)
	assert.ErrorIs(t, err, inner, "the inner transport's error reaches the caller unchanged")
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// panickingSetBackend is an LRU whose Set panics.
type panickingSetBackend struct{ *LRU }

func (panickingSetBackend) Set(context.Context, string, *Entry) error { panic("disk on fire") }

func TestTransportPanicWhileStoringDoesNotReachTheCaller(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.Method == "GET" {
			fmt.Fprint(w, "intact")
		}
	})
	c := NewCache(panickingSetBackend{NewLRU()}, WithClock(clock.Now))
	tr := NewTransport(c)
	for _, method := range []string{"GET", "HEAD"} {
		resp, body := fetch(t, tr, method, o.URL, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		if method == "GET" {
			assert.Equal(t, "intact", body, "the caller reads the whole body although storing it panicked")
		}
	}
	assert.EqualValues(t, 2, c.Stats().Errors)
}

func TestTransportToleratesSloppyInnerResponses(t *testing.T) {
	t.Parallel()
	tr := &Transport{Transport: roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Request: req}, nil // no Header, no Body
	})}
	req, _ := http.NewRequest("GET", "http://example.test/", nil)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.NotNil(t, resp.Body, "the caller never gets a nil Body")
	_, ok := CacheStatusOf(resp)
	assert.True(t, ok)
}

func TestTransportHitsKeepEntriesFromEviction(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, r.URL.Path)
	})
	tr := newTestTransport(clock, WithMaxEntries(3))
	for _, path := range []string{"/a", "/b", "/c", "/a", "/d"} {
		fetch(t, tr, "GET", o.URL+path, nil)
	}
	resp, _ := fetch(t, tr, "GET", o.URL+"/a", nil)
	assert.True(t, isHit(resp), "/a was used after /b, so /b is evicted first")
	resp, _ = fetch(t, tr, "GET", o.URL+"/b", nil)
	assert.False(t, isHit(resp), "the least recently used entry is the one evicted")
}

// explodingEntryBackend returns an entry whose derived data is unusable, so
// building the hit response panics.
type explodingEntryBackend struct{ *LRU }

func (b explodingEntryBackend) Get(ctx context.Context, key string) (*Entry, error) {
	e, err := b.LRU.Get(ctx, key)
	if e == nil {
		return e, err
	}
	bad, meta := *e, *e.meta
	meta.hitHeaderValues = -10 // cloning the hit header panics
	bad.meta = &meta
	return &bad, err
}

func TestTransportPanicWhileServingAHitGoesToTheOrigin(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "origin")
	})
	c := NewCache(explodingEntryBackend{NewLRU()}, WithClock(clock.Now))
	tr := NewTransport(c)
	fetch(t, tr, "GET", o.URL, nil)
	resp, body := fetch(t, tr, "GET", o.URL, nil)
	assert.Equal(t, "origin", body, "a response the cache cannot build comes from the origin")
	assert.False(t, isHit(resp))
	assert.EqualValues(t, 2, o.hits.Load())
	assert.EqualValues(t, 1, c.Stats().Errors)
}
