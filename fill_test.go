package acache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
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
// the rest. A path under /chunked/ sends it without a Content-Length.
func pacedOrigin(t *testing.T, body []byte, chunk int, release <-chan struct{}) *testOrigin {
	return newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		if !strings.HasPrefix(r.URL.Path, "/chunked/") {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
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
	for _, path := range []string{"/slow", "/chunked/slow"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			testFillStreamsToEveryWaiter(t, path)
		})
	}
}

func testFillStreamsToEveryWaiter(t *testing.T, path string) {
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
			resp := startGet(t, tr, context.Background(), o.URL+path)
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
	resp, _ := fetch(t, tr, http.MethodGet, o.URL+path, nil)
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
	wait, got := readersOfOneBody(t, tr, o.URL+"/cancel", waiters, chunk, &started)
	started.Wait()
	cancel()
	_, err = io.ReadAll(leader.Body)
	assert.ErrorIs(t, err, context.Canceled, "the cancelled caller's read")
	leader.Body.Close()
	close(release)
	wait()
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

// BenchmarkFillFirstByte measures what 16 concurrent requests for one 64 KiB
// body wait for their first byte while the origin sends the body over
// 800 ms (4 KiB every 50 ms): ttfb-median-ms and ttfb-max-ms over the 16,
// and the whole body's time, body-ms; the body sent with a Content-Length,
// and chunked. Run it with -benchtime=1x.
func BenchmarkFillFirstByte(b *testing.B) {
	for _, framing := range []string{"length", "chunked"} {
		b.Run(framing, func(b *testing.B) { benchFirstByte(b, framing == "length") })
	}
}

func benchFirstByte(b *testing.B, announce bool) {
	const readers, chunks = 16, 16
	body := testBody(64 << 10)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if announce {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		step := len(body) / chunks
		for i := range chunks {
			w.Write(body[i*step : (i+1)*step])
			w.(http.Flusher).Flush()
			time.Sleep(800 * time.Millisecond / chunks)
		}
	}))
	defer o.Close()
	var firsts, wholes []time.Duration
	for i := 0; b.Loop(); i++ {
		tr := newTestTransport(newTestClock())
		url := fmt.Sprintf("%s/ttfb/%d", o.URL, i)
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := time.Now()
		for range readers {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					b.Error(err)
					return
				}
				defer resp.Body.Close()
				one := make([]byte, 1)
				if _, err := io.ReadFull(resp.Body, one); err != nil {
					b.Error(err)
					return
				}
				first := time.Since(start)
				io.Copy(io.Discard, resp.Body)
				mu.Lock()
				firsts, wholes = append(firsts, first), append(wholes, time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
		tr.Close()
	}
	slices.Sort(firsts)
	slices.Sort(wholes)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(firsts[len(firsts)/2]), "ttfb-median-ms")
	b.ReportMetric(ms(firsts[len(firsts)-1]), "ttfb-max-ms")
	b.ReportMetric(ms(wholes[len(wholes)-1]), "body-ms")
	b.ReportMetric(0, "ns/op")
}

// chunkedOrigin is an origin that sends body without a Content-Length
// (chunked), a first chunk, then, once release is closed, the rest; with
// resumable set, with a strong ETag and "Accept-Ranges: bytes", and it
// answers "Range: bytes=N-" under a matching If-Range with a 206 of the
// rest. ranges records the Range fields it was sent.
type chunkedOrigin struct {
	*testOrigin
	mu     sync.Mutex
	ranges []string
}

func newChunkedOrigin(t *testing.T, body []byte, chunk int, release <-chan struct{}, resumable bool) *chunkedOrigin {
	o := &chunkedOrigin{}
	o.testOrigin = newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if resumable {
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Accept-Ranges", "bytes")
		}
		if rng := r.Header.Get("Range"); rng != "" {
			o.mu.Lock()
			o.ranges = append(o.ranges, rng+"|"+r.Header.Get("If-Range"))
			o.mu.Unlock()
			from, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rng, "bytes="), "-"))
			if resumable && err == nil && r.Header.Get("If-Range") == `"v1"` && from < len(body) {
				w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(body)-1, len(body)))
				w.WriteHeader(http.StatusPartialContent)
				w.Write(body[from:])
				return
			}
		}
		w.Write(body[:chunk])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		for sent := chunk; sent < len(body); sent += 8 << 10 {
			w.Write(body[sent:min(sent+8<<10, len(body))])
			w.(http.Flusher).Flush()
		}
	})
	return o
}

// A body of unknown length that outgrows WithMaxBodySize while it arrives
// is not stored, but every request collapsed onto it gets it whole, from
// the one origin call: the fill goes on for them at the pace of the reader
// in front.
func TestFillOutgrownBodyGoesOnForItsReaders(t *testing.T) {
	t.Parallel()
	const readers, chunk = 4, 4096
	body := testBody(256 << 10)
	release := make(chan struct{})
	o := newChunkedOrigin(t, body, chunk, release, false)
	tr := newTestTransport(newTestClock(), WithMaxBodySize(16<<10))
	defer tr.Close()

	var attached sync.WaitGroup
	attached.Add(readers)
	wait, got := readersOfOneBody(t, tr, o.URL+"/big", readers, chunk, &attached)
	attached.Wait()
	close(release)
	wait()
	for i := range readers {
		assert.Equal(t, sha256.Sum256(body), sha256.Sum256(got[i]), "reader %d", i)
	}
	assert.EqualValues(t, 1, o.hits.Load(), "origin calls")
	waitInFlight(t, tr.Cache)
	s := tr.Cache.Stats()
	assert.Zero(t, s.Stores, "a body past WithMaxBodySize was stored")
	assert.Zero(t, s.BodiesCut)
	assert.EqualValues(t, 1, s.RefusalsByReason["too large"], "refusals: %v", s.RefusalsByReason)
}

// A reader left behind a body that outgrew the limits, once the in-flight
// budget is spent, resumes from the origin with a Range from its position
// under If-Range when the response has a strong ETag and "Accept-Ranges:
// bytes", and gets the same bytes; without them, its body is cut short
// there, counted in Stats.BodiesCut.
func TestFillReaderLeftBehindResumesWithARange(t *testing.T) {
	t.Parallel()
	for _, resumable := range []bool{true, false} {
		t.Run(fmt.Sprintf("resumable=%v", resumable), func(t *testing.T) {
			t.Parallel()
			const chunk = 4096
			body := testBody(1 << 20)
			release := make(chan struct{})
			o := newChunkedOrigin(t, body, chunk, release, resumable)
			tr := newTestTransport(newTestClock(), WithMaxBodySize(32<<10), WithMaxBytes(256<<10))
			defer tr.Close()

			leader := startGet(t, tr, context.Background(), o.URL+"/huge")
			defer leader.Body.Close()
			behind := make(chan *http.Response)
			go func() { behind <- startGet(t, tr, context.Background(), o.URL+"/huge") }()
			require.Eventually(t, func() bool { return tr.Cache.Stats().Collapsed == 1 }, 20*time.Second, time.Millisecond)
			late := <-behind
			defer late.Body.Close()
			close(release)

			got, err := io.ReadAll(leader.Body) // the reader in front: 1 MiB past a 256 KiB budget
			require.NoError(t, err)
			assert.Equal(t, body, got, "the reader in front")
			rest, err := io.ReadAll(late.Body)
			o.mu.Lock()
			ranges := slices.Clone(o.ranges)
			o.mu.Unlock()
			if resumable {
				require.NoError(t, err)
				assert.Equal(t, body, rest, "the reader left behind, resumed")
				assert.Equal(t, []string{`bytes=0-|"v1"`}, ranges, "what it resumed with")
				assert.Zero(t, tr.Cache.Stats().BodiesCut)
			} else {
				assert.ErrorIs(t, err, errBodyCut)
				assert.Empty(t, rest, "it had read nothing")
				assert.Empty(t, ranges)
				assert.EqualValues(t, 1, tr.Cache.Stats().BodiesCut)
			}
			late.Body.Close()
			leader.Body.Close()
			waitInFlight(t, tr.Cache)
		})
	}
}

// A fill that can hold nothing, the in-flight budget spent by another,
// hands the origin's body to its reader in front: a request alone on its
// body never fails because of the budget.
func TestFillHandsTheBodyToItsReaderWhenTheBudgetIsSpent(t *testing.T) {
	t.Parallel()
	body := testBody(64 << 10)
	release := make(chan struct{})
	o := newChunkedOrigin(t, body, 4096, release, false)
	tr := newTestTransport(newTestClock(), WithMaxBytes(4096))
	defer tr.Close()

	holder := startGet(t, tr, context.Background(), o.URL+"/holds-the-budget")
	defer holder.Body.Close()
	first := make([]byte, 4096)
	_, err := io.ReadFull(holder.Body, first)
	require.NoError(t, err)
	require.EqualValues(t, 4096, tr.Cache.Stats().InFlightBytes, "the first fill holds the whole budget")

	alone := make(chan []byte)
	go func() {
		resp := startGet(t, tr, context.Background(), o.URL+"/alone")
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		assert.NoError(t, err)
		alone <- got
	}()
	close(release)
	assertSameBytes(t, body, <-alone, "the request whose fill could hold nothing")
	rest, err := io.ReadAll(holder.Body)
	require.NoError(t, err)
	assertSameBytes(t, body, append(first, rest...), "the request whose fill held the budget")
	assert.Zero(t, tr.Cache.Stats().BodiesCut)
	holder.Body.Close()
	waitInFlight(t, tr.Cache)
}

// assertSameBytes checks that got is want, and otherwise says where they
// first differ (not the bytes: they are many).
func assertSameBytes(t *testing.T, want, got []byte, what string) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	i := 0
	for i < min(len(want), len(got)) && want[i] == got[i] {
		i++
	}
	t.Errorf("%s: %d bytes, want %d; they first differ at byte %d", what, len(got), len(want), i)
}

// readersOfOneBody starts n GETs of url through rt at once; each reads the
// first chunk bytes of its body, says so on firstChunks, then reads the
// rest. It returns the wait for them all, and where each body ends up.
func readersOfOneBody(t *testing.T, rt http.RoundTripper, url string, n, chunk int, firstChunks *sync.WaitGroup) (wait func(), got [][]byte) {
	got = make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp := startGet(t, rt, context.Background(), url)
			defer resp.Body.Close()
			first := make([]byte, chunk)
			_, err := io.ReadFull(resp.Body, first)
			assert.NoError(t, err, "reader %d", i)
			firstChunks.Done()
			rest, err := io.ReadAll(resp.Body)
			assert.NoError(t, err, "reader %d", i)
			got[i] = append(first, rest...)
		})
	}
	return wg.Wait, got
}

// RFC 9111 Section 4.4: a response whose body is still arriving when an
// unsafe request invalidates its URI is not stored once it has arrived: it
// may be what the unsafe request changed.
func TestRFC9111_4_4_AFillEndingAfterAnInvalidationIsNotStored(t *testing.T) {
	t.Parallel()
	body := testBody(16 << 10)
	release := make(chan struct{})
	o := newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:1024])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write(body[1024:])
	})
	tr := newTestTransport(newTestClock())
	defer tr.Close()

	resp := startGet(t, tr, context.Background(), o.URL+"/changes")
	defer resp.Body.Close()
	req, _ := http.NewRequest(http.MethodPost, o.URL+"/changes", nil)
	post, err := tr.RoundTrip(req)
	require.NoError(t, err)
	post.Body.Close()
	close(release)
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assertSameBytes(t, body, got, "the body requested before the POST")
	waitInFlight(t, tr.Cache)
	again := startGet(t, tr, context.Background(), o.URL+"/changes")
	defer again.Body.Close()
	assert.False(t, isHit(again), "a response requested before the POST was stored after it")
}
