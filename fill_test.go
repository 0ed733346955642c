package acache

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pacedOrigin serves body at every path with a Content-Length, max-age=60
// and a strong ETag: the first chunk bytes, then, once release is closed,
// the rest.
func pacedOrigin(t *testing.T, body []byte, chunk int, release <-chan struct{}) *testOrigin {
	return newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:chunk])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write(body[chunk:])
	})
}

// testBody returns n bytes that differ from one position to the next.
func testBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// startGet starts a GET of url through rt with ctx and returns its response.
func startGet(t *testing.T, rt http.RoundTripper, ctx context.Context, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	return resp
}

// waitFor waits until ready is closed, failing the test after a long time
// (a hang, not a slow machine).
func waitFor(t *testing.T, ready <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("waited 20 s for %s", what)
	}
}

// 16 requests for one 64 KiB body that the origin sends slowly: every one
// of them gets the first chunk while the origin still holds the rest (the
// origin waits for the test to have seen all 16 receive it), and all get
// the same body from one origin call.
func TestFillStreamsToEveryWaiterAsTheBodyArrives(t *testing.T) {
	t.Parallel()
	const readers, chunk = 16, 4096
	body := testBody(64 << 10)
	release := make(chan struct{})
	o := pacedOrigin(t, body, chunk, release)
	tr := newTestTransport(newTestClock())
	defer tr.Close()

	var firstChunks sync.WaitGroup
	firstChunks.Add(readers)
	allFirst := make(chan struct{})
	go func() { firstChunks.Wait(); close(allFirst) }()
	got := make([][]byte, readers)
	statuses := make([]CacheStatus, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			resp := startGet(t, tr, context.Background(), o.URL+"/slow")
			defer resp.Body.Close()
			statuses[i], _ = CacheStatusOf(resp)
			first := make([]byte, chunk)
			_, err := io.ReadFull(resp.Body, first)
			assert.NoError(t, err)
			firstChunks.Done()
			rest, err := io.ReadAll(resp.Body)
			assert.NoError(t, err)
			got[i] = append(first, rest...)
		})
	}
	waitFor(t, allFirst, "the 16 readers to receive the first chunk while the origin holds the rest")
	close(release)
	wg.Wait()

	assert.EqualValues(t, 1, o.hits.Load(), "origin calls")
	collapsed := 0
	for i := range readers {
		assert.Equal(t, sha256.Sum256(body), sha256.Sum256(got[i]), "reader %d", i)
		if statuses[i].Collapsed {
			collapsed++
		}
	}
	assert.Equal(t, readers-1, collapsed, "requests collapsed onto the one in flight")
	waitInFlight(t, tr.Cache)
	resp, _ := fetch(t, tr, http.MethodGet, o.URL+"/slow", nil)
	assert.True(t, isHit(resp), "the filled body is stored")
}

// A request behind a leader that never reads its body gets the whole body,
// while the leader's is still unread; and the leader's, read afterwards, is
// the same.
func TestFillWaiterIsNotHeldByALeaderThatNeverReads(t *testing.T) {
	t.Parallel()
	body := testBody(64 << 10)
	release := make(chan struct{})
	o := pacedOrigin(t, body, 1024, release)
	tr := newTestTransport(newTestClock())
	defer tr.Close()

	leader := startGet(t, tr, context.Background(), o.URL+"/unread")
	defer leader.Body.Close()
	waiterDone := make(chan []byte)
	go func() {
		resp := startGet(t, tr, context.Background(), o.URL+"/unread")
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		assert.NoError(t, err)
		waiterDone <- got
	}()
	require.Eventually(t, func() bool { return tr.Cache.Stats().Collapsed == 1 }, 20*time.Second, time.Millisecond,
		"the second request did not collapse onto the first")
	close(release)
	var got []byte
	select {
	case got = <-waiterDone:
	case <-time.After(20 * time.Second):
		t.Fatal("the second request is held by a leader that does not read")
	}
	assert.Equal(t, body, got, "the waiter's body")
	leaderBody, err := io.ReadAll(leader.Body)
	require.NoError(t, err)
	assert.Equal(t, body, leaderBody, "the leader's body, read last")
	assert.EqualValues(t, 1, o.hits.Load(), "origin calls")
}

// A leader whose caller cancels mid-body ends only its own reading: its 8
// waiters get the whole body from the one origin call.
func TestFillLeaderCancelledMidBodyCostsNoOriginCall(t *testing.T) {
	t.Parallel()
	const waiters, chunk = 8, 2048
	body := testBody(32 << 10)
	release := make(chan struct{})
	o := pacedOrigin(t, body, chunk, release)
	tr := newTestTransport(newTestClock())
	defer tr.Close()

	ctx, cancel := context.WithCancel(context.Background())
	leader := startGet(t, tr, ctx, o.URL+"/cancel")
	first := make([]byte, chunk)
	_, err := io.ReadFull(leader.Body, first)
	require.NoError(t, err)

	var started sync.WaitGroup
	started.Add(waiters)
	got := make([][]byte, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() {
			resp := startGet(t, tr, context.Background(), o.URL+"/cancel")
			defer resp.Body.Close()
			head := make([]byte, chunk)
			_, err := io.ReadFull(resp.Body, head)
			assert.NoError(t, err)
			started.Done()
			rest, err := io.ReadAll(resp.Body)
			assert.NoError(t, err)
			got[i] = append(head, rest...)
		})
	}
	started.Wait()
	cancel()
	_, err = io.ReadAll(leader.Body)
	assert.ErrorIs(t, err, context.Canceled, "the cancelled caller's read")
	leader.Body.Close()
	close(release)
	wg.Wait()
	for i := range waiters {
		assert.Equal(t, body, got[i], "waiter %d", i)
	}
	assert.EqualValues(t, 1, o.hits.Load(), "origin calls: the leader's cancel cost its waiters nothing")
	waitInFlight(t, tr.Cache)
	resp, _ := fetch(t, tr, http.MethodGet, o.URL+"/cancel", nil)
	assert.True(t, isHit(resp), "the body was read to its end and stored")
}

// Readers of different speeds, readers that stop early, and origins that
// cut the body at random points: every reader that reads to the end gets
// the origin's bytes, the same for all; when the origin cuts the body,
// every such reader gets the same error after the same bytes, and nothing
// is stored as complete. Nothing is left in flight after each round.
func TestFillReadersGetIdenticalBodies(t *testing.T) {
	t.Parallel()
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	for round := range rounds {
		size := 1 + rand.IntN(96<<10)
		body := testBody(size)
		cut := -1
		if round%3 == 2 {
			cut = rand.IntN(size) // the origin closes the connection there
		}
		o := newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Content-Length", strconv.Itoa(size))
			sent := 0
			for sent < size {
				n := min(1+rand.IntN(8<<10), size-sent)
				if cut >= 0 && sent+n > cut {
					w.Write(body[sent:cut])
					w.(http.Flusher).Flush()
					panic(http.ErrAbortHandler)
				}
				w.Write(body[sent : sent+n])
				w.(http.Flusher).Flush()
				sent += n
				time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
			}
		})
		tr := newTestTransport(newTestClock())
		type result struct {
			n   int
			sum [32]byte
			err error
		}
		const readers = 8
		results := make([]result, readers)
		stopsEarly := func(i int) bool { return i%4 == 3 }
		var wg sync.WaitGroup
		for i := range readers {
			wg.Go(func() {
				resp := startGet(t, tr, context.Background(), o.URL+"/r")
				defer resp.Body.Close()
				h := sha256.New()
				buf := make([]byte, 1+rand.IntN(4096))
				for {
					if stopsEarly(i) && results[i].n > size/2 {
						return
					}
					n, err := resp.Body.Read(buf)
					h.Write(buf[:n])
					results[i].n += n
					if i%2 == 1 {
						time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond) // a slow reader
					}
					if err != nil {
						if err != io.EOF {
							results[i].err = err
						}
						break
					}
				}
				copy(results[i].sum[:], h.Sum(nil))
			})
		}
		wg.Wait()
		var want result
		if cut < 0 {
			want = result{n: size, sum: sha256.Sum256(body)}
		} else {
			want = result{n: cut, sum: sha256.Sum256(body[:cut])}
		}
		for i, r := range results {
			if stopsEarly(i) {
				continue
			}
			assert.Equal(t, want.n, r.n, "round %d (size %d, cut %d): reader %d's bytes", round, size, cut, i)
			assert.Equal(t, want.sum, r.sum, "round %d: reader %d's hash", round, i)
			if cut < 0 {
				assert.NoError(t, r.err, "round %d: reader %d", round, i)
			} else {
				assert.Error(t, r.err, "round %d: reader %d did not see the cut", round, i)
			}
		}
		waitInFlight(t, tr.Cache)
		if cut < 0 {
			resp, got := fetch(t, tr, http.MethodGet, o.URL+"/r", nil)
			assert.True(t, isHit(resp), "round %d: the body is stored", round)
			assert.Equal(t, string(body), got)
		} else {
			resp := startGet(t, tr, context.Background(), o.URL+"/r")
			assert.False(t, isHit(resp), "round %d: a body cut short was served as complete", round)
			resp.Body.Close()
			waitInFlight(t, tr.Cache)
		}
		assert.Zero(t, tr.Cache.Stats().InFlightBytes, "round %d: in-flight bytes", round)
		tr.Close()
	}
}

// A request whose Vary selection differs from the response being filled is
// never given it: it waits for the store, then goes to the origin for its
// own.
func TestFillIsNotStreamedToAnotherVariant(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	o := newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		lang := r.Header.Get("Accept-Language")
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Content-Length", "10")
		fmt.Fprint(w, lang+":")
		w.(http.Flusher).Flush()
		if lang == "en" {
			<-release
		}
		fmt.Fprint(w, strings.Repeat("x", 10-len(lang)-1))
	})
	tr := newTestTransport(newTestClock())
	defer tr.Close()
	req, _ := http.NewRequest(http.MethodGet, o.URL+"/w", nil)
	req.Header.Set("Accept-Language", "en")
	leader, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer leader.Body.Close()
	fr := make(chan string)
	go func() {
		resp, body := fetch(t, tr, http.MethodGet, o.URL+"/w", hdr("Accept-Language", "fr"))
		assert.False(t, isHit(resp))
		fr <- body
	}()
	close(release)
	assert.Equal(t, "fr:xxxxxxx", <-fr)
	got, err := io.ReadAll(leader.Body)
	require.NoError(t, err)
	assert.Equal(t, "en:xxxxxxx", string(got))
	assert.EqualValues(t, 2, o.hits.Load(), "origin calls")
}

// Close ends the fills under way: their readers get an error, and the
// fill's goroutine is gone (goleak, in TestMain).
func TestFillEndsAtClose(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	o := pacedOrigin(t, testBody(8192), 100, release)
	tr := newTestTransport(newTestClock())
	resp := startGet(t, tr, context.Background(), o.URL+"/closed")
	defer resp.Body.Close()
	first := make([]byte, 100)
	_, err := io.ReadFull(resp.Body, first)
	require.NoError(t, err)
	tr.Close()
	_, err = io.ReadAll(resp.Body)
	assert.Error(t, err, "a fill cut at Close ended cleanly")
	assert.Zero(t, tr.Cache.Stats().InFlightBytes, "in-flight bytes after Close")
	assert.Zero(t, tr.Cache.Stats().Stores, "a body cut at Close was stored")
}

// A fill nobody reads goes on for fillAbandoned, then ends, storing
// nothing; a body that arrives within it is stored.
func TestFillAbandonedEndsAfterItsTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		// An origin that sends the first half, then nothing, until the
		// request's context ends (as net/http's bodies do).
		stalled := roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			pr, pw := io.Pipe()
			go func() {
				pw.Write(make([]byte, 50))
				<-req.Context().Done()
				pw.CloseWithError(context.Cause(req.Context()))
			}()
			return &http.Response{StatusCode: 200, Header: http.Header{"Cache-Control": {"max-age=60"}},
				ContentLength: 100, Body: pr, Request: req}, nil
		})
		c := NewCache(nil)
		tr := &Transport{Transport: stalled, Cache: c}
		defer tr.Close()
		resp := startGet(t, tr, context.Background(), "http://origin.test/abandoned")
		resp.Body.Close() // nobody reads it
		time.Sleep(fillAbandoned - time.Second)
		synctest.Wait()
		assert.Equal(t, int64(100), c.Stats().InFlightBytes, "the fill ended before its timeout")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Zero(t, c.Stats().InFlightBytes, "the abandoned fill still holds its bytes")
		assert.Zero(t, c.Stats().Stores)
		assert.Zero(t, c.flights.inFlight(), "the flight did not land")
	})
}
