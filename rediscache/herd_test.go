package rediscache

// This file holds the herd tests: several processes, each with a Cache of
// its own over one prefix, request the same new URL at the same moment.
// Collapsed forwarding lets one request per process reach the origin; the
// Store must let no more through, whatever the other processes store
// meanwhile. It also holds the worker processes that the herd tests and
// the fleet tests of fleet_process_test.go share.
//
// The test binary re-executes itself as the processes: TestHerdWorker,
// which returns at once in an ordinary run, serves the parent's commands
// when herdWorkerEnv holds its configuration. The parent and each worker
// talk over the worker's stdin and stdout, a line each way per step:
//
//	parent → worker  "herd <url>"          prepare herdRequests GETs of url
//	worker → parent  "ready"               they wait for the start
//	parent → worker  "go"                  sent to every worker once all are ready
//	worker → parent  "done <report>"       every GET has its whole answer
//
// The parent then asks its origin how many requests for the URL reached it;
// the reports (herdReport, in JSON) say which processes sent them, and why.
// Closing a worker's stdin ends it.
//
// The fleet tests send these commands too; each ends in "done <report>",
// and those marked (at once) first answer "ready" and wait for "go", as a
// herd does:
//
//	"users <url> <n>"             (at once) GETs of url as user-0 … user-<n-1>,
//	                              each with its own Authorization field, all
//	                              at once; a herdReport
//	"check <url> <n>"             only-if-cached GETs of url as each of those
//	                              users; a servedReport of whose copies the
//	                              Cache served
//	"post <url>"                  one POST of url; a herdReport
//	"fill <base> <n> <parallel>"  (at once) GETs of <base>/0 … <base>/<n-1>,
//	                              <parallel> at a time; a herdReport
//	"reload <url>"                (at once) one GET of url that must reach the
//	                              origin (acache.ModeReload); a herdReport
//	"steady <base> <n> <ms>"      (at once) GETs of <base>/0 … <base>/<n-1>
//	                              in turn, from steadyParallel goroutines,
//	                              for <ms> milliseconds; a steadyReport
//
// With the default -herds=20, the file takes 5 to 15 s on two cores, and
// about 30 s under the race detector; -herds=200 measures the distribution
// of the calls more closely.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

var herds = flag.Int("herds", 20, "herds TestHerds and TestHerdsCluster run per number of processes; run -herds=200 for a closer measure")

const (
	// herdWorkerEnv holds a worker's herdConfig, in JSON; its presence
	// makes TestHerdWorker a worker.
	herdWorkerEnv = "ACACHE_HERD_WORKER"
	// herdRequests is how many GETs each process sends at once per herd.
	herdRequests = 64
	// herdOriginDelay is how long the origin takes to answer, so that the
	// processes' requests overlap.
	herdOriginDelay = 20 * time.Millisecond
	// herdStepTimeout bounds each step of the protocol: a hang detector.
	herdStepTimeout = 30 * time.Second
	// staleAfter is the freshness lifetime of the herd origin's responses
	// under /stale/, in whole seconds.
	staleAfter = 2 * time.Second
)

// herdConfig is what a worker needs to reach the Store the others share.
type herdConfig struct {
	Addrs   []string // the server's address, or the seeds of a Cluster
	Cluster bool
	Prefix  string
	Shards  int
	Secret  []byte // the partition secret, the same in every process
	// MaxEntries, MaxBytes and BackendTimeout configure the worker's
	// Cache; zero means acache's default.
	MaxEntries     int           `json:",omitempty"`
	MaxBytes       int64         `json:",omitempty"`
	BackendTimeout time.Duration `json:",omitempty"`
	// LeasePoll is the Store's WithLeasePoll, CollapseWait the Cache's
	// WithCollapseWait; zero means the default.
	LeasePoll    time.Duration `json:",omitempty"`
	CollapseWait time.Duration `json:",omitempty"`
}

// topology names the Redis the workers share.
func (c herdConfig) topology() string {
	if c.Cluster {
		return "cluster"
	}
	return "node"
}

// One node, one shard: a herd over 3 or 6 processes reaches the origin
// once (collapsed across the fleet through the Store's leases).
func TestHerds(t *testing.T) {
	client := newClient(t)
	for _, processes := range []int{3, 6} {
		t.Run(fmt.Sprintf("processes=%d", processes), func(t *testing.T) {
			cfg := herdConfig{Addrs: []string{redisAddr(t)}, Shards: 1}
			runHerds(t, client, cfg, processes)
		})
	}
}

// A Cluster, three shards: the same.
func TestHerdsCluster(t *testing.T) {
	client := newClusterClient(t)
	cfg := herdConfig{Addrs: clusterAddrs(t), Cluster: true, Shards: 3}
	runHerds(t, client, cfg, 3)
}

// runHerds starts processes workers over a fresh prefix of client, runs
// *herds herds through them, logs the origin's calls per herd and fails
// unless the median herd reached it once, and none more than twice (a
// lease may expire on a loaded machine). The workers poll leases less
// often than they wait for them: only the word of a release wakes them in
// time.
func runHerds(t *testing.T, client redis.UniversalClient, cfg herdConfig, processes int) {
	cfg.Prefix = newPrefix(t, client)
	cfg.Secret = []byte(rand.Text())
	cfg.LeasePoll = leaseWordsOnly
	o := newHerdOrigin(t)
	workers := startHerdWorkers(t, cfg, processes)
	calls := make([]int, *herds)
	start := time.Now()
	for i := range calls {
		path := fmt.Sprintf("/herd/%d", i)
		reports := runHerd(t, workers, o.URL+path)
		calls[i] = o.callsTo(path)
		explainOver(t, i, calls[i], reports)
	}
	checkHerdCalls(t, fmt.Sprintf("%s, shards=%d, N=%d processes × %d GETs", cfg.topology(), cfg.Shards, processes, herdRequests), calls, start)
}

// leaseWordsOnly is a lease poll interval longer than the collapse wait
// (5 s), so that a waiter that missed the word of a release waits the
// collapse wait out and goes to the origin itself, which the herd tests
// count.
const leaseWordsOnly = time.Minute

// explainOver logs the reports of herd i when it reached the origin more
// than once.
func explainOver(t *testing.T, i, calls int, reports []herdReport) {
	if calls > 1 {
		t.Logf("herd %d: %d origin calls\n\t%s", i, calls, explain(reports))
	}
}

// checkHerdCalls logs the origin calls of each herd, begun at start, and
// fails unless the median is 1 and the worst at most 2.
func checkHerdCalls(t *testing.T, what string, calls []int, start time.Time) {
	t.Helper()
	median, mean, worst := summarize(calls)
	t.Logf("%s, %d herds in %v: origin calls per herd: median %g, mean %.2f, worst %d; all: %v",
		what, len(calls), time.Since(start).Round(time.Millisecond), median, mean, worst, calls)
	if median > 1 || worst > 2 {
		t.Errorf("%s: herds reached the origin %v times; want median 1, worst at most 2", what, calls)
	}
}

// runHerd has every worker send herdRequests GETs of url at once, waits
// until all have their answers, and returns the workers' reports.
func runHerd(t *testing.T, workers []*herdWorker, url string) []herdReport {
	t.Helper()
	reports := together(t, workers, func(*herdWorker) string { return "herd " + url })
	for i, r := range reports {
		if r.Failed > 0 {
			t.Errorf("worker %d: %d of %d GETs of %s failed; the first: %s", workers[i].id, r.Failed, herdRequests, url, r.FirstError)
		}
	}
	return reports
}

// together sends every worker its command, which must be one that starts
// at once, and "go" once all are ready; it returns their reports, in the
// order of workers.
func together(t *testing.T, workers []*herdWorker, command func(*herdWorker) string) []herdReport {
	t.Helper()
	for _, w := range workers {
		w.send(t, command(w))
	}
	for _, w := range workers {
		w.expect(t, "ready")
	}
	for _, w := range workers {
		w.send(t, "go")
	}
	reports := make([]herdReport, len(workers))
	for i, w := range workers {
		w.report(t, &reports[i])
	}
	return reports
}

// explain says how many GETs of each worker reached the origin, and the
// Cache-Status of all its GETs.
func explain(reports []herdReport) string {
	lines := make([]string, len(reports))
	for i, r := range reports {
		lines[i] = fmt.Sprintf("worker %d: %d to the origin; %v", i, r.Forwarded, r.Statuses)
	}
	return strings.Join(lines, "\n\t")
}

// summarize returns the median, mean and largest of calls.
func summarize(calls []int) (median, mean float64, worst int) {
	sorted := slices.Sorted(slices.Values(calls))
	n := len(sorted)
	if n == 0 {
		return 0, 0, 0
	}
	median = float64(sorted[(n-1)/2]+sorted[n/2]) / 2
	sum := 0
	for _, c := range sorted {
		sum += c
	}
	return median, float64(sum) / float64(n), sorted[n-1]
}

// herdBody begins every body of the herd origin, followed by the path.
const herdBody = "the herd at "

// herdOrigin is an origin that counts its calls per path and answers each,
// after herdOriginDelay, with a small body fresh for ten minutes; under
// /stale/, fresh for staleAfter, with a validator it answers 304 to; under
// /held/, the first request for a path gets no answer until its client
// goes away.
type herdOrigin struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

func newHerdOrigin(t *testing.T) *herdOrigin {
	o := &herdOrigin{calls: make(map[string]int)}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.calls[r.URL.Path]++
		first := o.calls[r.URL.Path] == 1
		o.mu.Unlock()
		if first && strings.HasPrefix(r.URL.Path, "/held/") {
			<-r.Context().Done()
			return
		}
		time.Sleep(herdOriginDelay)
		if strings.HasPrefix(r.URL.Path, "/stale/") {
			w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", int(staleAfter/time.Second)))
			w.Header().Set("ETag", `"v"`)
			if r.Header.Get("If-None-Match") == `"v"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		} else {
			w.Header().Set("Cache-Control", "max-age=600")
		}
		io.WriteString(w, herdBody+r.URL.Path)
	}))
	t.Cleanup(o.Close)
	return o
}

// callsTo returns how many requests for path the origin has answered.
func (o *herdOrigin) callsTo(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[path]
}

// herdWorker is the parent's end of a worker process.
type herdWorker struct {
	id    int
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // what the worker prints, closed when it exits
	// said holds the lines that were not the answer expected: the
	// worker's complaints, shown if it fails.
	said []string
	// killed reports that the test killed the worker: its exit is no
	// failure.
	killed bool
}

// kill kills the worker at once (SIGKILL): it releases nothing.
func (w *herdWorker) kill(t *testing.T) {
	t.Helper()
	w.killed = true
	require.NoError(t, w.cmd.Process.Kill())
}

// startHerdWorkers starts n workers with cfg, ended when t ends.
func startHerdWorkers(t *testing.T, cfg herdConfig, n int) []*herdWorker {
	spec, err := json.Marshal(cfg)
	require.NoError(t, err)
	workers := make([]*herdWorker, n)
	for i := range workers {
		workers[i] = startHerdWorker(t, i, string(spec))
	}
	return workers
}

// startHerdWorker starts the test binary as worker id, running only
// TestHerdWorker with spec in herdWorkerEnv, and stops it when t ends.
func startHerdWorker(t *testing.T, id int, spec string) *herdWorker {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHerdWorker$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), herdWorkerEnv+"="+spec,
		// The race detector sleeps a second before a process exits, unless told not to.
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	w := &herdWorker{id: id, cmd: cmd, stdin: stdin, lines: make(chan string)}
	go func() {
		defer close(w.lines)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			w.lines <- lines.Text()
		}
	}()
	t.Cleanup(func() {
		if err := w.stop(); err != nil && !w.killed {
			t.Errorf("worker %d: %v\n%s\n%s", id, err, strings.Join(w.said, "\n"), stderr.String())
		}
	})
	return w
}

// stop closes the worker's stdin, which ends it, and waits for it to exit:
// for herdStepTimeout at most, after which it kills it.
func (w *herdWorker) stop() error {
	w.stdin.Close()
	kill := time.AfterFunc(herdStepTimeout, func() { w.cmd.Process.Kill() })
	defer kill.Stop()
	for line := range w.lines { // the pipe is read to its end before Wait closes it
		w.said = append(w.said, line)
	}
	return w.cmd.Wait()
}

// send writes line to the worker.
func (w *herdWorker) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(w.stdin, line+"\n"); err != nil {
		t.Fatalf("worker %d: sending %q: %v", w.id, line, err)
	}
}

// expect waits for the worker to print a line that begins with word, and
// returns the rest of it.
func (w *herdWorker) expect(t *testing.T, word string) string {
	t.Helper()
	timeout := time.NewTimer(herdStepTimeout)
	defer timeout.Stop()
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				t.Fatalf("worker %d exited while the parent waited for %q", w.id, word)
			}
			if rest, found := strings.CutPrefix(line, word); found {
				return strings.TrimPrefix(rest, " ")
			}
			w.said = append(w.said, line)
		case <-timeout.C:
			t.Fatalf("worker %d: no %q in %v", w.id, word, herdStepTimeout)
		}
	}
}

// report waits for the worker's "done" and decodes its report into r.
func (w *herdWorker) report(t *testing.T, r any) {
	t.Helper()
	if err := json.Unmarshal([]byte(w.expect(t, "done")), r); err != nil {
		t.Fatalf("worker %d: its report: %v", w.id, err)
	}
}

// TestHerdWorker is a worker process of the herd and fleet tests, when
// herdWorkerEnv is set; in an ordinary run it does nothing.
func TestHerdWorker(t *testing.T) {
	spec, isWorker := os.LookupEnv(herdWorkerEnv)
	if !isWorker {
		return
	}
	var cfg herdConfig
	require.NoError(t, json.Unmarshal([]byte(spec), &cfg))
	require.NotEmpty(t, cfg.Addrs, "%s names no Redis", herdWorkerEnv)
	rt := newHerdTransport(t, cfg)
	ctx := t.Context()
	commands := bufio.NewScanner(os.Stdin)
	ready := func() bool {
		fmt.Println("ready")
		return commands.Scan() && commands.Text() == "go"
	}
	for commands.Scan() {
		command := commands.Text()
		verb, rest, _ := strings.Cut(command, " ")
		args := strings.Fields(rest)
		var report any
		switch {
		case verb == "herd" && len(args) == 1:
			report = workHerd(ctx, rt, args[0], ready)
		case verb == "users" && len(args) == 2:
			report = workUsers(ctx, rt, args[0], atoi(t, args[1]), ready)
		case verb == "check" && len(args) == 2:
			report = workCheck(ctx, rt, args[0], atoi(t, args[1]))
		case verb == "post" && len(args) == 1:
			report = workPost(ctx, rt, args[0])
		case verb == "fill" && len(args) == 3:
			report = workFill(ctx, rt, args[0], atoi(t, args[1]), atoi(t, args[2]), ready)
		case verb == "reload" && len(args) == 1:
			report = workReload(ctx, rt, args[0], ready)
		case verb == "steady" && len(args) == 3:
			report = workSteady(ctx, rt, args[0], atoi(t, args[1]), time.Duration(atoi(t, args[2]))*time.Millisecond, ready)
		default:
			t.Fatalf("the parent sent %q, which is no command", command)
		}
		line, err := json.Marshal(report)
		require.NoError(t, err)
		fmt.Printf("done %s\n", line)
	}
	require.NoError(t, commands.Err())
}

// atoi returns the number s spells, and fails t if it spells none.
func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// newHerdTransport returns a worker's Transport over a Cache of its own,
// over a Store on cfg's prefix through a client of its own, all closed
// when t ends.
func newHerdTransport(t *testing.T, cfg herdConfig) *acache.Transport {
	var client redis.UniversalClient
	if cfg.Cluster {
		client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: cfg.Addrs})
	} else {
		client = redis.NewClient(&redis.Options{Addr: cfg.Addrs[0]})
	}
	t.Cleanup(func() { client.Close() })
	store := New(client, WithPrefix(cfg.Prefix), WithShards(cfg.Shards), WithLeasePoll(cfg.LeasePoll))
	transport := acache.NewTransport(acache.NewCache(store, acache.WithPartitionSecret(cfg.Secret),
		acache.WithMaxEntries(cfg.MaxEntries), acache.WithMaxBytes(cfg.MaxBytes), acache.WithBackendTimeout(cfg.BackendTimeout),
		acache.WithCollapseWait(cfg.CollapseWait)))
	transport.Transport = &http.Transport{MaxIdleConnsPerHost: herdRequests}
	t.Cleanup(func() {
		transport.Close()
		store.Close()
	})
	return transport
}

// herdReport is what a worker tells of its GETs of one herd.
type herdReport struct {
	Failed     int
	FirstError string `json:",omitempty"`
	// Forwarded counts the GETs the origin answered (not collapsed into
	// another), and Statuses the Cache-Status of every GET, without its
	// TTL, by how many had it.
	Forwarded int
	Statuses  map[string]int `json:",omitempty"`
}

// workHerd prepares herdRequests GETs of url through rt, calls ready, and
// sends them all at once if it returns true.
func workHerd(ctx context.Context, rt http.RoundTripper, url string, ready func() bool) herdReport {
	return workAtOnce(ctx, herdRequests, herdRequests, ready, func(ctx context.Context, _ int) (acache.CacheStatus, error) {
		return herdGet(ctx, rt, url)
	})
}

// workAtOnce prepares n requests, request(ctx, i) for i from 0 to n-1, on
// parallel goroutines, calls ready, and sends them if it returns true:
// parallel at once, then each as one ends.
func workAtOnce(ctx context.Context, n, parallel int, ready func() bool,
	request func(ctx context.Context, i int) (acache.CacheStatus, error)) herdReport {
	start := make(chan struct{})
	var (
		wg     sync.WaitGroup
		next   atomic.Int64 // the next request to send
		mu     sync.Mutex
		report herdReport
	)
	for range min(n, parallel) {
		wg.Go(func() {
			<-start
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				status, err := request(ctx, i)
				mu.Lock()
				report.add(status, err)
				mu.Unlock()
			}
		})
	}
	if !ready() {
		ctx = canceled(ctx) // no start: the requests end at once
	}
	close(start)
	wg.Wait()
	return report
}

// add counts the outcome of one GET.
func (r *herdReport) add(status acache.CacheStatus, err error) {
	if err != nil {
		if r.Failed == 0 {
			r.FirstError = err.Error()
		}
		r.Failed++
		return
	}
	if status.FwdStatus != 0 && !status.Collapsed {
		r.Forwarded++
	}
	if r.Statuses == nil {
		r.Statuses = make(map[string]int)
	}
	status.TTL = 0
	r.Statuses[strings.ReplaceAll(status.String(), "; ttl=0", "")]++
}

// canceled returns a context that is already done.
func canceled(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	cancel()
	return ctx
}

// herdGet sends one GET of url through rt, reads its whole body, and
// returns the Cache-Status the Cache gave it.
func herdGet(ctx context.Context, rt http.RoundTripper, url string) (acache.CacheStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, herdStepTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return acache.CacheStatus{}, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return acache.CacheStatus{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return acache.CacheStatus{}, err
	}
	_, path, named := strings.Cut(string(body), herdBody)
	if resp.StatusCode != http.StatusOK || !named || !strings.HasSuffix(url, path) {
		return acache.CacheStatus{}, fmt.Errorf("GET %s: %s %q", url, resp.Status, body)
	}
	status, _ := acache.CacheStatusOf(resp)
	return status, nil
}

// steadyParallel is how many GETs a worker keeps in flight under "steady".
const steadyParallel = 4

// steadyReport is what a worker tells of its GETs under "steady".
type steadyReport struct {
	Requests, Failed int
	FirstError       string `json:",omitempty"`
	// Start is when the GETs began, in Unix milliseconds, and Hits counts
	// the GETs that were hits by when they began: Hits[i] those that began
	// in the i-th steadyBucket after Start.
	Start int64
	Hits  []int
}

// steadyBucket is the span of time a steadyReport counts hits by.
const steadyBucket = 10 * time.Millisecond

// firstHitAfter returns how long after t the first hit of r began, to
// within a steadyBucket, or -1 if none did.
func (r *steadyReport) firstHitAfter(t time.Time) time.Duration {
	start := time.UnixMilli(r.Start)
	for i, hits := range r.Hits {
		began := start.Add(time.Duration(i) * steadyBucket)
		if hits > 0 && began.Add(steadyBucket).After(t) {
			return max(began.Sub(t), 0)
		}
	}
	return -1
}

// workSteady sends GETs of base/0 … base/n-1 in turn, steadyParallel at a
// time, for d from the start (ready), and reports every outcome.
func workSteady(ctx context.Context, rt http.RoundTripper, base string, n int, d time.Duration, ready func() bool) steadyReport {
	var (
		mu     sync.Mutex
		report steadyReport
		next   atomic.Int64
		wg     sync.WaitGroup
	)
	if !ready() {
		return report
	}
	start := time.Now()
	end := start.Add(d)
	report.Start = start.UnixMilli()
	report.Hits = make([]int, d/steadyBucket+1)
	for range steadyParallel {
		wg.Go(func() {
			for time.Now().Before(end) {
				url := fmt.Sprintf("%s/%d", base, next.Add(1)%int64(n))
				began := time.Now()
				status, err := herdGet(ctx, rt, url)
				mu.Lock()
				report.Requests++
				switch {
				case err != nil:
					if report.Failed == 0 {
						report.FirstError = err.Error()
					}
					report.Failed++
				case status.Hit:
					report.Hits[min(int(began.Sub(start)/steadyBucket), len(report.Hits)-1)]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return report
}
