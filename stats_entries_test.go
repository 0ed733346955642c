package acache

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sizedLRU is an LRU the Cache sees as a plain Backend that counts its
// bytes (Sizer), not as a Committer.
type sizedLRU struct {
	Backend
	Sizer
}

// hiddenCommitter is an LRU the Cache sees as a Committer and a Sizer that
// is not the in-memory LRU: it is called the detached way, as a disk or a
// networked Committer is.
type hiddenCommitter struct {
	Backend
	Sizer
	Committer
}

// uncountedCommits is an LRU the Cache sees as a Committer (without Sizer)
// whose Commit does not report the entries it holds, as one written before
// CommitResult.Entries.
type uncountedCommits struct {
	Backend
	c Committer
}

func (b uncountedCommits) Commit(ctx context.Context, c *Commit) (CommitResult, error) {
	res, err := b.c.Commit(ctx, c)
	res.Entries = 0
	return res, err
}

func (b uncountedCommits) Listed(ctx context.Context, uri string) ([]string, error) {
	return b.c.Listed(ctx, uri)
}

// entriesBackends are the ways a Cache counts the entries of its backend:
// the in-memory LRU (a Committer, called directly), a Committer called the
// detached way, a Sizer, a plain Backend, and a Committer that reports no
// entries.
var entriesBackends = []struct {
	name string
	new  func() (Backend, *lru)
}{
	{"LRU", func() (Backend, *lru) { l := newLRU(); return l, l }},
	{"committer", func() (Backend, *lru) { l := newLRU(); return hiddenCommitter{l, l, l}, l }},
	{"sizer", func() (Backend, *lru) { l := newLRU(); return sizedLRU{l, l}, l }},
	{"plain", func() (Backend, *lru) { l := newLRU(); return hiddenLRU{l}, l }},
	{"uncounted commits", func() (Backend, *lru) { l := newLRU(); return uncountedCommits{l, l}, l }},
}

// assertHeld checks Stats().Entries, and Stats().Bytes, against what the
// LRU under the backend holds, and returns the entries. The bytes are not
// checked over a Committer that does not count them (no Sizer): what its
// Pop of a URI key removes with the key's index is out of the Cache's
// sight.
func assertHeld(t *testing.T, c *Cache, l *lru, when string) int {
	t.Helper()
	waitInFlight(t, c)
	n, bytes, err := l.Size(context.Background())
	require.NoError(t, err)
	s := c.Stats()
	assert.EqualValues(t, n, s.Entries, "Stats().Entries %s: the backend holds %d", when, n)
	if c.sizer != nil || c.committer == nil {
		assert.Equal(t, bytes, s.Bytes, "Stats().Bytes %s", when)
	}
	return n
}

// Stats().Entries is the number of entries the backend holds after every
// change: stores up to WithMaxEntries, evictions past it, stores of users'
// responses under partitions (with their index), a Purge, an unsafe
// request's invalidation, and Clear.
func TestStatsEntriesFollowTheBackend(t *testing.T) {
	t.Parallel()
	const maxEntries = 6
	for _, b := range entriesBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := purgeOrigin(t, clock)
			backend, l := b.new()
			// A long backend timeout: the detached stores finish before the
			// response body's last Read returns.
			tr := NewTransport(NewCache(backend, WithClock(clock.Now), WithBackendTimeout(time.Minute),
				WithMaxEntries(maxEntries)))
			tr.Transport = unclosable{testInner}
			c := tr.Cache
			assert.Zero(t, c.Stats().Entries, "Stats().Entries of a new Cache")
			for i := 1; i <= maxEntries; i++ {
				fetch(t, tr, http.MethodGet, fmt.Sprintf("%s/%d", o.URL, i), nil)
				assert.Equal(t, i, assertHeld(t, c, l, fmt.Sprintf("after %d stores", i)))
			}
			for i := maxEntries + 1; i <= maxEntries+3; i++ {
				fetch(t, tr, http.MethodGet, fmt.Sprintf("%s/%d", o.URL, i), nil)
				assert.Equal(t, maxEntries, assertHeld(t, c, l, fmt.Sprintf("after %d stores", i)))
			}
			assert.EqualValues(t, 3, c.Stats().Evictions, "evictions past WithMaxEntries")

			// Variants, users' copies under partitions and a HEAD: every
			// response for /r, within the limit.
			for _, r := range purgeRequests {
				fetch(t, tr, r.method, o.URL+"/r", r.header)
				assertHeld(t, c, l, fmt.Sprintf("after a store of %s /r %v", r.method, r.header))
			}
			stored, err := c.Inspect(t.Context(), o.URL+"/r")
			require.NoError(t, err)
			require.Len(t, stored, len(purgeRequests), "what /r holds before its purge")
			before := assertHeld(t, c, l, "before the purge")
			require.NoError(t, c.Purge(t.Context(), o.URL+"/r"))
			assert.Equal(t, before-4, assertHeld(t, c, l, "after the purge"),
				"the purge removed /r's GET, HEAD and two users' entries")

			// An unsafe request invalidates what /s holds, every user's copy
			// with it (RFC 9111 Section 4.4).
			for _, r := range purgeRequests {
				fetch(t, tr, r.method, o.URL+"/s", r.header)
			}
			before = assertHeld(t, c, l, "after the stores of /s")
			fetch(t, tr, http.MethodPost, o.URL+"/s", nil)
			assert.Equal(t, before-4, assertHeld(t, c, l, "after the invalidation of /s"),
				"the invalidation removed /s's GET, HEAD and two users' entries")

			require.NoError(t, c.Clear(t.Context()))
			assert.Zero(t, assertHeld(t, c, l, "after Clear"))
			fetch(t, tr, http.MethodGet, o.URL+"/1", nil)
			assert.Equal(t, 1, assertHeld(t, c, l, "after a store that followed Clear"))
		})
	}
}

// Over a Committer other than the in-memory LRU, the Cache counts the
// entries again after an invalidation only once it has stored under a
// partition: an unsafe request otherwise costs the backend its Pops alone.
func TestStatsEntriesRecountOnlyAfterPartitions(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := purgeOrigin(t, clock)
	l := newLRU()
	tr := NewTransport(NewCache(hiddenCommitter{l, l, l}, WithClock(clock.Now), WithBackendTimeout(time.Minute)))
	tr.Transport = unclosable{testInner}
	c := tr.Cache
	sizes := func() int64 { return c.Stats().Backend["size"].Calls }
	fetch(t, tr, http.MethodGet, o.URL+"/a", nil)
	fetch(t, tr, http.MethodGet, o.URL+"/b", nil)
	fetch(t, tr, http.MethodPost, o.URL+"/a", nil)
	assert.Equal(t, 1, assertHeld(t, c, l, "after the invalidation of /a"))
	assert.Zero(t, sizes(), "Size calls without a store under a partition")

	fetch(t, tr, http.MethodGet, o.URL+"/b", hdr("Authorization", "Bearer alice"))
	require.Equal(t, 2, assertHeld(t, c, l, "after a store under alice's partition"))
	fetch(t, tr, http.MethodPost, o.URL+"/b", nil)
	assert.Zero(t, assertHeld(t, c, l, "after the invalidation of /b"))
	assert.EqualValues(t, 1, sizes(), "Size calls: one for the invalidation of /b's GET and HEAD keys")
}

// Stats().Entries never goes negative: a Cache over a plain Backend that
// held entries before it started (which it has not counted yet) removes
// them, then counts at its next store.
func TestStatsEntriesNeverNegative(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := purgeOrigin(t, clock)
	l := newLRU()
	earlier := NewTransport(NewCache(hiddenLRU{l}, WithClock(clock.Now), WithBackendTimeout(time.Minute)))
	earlier.Transport = unclosable{testInner}
	for _, path := range []string{"/a", "/b", "/c"} {
		fetch(t, earlier, http.MethodGet, o.URL+path, nil)
	}
	waitInFlight(t, earlier.Cache)
	require.Equal(t, 3, lruLen(t, l))

	tr := NewTransport(NewCache(hiddenLRU{l}, WithClock(clock.Now), WithBackendTimeout(time.Minute)))
	tr.Transport = unclosable{testInner}
	c := tr.Cache
	require.NoError(t, c.Purge(t.Context(), o.URL+"/a"))
	fetch(t, tr, http.MethodPost, o.URL+"/b", nil)
	assert.Zero(t, c.Stats().Entries, "Stats().Entries after removing what another Cache stored")
	assert.Zero(t, c.Stats().Bytes, "Stats().Bytes after removing what another Cache stored")
	fetch(t, tr, http.MethodGet, o.URL+"/d", nil)
	waitInFlight(t, c)
	assert.EqualValues(t, 2, c.Stats().Entries, "Stats().Entries counted at the next store: /c and /d")
}

// The usage counts of entries stay at zero or more whatever is removed,
// and a Commit that reports no entries is counted from IfVersion and
// Evicted.
func TestUsageEntries(t *testing.T) {
	t.Parallel()
	var u usage
	u.removed(10)
	assert.Zero(t, u.held(), "entries after removing what was never counted")
	u.counted(-3)
	assert.Zero(t, u.held(), "entries after a count below zero")
	u.observed(3, 300)
	u.afterCommit(CommitResult{Stored: true, Bytes: 400}, false)
	assert.EqualValues(t, 4, u.held(), "a new key stored")
	u.afterCommit(CommitResult{Stored: true, Evicted: 2, Bytes: 200}, true)
	assert.EqualValues(t, 2, u.held(), "a key replaced, two evicted")
	u.afterCommit(CommitResult{Stored: true, Evicted: 9, Bytes: 100}, true)
	assert.EqualValues(t, 1, u.held(), "at least the entry stored")
	u.afterCommit(CommitResult{Stored: true, Entries: 7, Bytes: 700}, false)
	assert.EqualValues(t, 7, u.held(), "the entries a Commit reports")
	assert.EqualValues(t, 700, u.stored())
	u.emptied()
	assert.Zero(t, u.held())
}
