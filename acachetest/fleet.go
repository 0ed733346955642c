package acachetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
)

// TestFleet checks that Caches sharing one store behave as one cache, as
// many processes over one disk directory or one Redis do. newBackends
// returns n backends over one new, empty store: n Stores on one directory,
// n clients of one Redis prefix, or one in-memory LRU n times. Each check
// is a subtest with a store of its own, and runs a Cache over each backend
// (with one partition secret, as a fleet configures it), against an
// httptest origin.
//
// The suite checks that:
//   - when the first stores of many users' copies of one URL race from every
//     Cache, Purge from one Cache, and then an unsafe request through
//     another, leave no copy that any Cache serves (RFC 9111 Section 4.4);
//   - concurrent stores from every Cache under one byte limit keep the store
//     within the limit, but for the entry being stored, throughout (sampled
//     with Size when the backend is a [acache.Sizer]), and the store's
//     counts then equal what it holds;
//   - two Caches storing one URL at once, again and again, always leave
//     exactly one response, the newer.
func TestFleet(t *testing.T, newBackends func(t *testing.T, n int) []acache.Backend) {
	t.Helper()
	for _, tc := range []struct {
		name string
		f    func(*testing.T, func(*testing.T, int) []acache.Backend)
	}{
		{"RacingFirstStoresThenInvalidation", testFleetInvalidation},
		{"StoreWideByteLimit", testFleetByteLimit},
		{"OneURLStoredAtOnce", testFleetNewerWins},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, newBackends) })
	}
}

// fleetSecret is the partition secret every Cache of a fleet shares.
var fleetSecret = []byte("acachetest fleet partition secret")

// fleet is one Cache and Transport per backend.
type fleet struct {
	caches     []*acache.Cache
	transports []*acache.Transport
}

func newFleet(t *testing.T, backends []acache.Backend, opts ...acache.Option) *fleet {
	t.Helper()
	f := &fleet{}
	for _, b := range backends {
		c := acache.NewCache(b, append([]acache.Option{acache.WithPartitionSecret(fleetSecret),
			acache.WithBackendTimeout(10 * time.Second)}, opts...)...)
		t.Cleanup(func() { c.Close() })
		f.caches = append(f.caches, c)
		f.transports = append(f.transports, acache.NewTransport(c))
	}
	return f
}

// fetch sends a request through tr and reads the body; a cached response
// is one whose Cache-Status says hit. With onlyCached, the request may not
// reach the origin: a miss is then (false, nil).
func fetch(ctx context.Context, tr http.RoundTripper, method, url, user string, onlyCached bool) (hit bool, err error) {
	if onlyCached {
		ctx = acache.WithControl(ctx, acache.Control{Mode: acache.ModeOnlyIfCached})
	}
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return false, err
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+user)
	}
	resp, err := tr.RoundTrip(req)
	if errors.Is(err, acache.ErrNotCached) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s, _ := acache.CacheStatusOf(resp)
	return s.Hit, err
}

func testFleetInvalidation(t *testing.T, newBackends func(*testing.T, int) []acache.Backend) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, "for ", r.Header.Get("Authorization"))
	}))
	t.Cleanup(origin.Close)
	f := newFleet(t, newBackends(t, 3))
	url := origin.URL + "/r"
	users := make([]string, 12)
	for i := range users {
		users[i] = fmt.Sprint("user-", i)
	}
	store := func() {
		t.Helper()
		var wg sync.WaitGroup
		for i, user := range users {
			wg.Go(func() {
				if _, err := fetch(t.Context(), f.transports[i%len(f.transports)], http.MethodGet, url, user, false); err != nil {
					t.Errorf("GET as %s: %v", user, err)
				}
			})
		}
		wg.Wait()
		for _, user := range users {
			if hit, err := fetch(t.Context(), f.transports[0], http.MethodGet, url, user, true); err != nil || !hit {
				t.Fatalf("%s's copy is not served after it was stored (%v)", user, err)
			}
		}
	}
	servable := func(after string) {
		t.Helper()
		for _, tr := range f.transports {
			for _, user := range users {
				if hit, err := fetch(t.Context(), tr, http.MethodGet, url, user, true); err != nil || hit {
					t.Errorf("after %s, %s's copy is still served (%v)", after, user, err)
				}
			}
		}
	}
	store()
	if err := f.caches[1].Purge(t.Context(), url); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	servable("Purge")
	store()
	if _, err := fetch(t.Context(), f.transports[2], http.MethodPost, url, "someone", false); err != nil {
		t.Fatalf("POST: %v", err)
	}
	servable("a POST")
}

func testFleetByteLimit(t *testing.T, newBackends func(*testing.T, int) []acache.Backend) {
	const bodySize, limit = 4 << 10, 64 << 10
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write(make([]byte, bodySize))
	}))
	t.Cleanup(origin.Close)
	backends := newBackends(t, 3)
	f := newFleet(t, backends, acache.WithMaxBytes(limit))
	sizer, sized := backends[0].(acache.Sizer)
	var (
		over    atomic.Int64 // the most bytes seen over the limit
		stop    = make(chan struct{})
		sampled sync.WaitGroup
		entry   atomic.Int64 // the size of an entry, as counted
	)
	if sized {
		sampled.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
				if _, bytes, err := sizer.Size(t.Context()); err == nil && bytes-limit > over.Load() {
					over.Store(bytes - limit)
				}
			}
		})
	}
	var wg sync.WaitGroup
	for i, tr := range f.transports {
		wg.Go(func() {
			for j := range 100 {
				if _, err := fetch(t.Context(), tr, http.MethodGet, fmt.Sprintf("%s/%d/%d", origin.URL, i, j), "", false); err != nil {
					t.Errorf("GET: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	sampled.Wait()
	if !sized {
		return
	}
	entries, bytes, err := sizer.Size(t.Context())
	if err != nil {
		t.Fatalf("Size: %v", err)
	}
	// What the store holds, counted by draining it.
	var n int
	var sum int64
	for {
		_, e, err := backends[0].PopOldest(t.Context())
		if err != nil {
			t.Fatalf("PopOldest: %v", err)
		}
		if e == nil {
			break
		}
		n, sum = n+1, sum+e.Size()
		entry.Store(e.Size())
	}
	if n != entries || sum != bytes {
		t.Errorf("Size() = %d entries, %d bytes; the store held %d, %d bytes", entries, bytes, n, sum)
	}
	if o := over.Load(); o > entry.Load() {
		t.Errorf("the store held %d bytes over its limit of %d at one moment: more than one entry (%d)", o, limit, entry.Load())
	}
	if bytes > limit {
		t.Errorf("the store holds %d bytes once the stores returned; the limit is %d", bytes, limit)
	}
}

func testFleetNewerWins(t *testing.T, newBackends func(*testing.T, int) []acache.Backend) {
	var seq atomic.Int64
	base := time.Now().Truncate(time.Second)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := seq.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Date", base.Add(time.Duration(n)*time.Second).UTC().Format(http.TimeFormat))
		w.Header().Set("X-Seq", strconv.FormatInt(n, 10))
		fmt.Fprint(w, "response ", n)
	}))
	t.Cleanup(origin.Close)
	f := newFleet(t, newBackends(t, 2))
	url := origin.URL + "/x"
	for round := range 30 {
		before := seq.Load()
		var wg sync.WaitGroup
		for _, tr := range f.transports {
			wg.Go(func() {
				ctx := acache.WithControl(t.Context(), acache.Control{Mode: acache.ModeReload})
				if _, err := fetch(ctx, tr, http.MethodGet, url, "", false); err != nil {
					t.Errorf("GET: %v", err)
				}
			})
		}
		wg.Wait()
		stored, err := f.caches[round%2].Inspect(t.Context(), url)
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		if len(stored) != 1 {
			t.Fatalf("round %d: %d responses stored for one URL; want exactly one", round, len(stored))
		}
		if got, want := stored[0].Header.Get("X-Seq"), strconv.FormatInt(seq.Load(), 10); got != want || seq.Load() != before+2 {
			t.Fatalf("round %d: the response stored is number %s; want the newer, %s", round, got, want)
		}
	}
}
