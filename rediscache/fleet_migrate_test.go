package rediscache

// This file holds the herd test across a live reshard of the Cluster: the
// slots of a Store's shards move to other masters (CLUSTER SETSLOT and
// MIGRATE, as redis-cli --cluster reshard does) while a herd waits on a
// lease in one of them. The test moves slots of the Cluster every other
// test shares: they stay moved (every test has a prefix, hence slots, of
// its own), but none is left half moved, whatever happens to the test.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

const (
	// slotMoveProcesses is how many workers herd through the move.
	slotMoveProcesses = 3
	// slotMoveHerdsAfter is how many herds run once the slots have moved.
	slotMoveHerdsAfter = 6
	// slotMoveCollapseWait is the workers' collapse wait: longer than the
	// default, so that on a loaded machine the held request and the move
	// end well within it. Were it to run out, the held request's 63 twins
	// in its own process would go to the origin too, and the herd would
	// tell nothing of the move.
	slotMoveCollapseWait = 15 * time.Second
	// slotMoveSettle is how long the test lets the workers that did not
	// take the lease reach their wait on it before it moves the slots;
	// were one later, the test would only be weaker.
	slotMoveSettle = 200 * time.Millisecond
	// migrateBatch is how many keys one MIGRATE moves, and migrateTimeout
	// its timeout, in milliseconds, as MIGRATE takes it.
	migrateBatch   = 100
	migrateTimeout = 5000
	// clusterAdminTimeout bounds each command the test sends a master,
	// and clusterSettleTimeout the wait for the masters to agree.
	clusterAdminTimeout  = 10 * time.Second
	clusterSettleTimeout = 10 * time.Second
)

// TestHerdSlotMovedMidHerd shows that a Cluster reshard in the middle of a
// herd costs no request and at most one origin call per process: three
// worker processes (Stores with three shards) send a herd of GETs for a new
// URL; the origin holds the lease holder's request while the slots of all
// three shards (so the URL's too) move, each to another master, keys, lease
// and all, and Redis ends the waiters' subscriptions to the shards'
// channels; then the origin answers. Every GET succeeds, and the origin is
// called at most once per process: a waiter that lost track of the lease
// goes to the origin itself, no worse. The herds after the move collapse
// again, into at most two calls each: the Stores find the lease where the
// slot now is, and subscribe again there.
func TestHerdSlotMovedMidHerd(t *testing.T) {
	client := newClusterClient(t)
	masters := clusterMasters(t)
	cfg := herdConfig{
		Addrs:        clusterAddrs(t),
		Cluster:      true,
		Shards:       3,
		Prefix:       newPrefix(t, client),
		Secret:       []byte(rand.Text()),
		CollapseWait: slotMoveCollapseWait,
	}
	moves := planSlotMoves(t, client, masters, cfg.Prefix, cfg.Shards)
	t.Cleanup(func() { settleSlotMoves(t, masters, moves) })
	o := newHoldingOrigin(t)
	workers := startHerdWorkers(t, cfg, slotMoveProcesses)
	ctx := t.Context()

	// The herd, step by step (as together does), to move the slots while
	// the lease holder's request is held at the origin.
	path := "/moved-mid-herd"
	held := o.hold(t, path)
	for _, w := range workers {
		w.send(t, "herd "+o.URL+path)
	}
	for _, w := range workers {
		w.expect(t, "ready")
	}
	for _, w := range workers {
		w.send(t, "go")
	}
	select {
	case <-held.arrived:
	case <-time.After(herdStepTimeout):
		t.Fatalf("no request for %s reached the origin in %v", path, herdStepTimeout)
	}
	time.Sleep(slotMoveSettle)
	t.Logf("before the move, subscribers of the shards' channels: %s", shardSubscribers(ctx, masters, moves))
	start := time.Now()
	for _, mv := range moves {
		require.NoError(t, mv.run(ctx, masters), "moving slot %d", mv.slot)
	}
	require.NoError(t, waitSlotOwners(ctx, masters, moves))
	t.Logf("moved %s in %v", describeMoves(moves), time.Since(start).Round(time.Millisecond))
	held.release()
	reports := make([]herdReport, len(workers))
	for i, w := range workers {
		w.report(t, &reports[i])
	}
	for i, r := range reports {
		if r.Failed > 0 {
			t.Errorf("worker %d: %d of %d GETs of %s failed across the move; the first: %s",
				workers[i].id, r.Failed, herdRequests, path, r.FirstError)
		}
	}
	calls := o.callsTo(path)
	t.Logf("the herd across the move: %d origin calls\n\t%s", calls, explain(reports))
	if calls > slotMoveProcesses {
		t.Errorf("the herd across the move reached the origin %d times, more than once per process (%d processes)",
			calls, slotMoveProcesses)
	}

	// The herds after the move: runHerd fails the test if a GET fails.
	after := make([]int, slotMoveHerdsAfter)
	for i := range after {
		path := fmt.Sprintf("/after-the-move/%d", i)
		reports := runHerd(t, workers, o.URL+path)
		after[i] = o.callsTo(path)
		if i == 0 || after[i] > 2 {
			t.Logf("herd %d after the move: %d origin calls\n\t%s", i, after[i], explain(reports))
		}
	}
	median, _, worst := summarize(after)
	t.Logf("%d herds after the move: origin calls per herd: median %g, worst %d; all: %v", len(after), median, worst, after)
	t.Logf("after them, subscribers of the shards' channels: %s", shardSubscribers(ctx, masters, moves))
	if worst > 2 {
		t.Errorf("herds after the move reached the origin more than twice: %v", after)
	}
}

// holdingOrigin is an origin that counts its calls per path and answers
// each, after herdOriginDelay, with a small body fresh for ten minutes, as
// herdOrigin does, except the first request for a path it was told to
// hold: that one it answers only once the test releases it (or its
// request's context ends).
type holdingOrigin struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
	holds map[string]*heldRequest
}

// heldRequest is the first request for a path that a holdingOrigin holds.
type heldRequest struct {
	arrived     chan struct{} // closed once it reached the origin
	released    chan struct{} // closed by release
	releaseOnce sync.Once
}

// release lets the held request be answered; it may be called any number
// of times.
func (h *heldRequest) release() {
	h.releaseOnce.Do(func() { close(h.released) })
}

// newHoldingOrigin returns a holdingOrigin, closed when t ends.
func newHoldingOrigin(t *testing.T) *holdingOrigin {
	o := &holdingOrigin{calls: make(map[string]int), holds: make(map[string]*heldRequest)}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.calls[r.URL.Path]++
		held := o.holds[r.URL.Path]
		first := o.calls[r.URL.Path] == 1
		o.mu.Unlock()
		if held != nil && first {
			close(held.arrived)
			select {
			case <-held.released:
			case <-r.Context().Done():
				return
			}
		} else {
			time.Sleep(herdOriginDelay)
		}
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, herdBody+r.URL.Path)
	}))
	t.Cleanup(o.Close)
	return o
}

// hold makes the origin hold the first request for path, which must have
// none yet, until the returned heldRequest is released, at the latest when
// t ends: before the cleanups registered until then, such as the stop of
// the workers whose request it holds, and the origin's Close, which wait
// for that request.
func (o *holdingOrigin) hold(t *testing.T, path string) *heldRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := &heldRequest{arrived: make(chan struct{}), released: make(chan struct{})}
	o.holds[path] = h
	t.Cleanup(h.release)
	return h
}

// callsTo returns how many requests for path reached the origin.
func (o *holdingOrigin) callsTo(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[path]
}

// clusterMaster is a master of the Cluster, reached through a client of its
// own rather than through the Cluster's routing.
type clusterMaster struct {
	id         string // CLUSTER MYID
	host, port string // where the other nodes reach it, as it announces itself
	client     *redis.Client
}

// clusterMasters returns the masters among the Cluster's seeds, each with a
// client closed when t ends. The test needs two at least.
func clusterMasters(t *testing.T) []*clusterMaster {
	var masters []*clusterMaster
	for _, addr := range clusterAddrs(t) {
		client := redis.NewClient(&redis.Options{Addr: addr, ReadTimeout: clusterAdminTimeout, WriteTimeout: clusterAdminTimeout})
		t.Cleanup(func() { client.Close() })
		id, err := client.ClusterMyID(t.Context()).Result()
		require.NoError(t, err, "CLUSTER MYID of %s", addr)
		self, err := clusterSelf(t.Context(), client)
		require.NoError(t, err, "CLUSTER NODES of %s", addr)
		require.Equal(t, id, self.id, "CLUSTER MYID and CLUSTER NODES of %s", addr)
		if !self.master {
			continue
		}
		host, port, err := net.SplitHostPort(self.addr)
		require.NoError(t, err, "the address %s announces", addr)
		if host == "" {
			host, _, _ = net.SplitHostPort(addr)
		}
		masters = append(masters, &clusterMaster{id: id, host: host, port: port, client: client})
	}
	if len(masters) < 2 {
		t.Fatalf("moving a slot takes two masters; the seeds %v have %d", clusterAddrs(t), len(masters))
	}
	return masters
}

// do sends m one command, within clusterAdminTimeout.
func (m *clusterMaster) do(ctx context.Context, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, clusterAdminTimeout)
	defer cancel()
	if err := m.client.Do(ctx, args...).Err(); err != nil {
		return fmt.Errorf("%s:%s: %v: %w", m.host, m.port, args, err)
	}
	return nil
}

// nodeSelf is what a node's CLUSTER NODES says of itself.
type nodeSelf struct {
	id, addr  string
	master    bool
	owned     []string // slots and ranges of slots: "0-5460", "5461"
	migrating []string // "[slot->-target id]"
	importing []string // "[slot-<-source id]"
}

// clusterSelf returns what the node of client says of itself in CLUSTER
// NODES.
func clusterSelf(ctx context.Context, client *redis.Client) (nodeSelf, error) {
	ctx, cancel := context.WithTimeout(ctx, clusterAdminTimeout)
	defer cancel()
	nodes, err := client.ClusterNodes(ctx).Result()
	if err != nil {
		return nodeSelf{}, err
	}
	for line := range strings.Lines(nodes) {
		// <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> <slot> ...
		fields := strings.Fields(line)
		if len(fields) < 8 || !slices.Contains(strings.Split(fields[2], ","), "myself") {
			continue
		}
		addr, _, _ := strings.Cut(fields[1], "@")
		self := nodeSelf{id: fields[0], addr: addr, master: slices.Contains(strings.Split(fields[2], ","), "master")}
		for _, s := range fields[8:] {
			switch {
			case strings.Contains(s, "->-"):
				self.migrating = append(self.migrating, s)
			case strings.Contains(s, "-<-"):
				self.importing = append(self.importing, s)
			default:
				self.owned = append(self.owned, s)
			}
		}
		return self, nil
	}
	return nodeSelf{}, fmt.Errorf("no myself line in CLUSTER NODES:\n%s", nodes)
}

// owns reports whether the node says it owns slot.
func (n nodeSelf) owns(slot int) bool {
	for _, r := range n.owned {
		first, last, isRange := strings.Cut(r, "-")
		if !isRange {
			last = first
		}
		lo, err := strconv.Atoi(first)
		if err != nil {
			continue
		}
		if hi, err := strconv.Atoi(last); err == nil && lo <= slot && slot <= hi {
			return true
		}
	}
	return false
}

// moving returns the node's migrating and importing marks for slot.
func (n nodeSelf) moving(slot int) []string {
	var marks []string
	for _, m := range slices.Concat(n.migrating, n.importing) {
		if strings.HasPrefix(m, "["+strconv.Itoa(slot)+"-") {
			marks = append(marks, m)
		}
	}
	return marks
}

// slotMove moves one shard's slot from one master to another.
type slotMove struct {
	shards         []int    // whose hash tags are in the slot: one, almost surely
	channels       []string // the shards' channels, where their leases' releases are published
	slot           int
	source, target *clusterMaster
	// started is set before the move changes the Cluster, finished once
	// every master has the slot's new owner: a move started and not
	// finished has its slot half moved.
	started, finished bool
	keys              int // how many keys MIGRATE moved
}

// planSlotMoves returns the moves of the slots of the shards' hash tags,
// {prefix:0} to {prefix:shards-1}, each to the master after its owner in
// masters. No master may have a slot half moved.
func planSlotMoves(t *testing.T, client *redis.ClusterClient, masters []*clusterMaster, prefix string, shards int) []*slotMove {
	ctx := t.Context()
	selves := make([]nodeSelf, len(masters))
	for i, m := range masters {
		var err error
		selves[i], err = clusterSelf(ctx, m.client)
		require.NoError(t, err)
		require.Empty(t, slices.Concat(selves[i].migrating, selves[i].importing),
			"%s:%s has slots half moved: is another test resharding the Cluster?", m.host, m.port)
	}
	var moves []*slotMove
	for i := range shards {
		slot64, err := client.ClusterKeySlot(ctx, "{"+prefix+":"+strconv.Itoa(i)+"}").Result()
		require.NoError(t, err)
		slot := int(slot64)
		if j := slices.IndexFunc(moves, func(mv *slotMove) bool { return mv.slot == slot }); j >= 0 {
			moves[j].shards = append(moves[j].shards, i)
			moves[j].channels = append(moves[j].channels, newShard(prefix, i).channel)
			continue
		}
		owner := slices.IndexFunc(selves, func(n nodeSelf) bool { return n.owns(slot) })
		require.GreaterOrEqual(t, owner, 0, "no master owns slot %d", slot)
		moves = append(moves, &slotMove{
			shards:   []int{i},
			channels: []string{newShard(prefix, i).channel},
			slot:     slot,
			source:   masters[owner],
			target:   masters[(owner+1)%len(masters)],
		})
	}
	return moves
}

// run moves mv's slot with its keys, as redis-cli --cluster reshard does:
// the target imports the slot, the source migrates it, its keys go over
// in batches until the source has none left, and every master is told the
// slot's new owner, the target first, then the source.
func (mv *slotMove) run(ctx context.Context, masters []*clusterMaster) error {
	mv.started = true
	if err := mv.target.do(ctx, "CLUSTER", "SETSLOT", mv.slot, "IMPORTING", mv.source.id); err != nil {
		return err
	}
	if err := mv.source.do(ctx, "CLUSTER", "SETSLOT", mv.slot, "MIGRATING", mv.target.id); err != nil {
		return err
	}
	return mv.finish(ctx, masters, false)
}

// finish moves the keys left in mv's slot to the target (replacing the
// target's copies, if replace) and tells every master the slot's new
// owner.
func (mv *slotMove) finish(ctx context.Context, masters []*clusterMaster, replace bool) error {
	for {
		getCtx, cancel := context.WithTimeout(ctx, clusterAdminTimeout)
		keys, err := mv.source.client.ClusterGetKeysInSlot(getCtx, mv.slot, migrateBatch).Result()
		cancel()
		if err != nil {
			return fmt.Errorf("CLUSTER GETKEYSINSLOT %d: %w", mv.slot, err)
		}
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", mv.target.host, mv.target.port, "", 0, migrateTimeout}
		if replace {
			args = append(args, "REPLACE")
		}
		args = append(args, "KEYS")
		for _, k := range keys {
			args = append(args, k)
		}
		if err := mv.source.do(ctx, args...); err != nil {
			return err
		}
		mv.keys += len(keys)
	}
	others := slices.DeleteFunc(slices.Clone(masters), func(m *clusterMaster) bool { return m == mv.target || m == mv.source })
	for _, m := range slices.Concat([]*clusterMaster{mv.target, mv.source}, others) {
		if err := m.do(ctx, "CLUSTER", "SETSLOT", mv.slot, "NODE", mv.target.id); err != nil {
			return err
		}
	}
	mv.finished = true
	return nil
}

// waitSlotOwners waits, clusterSettleTimeout at most, until every master
// says each move's slot is its target's (its source's, for a move not
// finished), none has a slot half moved, and each says the Cluster is ok.
func waitSlotOwners(ctx context.Context, masters []*clusterMaster, moves []*slotMove) error {
	ctx, cancel := context.WithTimeout(ctx, clusterSettleTimeout)
	defer cancel()
	for {
		disagreement := clusterDisagreement(ctx, masters, moves)
		if disagreement == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %v: %w", clusterSettleTimeout, disagreement)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// clusterDisagreement returns what keeps the masters from agreeing that
// the moved slots are where moves put them (or, for a move not finished,
// where they were), with no slot half moved and the Cluster ok; nil when
// nothing does.
func clusterDisagreement(ctx context.Context, masters []*clusterMaster, moves []*slotMove) error {
	var errs []error
	for _, m := range masters {
		self, err := clusterSelf(ctx, m.client)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%s: CLUSTER NODES: %w", m.host, m.port, err))
			continue
		}
		infoCtx, cancel := context.WithTimeout(ctx, clusterAdminTimeout)
		info, err := m.client.ClusterInfo(infoCtx).Result()
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%s: CLUSTER INFO: %w", m.host, m.port, err))
		} else if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
			errs = append(errs, fmt.Errorf("%s:%s: CLUSTER INFO says\n%s", m.host, m.port, info))
		}
		for _, mv := range moves {
			owner := mv.source
			if mv.finished {
				owner = mv.target
			}
			if marks := self.moving(mv.slot); len(marks) > 0 {
				errs = append(errs, fmt.Errorf("%s:%s has slot %d half moved: %v", m.host, m.port, mv.slot, marks))
			}
			if m == owner && !self.owns(mv.slot) {
				errs = append(errs, fmt.Errorf("%s:%s does not own slot %d yet", m.host, m.port, mv.slot))
			}
			if m != owner && self.owns(mv.slot) {
				errs = append(errs, fmt.Errorf("%s:%s still owns slot %d", m.host, m.port, mv.slot))
			}
		}
	}
	return errors.Join(errs...)
}

// settleSlotMoves leaves no slot of moves half moved: it finishes each
// move that started and did not finish, or, if it cannot, makes the slot
// STABLE on every master; then it waits for the masters to agree. It runs
// once the workers have stopped and the origin is closed, before the
// prefix's keys are deleted, so with t.Context done.
func settleSlotMoves(t *testing.T, masters []*clusterMaster, moves []*slotMove) {
	ctx := context.Background()
	for _, mv := range moves {
		if !mv.started || mv.finished {
			continue
		}
		err := mv.target.do(ctx, "CLUSTER", "SETSLOT", mv.slot, "IMPORTING", mv.source.id)
		if err == nil {
			err = mv.source.do(ctx, "CLUSTER", "SETSLOT", mv.slot, "MIGRATING", mv.target.id)
		}
		if err == nil {
			err = mv.finish(ctx, masters, true)
		}
		if err != nil {
			t.Errorf("finishing the move of slot %d, half done when the test ended: %v; making it STABLE", mv.slot, err)
			for _, m := range masters {
				if err := m.do(ctx, "CLUSTER", "SETSLOT", mv.slot, "STABLE"); err != nil {
					t.Errorf("%v", err)
				}
			}
		}
	}
	if err := waitSlotOwners(ctx, masters, moves); err != nil {
		t.Errorf("the Cluster is not left as it should be: %v", err)
	}
}

// shardSubscribers says how many subscribers each shard's channel has on
// each master (SHARDNUMSUB counts a node's own): the Stores of the workers
// that waited on a lease in the shard, each subscribed once.
func shardSubscribers(ctx context.Context, masters []*clusterMaster, moves []*slotMove) string {
	var parts []string
	for _, mv := range moves {
		for k, i := range mv.shards {
			channel := mv.channels[k]
			var counts []string
			for _, m := range masters {
				n, err := m.client.PubSubShardNumSub(ctx, channel).Result()
				switch {
				case err != nil:
					counts = append(counts, fmt.Sprintf("%s:%s %v", m.host, m.port, err))
				case n[channel] > 0:
					counts = append(counts, fmt.Sprintf("%s:%s %d", m.host, m.port, n[channel]))
				}
			}
			if len(counts) == 0 {
				counts = []string{"none"}
			}
			parts = append(parts, fmt.Sprintf("shard %d (slot %d): %s", i, mv.slot, strings.Join(counts, ", ")))
		}
	}
	return strings.Join(parts, "; ")
}

// describeMoves says which slot moved from where to where.
func describeMoves(moves []*slotMove) string {
	parts := make([]string, len(moves))
	for i, mv := range moves {
		parts[i] = fmt.Sprintf("slot %d (shards %v, %d keys) from %s:%s to %s:%s",
			mv.slot, mv.shards, mv.keys, mv.source.host, mv.source.port, mv.target.host, mv.target.port)
	}
	return strings.Join(parts, ", ")
}
