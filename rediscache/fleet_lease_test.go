package rediscache

// This file holds the fleet tests of the leases (lease.go) over worker
// processes (herd_test.go): a stale response's revalidation collapsed
// across processes, a leaseholder killed mid-fetch, and Redis killed and
// restarted under the traffic of three processes.

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A herd for a stale response over 3 or 6 processes revalidates it once:
// the first process to find it stale takes the lease, the others wait for
// the refreshed response. Only the word of a release wakes them in time.
func TestHerdsRevalidate(t *testing.T) {
	client := newClient(t)
	for _, processes := range []int{3, 6} {
		t.Run(fmt.Sprintf("processes=%d", processes), func(t *testing.T) {
			cfg := herdConfig{Addrs: []string{redisAddr(t)}, Shards: 1, LeasePoll: leaseWordsOnly}
			cfg.Prefix = newPrefix(t, client)
			cfg.Secret = []byte(rand.Text())
			o := newHerdOrigin(t)
			workers := startHerdWorkers(t, cfg, processes)
			n := max(*herds/2, 10) // stored at once, then stale at once: staleAfter must outlast their herds
			for i := range n {
				runHerd(t, workers[:1], fmt.Sprintf("%s/stale/%d", o.URL, i))
			}
			time.Sleep(staleAfter + 100*time.Millisecond)
			calls := make([]int, n)
			start := time.Now()
			for i := range calls {
				path := fmt.Sprintf("/stale/%d", i)
				reports := runHerd(t, workers, o.URL+path)
				calls[i] = o.callsTo(path) - 1 // the first fetch
				explainOver(t, i, calls[i], reports)
				revalidated := 0
				for _, r := range reports {
					for status, count := range r.Statuses {
						if strings.Contains(status, "fwd=stale; fwd-status=304") {
							revalidated += count
						}
					}
				}
				assert.Positive(t, revalidated, "herd %d: no request revalidated the stale response: %s", i, explain(reports))
			}
			checkHerdCalls(t, fmt.Sprintf("node, revalidation, N=%d processes × %d GETs", processes, herdRequests), calls, start)
		})
	}
}

// A leaseholder killed mid-fetch (SIGKILL: it releases nothing) keeps the
// other processes waiting until its lease ends (leaseTTL, well within the
// collapse wait), then one of them takes the lease, and the rest wait for
// it: every request is answered, with one origin call more. The next herd
// collapses again.
func TestHerdLeaseholderKilled(t *testing.T) {
	client := newClient(t)
	cfg := herdConfig{Addrs: []string{redisAddr(t)}, Shards: 1}
	cfg.Prefix = newPrefix(t, client)
	cfg.Secret = []byte(rand.Text())
	o := newHerdOrigin(t)
	workers := startHerdWorkers(t, cfg, 3)
	holder, others := workers[0], workers[1:]

	const path = "/held/killed"
	holder.send(t, "herd "+o.URL+path)
	holder.expect(t, "ready")
	holder.send(t, "go")
	require.Eventually(t, func() bool { return o.callsTo(path) == 1 }, herdStepTimeout, time.Millisecond,
		"the first process's request did not reach the origin")
	for _, w := range others {
		w.send(t, "herd "+o.URL+path)
	}
	for _, w := range others {
		w.expect(t, "ready")
	}
	for _, w := range others {
		w.send(t, "go")
	}
	time.Sleep(200 * time.Millisecond) // the others wait for the holder's lease
	require.Equal(t, 1, o.callsTo(path), "a process went to the origin while the lease was held")
	holder.kill(t)
	killed := time.Now()
	reports := make([]herdReport, len(others))
	for i, w := range others {
		w.report(t, &reports[i])
		assert.Zero(t, reports[i].Failed, "worker %d: %d GETs failed; the first: %s", w.id, reports[i].Failed, reports[i].FirstError)
	}
	after := o.callsTo(path) - 1
	t.Logf("after the leaseholder was killed: %d origin calls for %d GETs from %d processes, all answered %v after the kill\n\t%s",
		after, herdRequests*len(others), len(others), time.Since(killed).Round(time.Millisecond), explain(reports))
	assert.LessOrEqual(t, after, 2, "origin calls after the leaseholder was killed")

	survivors := append(slices.Clone(others), startHerdWorker(t, len(workers), mustJSON(t, cfg)))
	calls := make([]int, 5)
	start := time.Now()
	for i := range calls {
		path := fmt.Sprintf("/herd/after-kill-%d", i)
		reports := runHerd(t, survivors, o.URL+path)
		calls[i] = o.callsTo(path)
		explainOver(t, i, calls[i], reports)
	}
	checkHerdCalls(t, "node, after the kill, N=3 processes", calls, start)
}

// Redis killed and started again (empty) under the traffic of three
// processes: no request fails, and hits come back within two seconds of the
// restart.
func TestFleetRedisRestartUnderTraffic(t *testing.T) {
	server := startRedis(t)
	cfg := herdConfig{Addrs: []string{server.addr()}, Shards: 1, Prefix: "restart", Secret: []byte(rand.Text())}
	o := newHerdOrigin(t)
	workers := startHerdWorkers(t, cfg, 3)
	const (
		urls     = 20
		duration = 5 * time.Second
		killAt   = 1500 * time.Millisecond
		downFor  = time.Second
	)
	for _, w := range workers {
		w.send(t, fmt.Sprintf("steady %s/steady %d %d", o.URL, urls, duration.Milliseconds()))
	}
	for _, w := range workers {
		w.expect(t, "ready")
	}
	for _, w := range workers {
		w.send(t, "go")
	}
	time.Sleep(killAt)
	server.stop()
	time.Sleep(downFor)
	server.start()
	restarted := time.Now()
	for _, w := range workers {
		var r steadyReport
		w.report(t, &r)
		assert.Zero(t, r.Failed, "worker %d: %d of %d GETs failed; the first: %s", w.id, r.Failed, r.Requests, r.FirstError)
		hits := 0
		for _, n := range r.Hits {
			hits += n
		}
		back := r.firstHitAfter(restarted)
		t.Logf("worker %d: %d GETs, %d hits, %d failed; the first hit after the restart %v after it",
			w.id, r.Requests, hits, r.Failed, back)
		if assert.GreaterOrEqual(t, back, time.Duration(0), "worker %d: no hit after Redis came back", w.id) {
			assert.LessOrEqual(t, back, 2*time.Second, "worker %d: hits came back late", w.id)
		}
	}
}

// mustJSON returns cfg in JSON, as a worker takes it.
func mustJSON(t *testing.T, cfg herdConfig) string {
	spec, err := json.Marshal(cfg)
	require.NoError(t, err)
	return string(spec)
}
