package rediscache

// This file holds the fleet tests over processes: the scenarios of
// acachetest.TestFleet (which runs its Caches in one process), each Cache in
// a worker process of its own (herd_test.go), with its own Store and
// client on one prefix and one partition secret, over the single node and
// over the Cluster with three shards. The parent drives the workers with
// the commands herd_test.go documents and checks the Store through a Store
// of its own on the prefix.

import (
	"context"
	"crypto/rand"
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
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	// fleetProcesses is how many workers the fleet tests run, but
	// TestFleetProcessesOneURLAtOnce, which runs two.
	fleetProcesses = 3
	// fleetUsers is how many users' copies of one URL each worker stores.
	fleetUsers = 8
	// fleetBackendTimeout is how long every Cache of a fleet test waits for
	// its Store: long enough that no store is left to finish after its
	// request, which the checks that follow would race with.
	fleetBackendTimeout = 10 * time.Second
)

// eachTopology runs f as a subtest over the single node, one shard, and
// over the Cluster, three shards (WithShards(3)). f gets the workers'
// configuration, on a new prefix with a new partition secret, and a Store
// of the parent's on that prefix, through a client of the parent's own.
func eachTopology(t *testing.T, f func(t *testing.T, cfg herdConfig, store *Store)) {
	run := func(t *testing.T, client redis.UniversalClient, cfg herdConfig) {
		cfg.Prefix = newPrefix(t, client)
		cfg.Secret = []byte(rand.Text())
		cfg.BackendTimeout = fleetBackendTimeout
		store := New(client, WithPrefix(cfg.Prefix), WithShards(cfg.Shards))
		t.Cleanup(func() { store.Close() })
		f(t, cfg, store)
	}
	t.Run("node", func(t *testing.T) {
		run(t, newClient(t), herdConfig{Addrs: []string{redisAddr(t)}, Shards: 1})
	})
	t.Run("cluster", func(t *testing.T) {
		run(t, newClusterClient(t), herdConfig{Addrs: clusterAddrs(t), Cluster: true, Shards: 3})
	})
}

// The first stores of fleetUsers users' copies of one URL race from every
// worker process; then the parent purges the URL, and no worker serves any
// copy. Again, and a POST through one worker invalidates the URL (RFC 9111
// Section 4.4): again no worker serves any copy.
func TestFleetProcessesRacingUsersThenInvalidation(t *testing.T) {
	eachTopology(t, func(t *testing.T, cfg herdConfig, store *Store) {
		const rounds = 3
		var calls atomic.Int64
		o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Cache-Control", "max-age=600")
			io.WriteString(w, "for "+r.Header.Get("Authorization"))
		}))
		t.Cleanup(o.Close)
		workers := startHerdWorkers(t, cfg, fleetProcesses)
		cache := acache.NewCache(store, acache.WithPartitionSecret(cfg.Secret), acache.WithBackendTimeout(cfg.BackendTimeout))
		t.Cleanup(func() { cache.Close() })
		url := o.URL + "/shared"
		start := time.Now()
		forwarded, left := 0, 0 // GETs that reached the origin; copies served after an invalidation
		for round := range rounds {
			forwarded += raceCopies(t, workers, store, url)
			require.NoError(t, cache.Purge(t.Context(), url))
			left += noCopyServed(t, workers, url, fmt.Sprintf("round %d: the parent's Purge", round))

			forwarded += raceCopies(t, workers, store, url)
			w := workers[round%len(workers)]
			w.send(t, "post "+url)
			var r herdReport
			w.report(t, &r)
			require.Zero(t, r.Failed, "worker %d: the POST of %s: %s", w.id, url, r.FirstError)
			left += noCopyServed(t, workers, url, fmt.Sprintf("round %d: a POST through worker %d", round, w.id))
		}
		t.Logf("%s, shards=%d: %d rounds in %v: %d processes × %d users' copies raced %d times (%d GETs forwarded, %d origin calls); "+
			"the %d user×process only-if-cached GETs after each of %d invalidations (Purge, POST) found %d copies",
			cfg.topology(), cfg.Shards, rounds, time.Since(start).Round(time.Millisecond), len(workers), fleetUsers, 2*rounds,
			forwarded, calls.Load(), len(workers)*fleetUsers, 2*rounds, left)
	})
}

// raceCopies has every worker GET url as each of fleetUsers users, all at
// once, and checks that every worker then serves every user's copy and
// that the URL's index lists every user's key. It returns how many GETs
// reached the origin.
func raceCopies(t *testing.T, workers []*herdWorker, store *Store, url string) (forwarded int) {
	t.Helper()
	reports := together(t, workers, func(*herdWorker) string { return fmt.Sprintf("users %s %d", url, fleetUsers) })
	for i, r := range reports {
		require.Zero(t, r.Failed, "worker %d: GETs of %s failed; the first: %s", workers[i].id, url, r.FirstError)
		forwarded += r.Forwarded
	}
	for _, w := range workers {
		served := checkCopies(t, w, url).Served
		require.Len(t, served, fleetUsers, "worker %d serves only these users' copies once all are stored: %v", w.id, served)
	}
	listed, err := store.Listed(t.Context(), "GET "+url)
	require.NoError(t, err)
	assert.Len(t, listed, fleetUsers, "the keys the URL's index lists once every user's copy is stored")
	return forwarded
}

// noCopyServed checks that no worker serves any user's copy of url, and
// returns how many copies the workers served.
func noCopyServed(t *testing.T, workers []*herdWorker, url, after string) (served int) {
	t.Helper()
	for _, w := range workers {
		users := checkCopies(t, w, url).Served
		if len(users) > 0 {
			t.Errorf("after %s, worker %d still serves the copies of %v", after, w.id, users)
		}
		served += len(users)
	}
	return served
}

// checkCopies asks w which users' copies of url it serves.
func checkCopies(t *testing.T, w *herdWorker, url string) servedReport {
	t.Helper()
	w.send(t, fmt.Sprintf("check %s %d", url, fleetUsers))
	var r servedReport
	w.report(t, &r)
	if r.Failed > 0 {
		t.Errorf("worker %d: %d only-if-cached GETs of %s failed; the first: %s", w.id, r.Failed, url, r.FirstError)
	}
	return r
}

// Every worker stores fillStores distinct responses of 4 KiB, fillParallel
// at a time, under one byte limit: the Store, sampled with Size throughout,
// never holds more than the limit and one entry, and its counts end equal
// to what it holds. With three shards, each holds a third of the limit,
// which bounds the whole the same.
func TestFleetProcessesStoreWideBound(t *testing.T) {
	const (
		bodySize     = 4 << 10
		maxBytes     = 256 << 10
		fillStores   = 300 // per worker
		fillParallel = 8
	)
	eachTopology(t, func(t *testing.T, cfg herdConfig, store *Store) {
		ctx := t.Context()
		var calls atomic.Int64
		o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Header().Set("Cache-Control", "max-age=600")
			w.Write(make([]byte, bodySize))
		}))
		t.Cleanup(o.Close)
		cfg.MaxBytes, cfg.MaxEntries = maxBytes, 1<<20
		workers := startHerdWorkers(t, cfg, fleetProcesses)

		// The parent samples Size while the workers store: the most bytes,
		// and the entries beside them.
		var (
			samples           int
			mostBytes, mostAt int64
			sampleErr         error
			stop              = make(chan struct{})
			sampled           sync.WaitGroup
		)
		sampled.Go(func() {
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				n, bytes, err := store.Size(ctx)
				if err != nil {
					sampleErr = err
					return
				}
				samples++
				if bytes > mostBytes {
					mostBytes, mostAt = bytes, int64(n)
				}
			}
		})
		start := time.Now()
		reports := together(t, workers, func(w *herdWorker) string {
			return fmt.Sprintf("fill %s/fill/%d %d %d", o.URL, w.id, fillStores, fillParallel)
		})
		elapsed := time.Since(start)
		close(stop)
		sampled.Wait()
		require.NoError(t, sampleErr, "Size while the workers stored")
		for i, r := range reports {
			assert.Zero(t, r.Failed, "worker %d: GETs failed; the first: %s", workers[i].id, r.FirstError)
		}

		n, bytes, err := store.Size(ctx)
		require.NoError(t, err)
		h := countHeld(t, store)
		require.Positive(t, h.entries, "the Store holds nothing once the workers stored %d responses", fillStores*len(workers))
		assert.Equal(t, h.entries, n, "Size's count is not the number of values the Store holds")
		assert.Equal(t, h.bytes, bytes, "Size's bytes are not the sum of the held entries' Size")
		assert.Equal(t, int64(n), h.members, "Size's count is not the members of the LRU orders (ZCARD)")
		assert.Equal(t, int64(n), h.sized, "Size's count is not the members of the sizes hashes (HLEN)")
		assert.Equal(t, bytes, h.sizes, "Size's bytes are not the sum of the sizes hashes (HVALS)")
		assert.LessOrEqual(t, bytes, int64(maxBytes), "bytes held once every store returned")
		assert.LessOrEqual(t, mostBytes, maxBytes+h.largest,
			"bytes held at one moment, over the limit by more than one entry (%d bytes)", h.largest)
		assert.Positive(t, samples, "Size was never sampled")
		t.Logf("%s, shards=%d: %d processes × %d stores of %d-byte bodies, %d at a time, in %v (%d origin calls); "+
			"%d samples of Size: at most %d bytes (%d entries), the limit %d, one entry %d; at the end %d entries, %d bytes, as counted",
			cfg.topology(), cfg.Shards, len(workers), fillStores, bodySize, fillParallel, elapsed.Round(time.Millisecond), calls.Load(),
			samples, mostBytes, mostAt, maxBytes, h.largest, n, bytes)
	})
}

// held is what the shards of a Store hold, counted afresh.
type held struct {
	entries int   // the values found for the members of the LRU orders
	bytes   int64 // the sum of their Size
	largest int64 // the largest of them
	members int64 // the members of the LRU orders (ZCARD)
	sized   int64 // the members of the sizes hashes (HLEN)
	sizes   int64 // the sum of the sizes hashes' values (HVALS)
}

// countHeld counts what the shards of s hold: the members of their LRU
// orders, their sizes, and the entries that their values decode to.
func countHeld(t *testing.T, s *Store) held {
	t.Helper()
	ctx := t.Context()
	var h held
	for _, sh := range s.shards {
		members, err := s.client.ZRange(ctx, sh.keys[0], 0, -1).Result()
		require.NoError(t, err)
		h.members += int64(len(members))
		sizes, err := s.client.HVals(ctx, sh.keys[1]).Result()
		require.NoError(t, err)
		h.sized += int64(len(sizes))
		for _, v := range sizes {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err, "a size in %s", sh.keys[1])
			h.sizes += n
		}
		for _, m := range members {
			data, err := s.client.Get(ctx, sh.entryPrefix+m).Bytes()
			if errors.Is(err, redis.Nil) {
				continue
			}
			require.NoError(t, err)
			e, err := decode(data)
			require.NoError(t, err, "the value of member %s", m)
			h.entries++
			h.bytes += e.Size()
			h.largest = max(h.largest, e.Size())
		}
	}
	return h
}

// Two workers store one URL at the same moment, each the response it just
// fetched; round after round, with a new URL each, the Store then holds
// exactly one response for the URL, the newer (by Date: policy.Newer).
func TestFleetProcessesOneURLAtOnce(t *testing.T) {
	const rounds = 30
	eachTopology(t, func(t *testing.T, cfg herdConfig, store *Store) {
		ctx := t.Context()
		o := newPairOrigin(t)
		workers := startHerdWorkers(t, cfg, 2)
		var keys []string
		start := time.Now()
		for round := range rounds {
			url := fmt.Sprintf("%s/newer/%d", o.URL, round)
			before := o.seq.Load()
			for i, r := range together(t, workers, func(*herdWorker) string { return "reload " + url }) {
				require.Zero(t, r.Failed, "round %d, worker %d: the GET failed: %s", round, workers[i].id, r.FirstError)
			}
			newer := o.seq.Load()
			require.Equal(t, before+2, newer, "round %d: responses the origin sent; want one per process", round)

			key := "GET " + url
			keys = append(keys, key)
			e, err := store.Get(ctx, key)
			require.NoError(t, err, "round %d: the stored entry", round)
			require.NotNil(t, e, "round %d: no response stored for the URL; want the newer", round)
			assert.Empty(t, e.Variants, "round %d: the entry holds other responses", round)
			require.Equal(t, strconv.FormatInt(newer, 10), e.Header.Get("X-Seq"),
				"round %d: the response stored (Date %s) is not the newer of the two", round, e.Header.Get("Date"))
			assert.Equal(t, fmt.Sprint("response ", newer), string(e.Body), "round %d: the stored body", round)
			n, _, err := store.Size(ctx)
			require.NoError(t, err)
			require.Equal(t, round+1, n, "round %d: entries the Store counts for %d URLs", round, round+1)
		}
		bookkeeping(t, store, keys)
		paired, widest := o.pairs()
		t.Logf("%s, shards=%d: %d rounds in %v: 2 processes stored one URL at once; the origin answered both requests together in %d rounds "+
			"(the widest gap between them %v); the newer response stored every round",
			cfg.topology(), cfg.Shards, rounds, time.Since(start).Round(time.Millisecond), paired, widest.Round(time.Microsecond))
	})
}

// pairWait is how long the pair origin holds the first request for a path
// while it waits for the second.
const pairWait = 2 * time.Second

// pairOrigin answers the two requests for each path together: the first
// waits for the second (pairWait at most), so that both processes store at
// the same moment. It numbers its responses in X-Seq and dates each that
// many seconds after it started, so that the later numbered is the newer
// (policy.Newer decides by Date), with a body that names the number.
type pairOrigin struct {
	*httptest.Server
	seq atomic.Int64

	mu     sync.Mutex
	first  map[string]pairFirst // the paths whose first request waits
	paired int                  // paths whose second request came within pairWait
	widest time.Duration        // the longest a first request waited for its second
}

// pairFirst is the first request for a path, waiting.
type pairFirst struct {
	came   time.Time
	second chan struct{} // closed when the second comes
}

func newPairOrigin(t *testing.T) *pairOrigin {
	o := &pairOrigin{first: make(map[string]pairFirst)}
	base := time.Now().Truncate(time.Second)
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.meet(r.URL.Path)
		n := o.seq.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Date", base.Add(time.Duration(n)*time.Second).UTC().Format(http.TimeFormat))
		w.Header().Set("X-Seq", strconv.FormatInt(n, 10))
		fmt.Fprint(w, "response ", n)
	}))
	t.Cleanup(o.Close)
	return o
}

// meet returns when both requests for path have come, or when the first
// has waited pairWait.
func (o *pairOrigin) meet(path string) {
	o.mu.Lock()
	f, waiting := o.first[path]
	if waiting {
		delete(o.first, path)
		if gap := time.Since(f.came); gap < pairWait {
			o.paired++
			o.widest = max(o.widest, gap)
		}
		o.mu.Unlock()
		close(f.second)
		return
	}
	f = pairFirst{came: time.Now(), second: make(chan struct{})}
	o.first[path] = f
	o.mu.Unlock()
	select {
	case <-f.second:
	case <-time.After(pairWait):
	}
}

// pairs returns how many paths' requests met, and the longest a first
// request waited for its second.
func (o *pairOrigin) pairs() (int, time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.paired, o.widest
}

// servedReport is what a worker tells of its only-if-cached GETs: whose
// copies its Cache served.
type servedReport struct {
	Served     []string `json:",omitempty"`
	Failed     int
	FirstError string `json:",omitempty"`
}

// fleetUser returns the name of user i.
func fleetUser(i int) string { return fmt.Sprint("user-", i) }

// workUsers prepares GETs of url as users 0 to n-1, calls ready, and sends
// them all at once if it returns true. Each must answer its user's body.
func workUsers(ctx context.Context, rt http.RoundTripper, url string, n int, ready func() bool) herdReport {
	return workAtOnce(ctx, n, n, ready, func(ctx context.Context, i int) (acache.CacheStatus, error) {
		user := fleetUser(i)
		status, body, err := fleetRequest(ctx, rt, http.MethodGet, url, user, acache.ModeDefault)
		if err == nil && string(body) != "for Bearer "+user {
			err = fmt.Errorf("GET %s as %s: %q", url, user, body)
		}
		return status, err
	})
}

// workCheck sends only-if-cached GETs of url as users 0 to n-1, one after
// the other, and reports whose copies were served. ErrNotCached, or a
// response that is no hit, is a miss; a copy with another user's body is a
// failure.
func workCheck(ctx context.Context, rt http.RoundTripper, url string, n int) servedReport {
	var r servedReport
	for i := range n {
		user := fleetUser(i)
		status, body, err := fleetRequest(ctx, rt, http.MethodGet, url, user, acache.ModeOnlyIfCached)
		switch {
		case errors.Is(err, acache.ErrNotCached), err == nil && !status.Hit:
		case err == nil && string(body) != "for Bearer "+user:
			err = fmt.Errorf("%s was served %q", user, body)
		case err == nil:
			r.Served = append(r.Served, user)
		}
		if err != nil && !errors.Is(err, acache.ErrNotCached) {
			if r.Failed == 0 {
				r.FirstError = err.Error()
			}
			r.Failed++
		}
	}
	return r
}

// workPost sends one POST of url.
func workPost(ctx context.Context, rt http.RoundTripper, url string) herdReport {
	var r herdReport
	status, _, err := fleetRequest(ctx, rt, http.MethodPost, url, "someone", acache.ModeDefault)
	r.add(status, err)
	return r
}

// workFill prepares GETs of base/0 to base/n-1, calls ready, and sends them
// if it returns true, parallel at a time.
func workFill(ctx context.Context, rt http.RoundTripper, base string, n, parallel int, ready func() bool) herdReport {
	return workAtOnce(ctx, n, parallel, ready, func(ctx context.Context, i int) (acache.CacheStatus, error) {
		status, _, err := fleetRequest(ctx, rt, http.MethodGet, fmt.Sprintf("%s/%d", base, i), "", acache.ModeDefault)
		return status, err
	})
}

// workReload prepares one GET of url that goes to the origin whatever is
// stored, calls ready, and sends it if it returns true.
func workReload(ctx context.Context, rt http.RoundTripper, url string, ready func() bool) herdReport {
	return workAtOnce(ctx, 1, 1, ready, func(ctx context.Context, _ int) (acache.CacheStatus, error) {
		status, _, err := fleetRequest(ctx, rt, http.MethodGet, url, "", acache.ModeReload)
		return status, err
	})
}

// fleetRequest sends one request through rt, as user (Authorization
// "Bearer <user>") unless user is "", under mode, and returns the
// Cache-Status and the whole body of its response. A status other than
// 2xx is an error; so is nothing stored under acache.ModeOnlyIfCached
// (acache.ErrNotCached).
func fleetRequest(ctx context.Context, rt http.RoundTripper, method, url, user string, mode acache.Mode) (acache.CacheStatus, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, herdStepTimeout)
	defer cancel()
	if mode != acache.ModeDefault {
		ctx = acache.WithControl(ctx, acache.Control{Mode: mode})
	}
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return acache.CacheStatus{}, nil, err
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+user)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return acache.CacheStatus{}, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return acache.CacheStatus{}, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return acache.CacheStatus{}, nil, fmt.Errorf("%s %s: %s %q", method, url, resp.Status, body)
	}
	status, _ := acache.CacheStatusOf(resp)
	return status, body, nil
}
