package acachetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/acachecontrol/acache"
)

// TestCommitter runs a conformance suite on backends that implement
// [acache.Committer] as well as [acache.Backend], in the manner of
// [TestBackend]: newBackend returns a new, empty backend for each subtest.
// Run it on a backend of one shard, which applies the limits of a Commit as
// given; a backend that divides them among shards checks its bounds in its
// own tests.
//
// The suite checks that:
//   - Commit stores an entry when IfVersion is the version stored (0 for
//     none), and Get returns it with its Version;
//   - a Commit whose IfVersion is not the version stored reports Conflict
//     and changes nothing, nor does one whose entry is larger than MaxBytes;
//   - Commit brings the store within MaxEntries and MaxBytes by removing the
//     least recently used entries, never the key it stores, counts them in
//     Evicted, and reports the bytes and the entries stored;
//   - Commit lists a key of a URI in the URI's index once, Listed returns the
//     keys in the order they were listed, and MaxListed removes the earliest
//     listed with their entries;
//   - Pop of a URI's key removes its entry, every entry its index lists and
//     the index; Pop of a listed key and PopOldest unlist it;
//   - concurrent stores of one key, each reading the version, merging and
//     committing again on a Conflict, leave one entry, the last stored, and
//     concurrent first stores of different users' keys of one URI lose no
//     member of its index.
func TestCommitter(t *testing.T, newBackend func(t *testing.T) acache.Backend) {
	t.Helper()
	for _, tc := range []struct {
		name string
		f    func(*testing.T, *committerTester)
	}{
		{"CommitStoresWithItsVersion", testCommitStores},
		{"CommitConflicts", testCommitConflicts},
		{"CommitTooLarge", testCommitTooLarge},
		{"CommitMakesRoom", testCommitMakesRoom},
		{"CommitListsInTheIndex", testCommitLists},
		{"MaxListedRemovesTheEarliest", testMaxListed},
		{"PopOfTheURIRemovesTheIndex", testPopRemovesIndex},
		{"PopAndPopOldestUnlist", testPopUnlists},
		{"ConcurrentStoresOfOneKey", testConcurrentCommits},
		{"ConcurrentFirstStoresOfOneURI", testConcurrentListing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t)
			c, ok := b.(acache.Committer)
			if !ok {
				t.Fatalf("%T does not implement acache.Committer", b)
			}
			ct := &committerTester{tester: tester{t: t, ctx: t.Context(), b: b}, c: c}
			ct.assertEmpty()
			tc.f(t, ct)
		})
	}
}

// committerTester is a tester with the Committer's methods.
type committerTester struct {
	tester
	c acache.Committer
}

// uri is the URI key of the suite's indexes, and partition returns one of
// its keys with a partition.
const uri = "GET http://example.test/u"

func partition(user string) string { return uri + "\x00auth=" + user }

// unlimited is a Commit whose limits remove nothing.
func unlimited(key string, e *acache.Entry, ifVersion uint64) *acache.Commit {
	return &acache.Commit{Key: key, Entry: e, IfVersion: ifVersion, MaxEntries: 1 << 20, MaxBytes: 1 << 40, MaxListed: 256}
}

// committed returns a new entry for key with a version of its own.
func committed(key string, n int) *acache.Entry {
	e := newEntry(key, n)
	e.Partitions = nil // the Committer keeps the index
	e.Version = rand.Uint64() | 1
	return e
}

func (ct *committerTester) commit(c *acache.Commit) acache.CommitResult {
	ct.t.Helper()
	res, err := ct.c.Commit(ct.ctx, c)
	if err != nil {
		ct.t.Fatalf("Commit(%q) error: %v", c.Key, err)
	}
	return res
}

// store commits a new entry under key, over whatever it holds.
func (ct *committerTester) store(key string, n int, index string) *acache.Entry {
	ct.t.Helper()
	var version uint64
	if old := ct.get(key); old != nil {
		version = old.Version
	}
	e := committed(key, n)
	c := unlimited(key, e, version)
	c.Index = index
	res := ct.commit(c)
	if !res.Stored {
		ct.t.Fatalf("Commit(%q) = %+v; want it stored", key, res)
	}
	ct.assertCounted(res)
	return e
}

// assertCounted checks the entries and bytes that a Commit which stored
// reported against those the backend holds.
func (ct *committerTester) assertCounted(res acache.CommitResult) {
	ct.t.Helper()
	n, err := ct.b.Len(ct.ctx)
	if err != nil {
		ct.t.Fatalf("Len() error: %v", err)
	}
	if res.Entries != n {
		ct.t.Fatalf("Commit reported %d entries (%+v); Len() = %d", res.Entries, res, n)
	}
	if s, ok := ct.b.(acache.Sizer); ok {
		if _, bytes, err := s.Size(ct.ctx); err != nil || res.Bytes != bytes {
			ct.t.Fatalf("Commit reported %d bytes (%+v); Size() = %d, %v", res.Bytes, res, bytes, err)
		}
	}
}

func (ct *committerTester) listed(uri string) []string {
	ct.t.Helper()
	keys, err := ct.c.Listed(ct.ctx, uri)
	if err != nil {
		ct.t.Fatalf("Listed(%q) error: %v", uri, err)
	}
	return keys
}

func testCommitStores(t *testing.T, ct *committerTester) {
	e := ct.store("a", 1, "")
	got := ct.get("a")
	if got == nil || got.Version != e.Version {
		t.Fatalf("Get after Commit = %v; want the entry with Version %d", got, e.Version)
	}
	ct.assertGet("a", e)
	again := ct.store("a", 2, "")
	ct.assertGet("a", again)
	ct.assertLen(1)
	if s, ok := ct.b.(acache.Sizer); ok {
		ct.assertSize(s, "a Commit that replaced an entry", again.Size())
	}
}

func testCommitConflicts(t *testing.T, ct *committerTester) {
	if res := ct.commit(unlimited("a", committed("a", 1), 42)); !res.Conflict || res.Stored {
		t.Fatalf("Commit over nothing with IfVersion 42 = %+v; want a Conflict", res)
	}
	ct.assertLen(0)
	e := ct.store("a", 1, "")
	for _, version := range []uint64{0, e.Version + 1} {
		if res := ct.commit(unlimited("a", committed("a", 2), version)); !res.Conflict || res.Stored {
			t.Fatalf("Commit with IfVersion %d over version %d = %+v; want a Conflict", version, e.Version, res)
		}
	}
	ct.assertGet("a", e)
}

func testCommitTooLarge(t *testing.T, ct *committerTester) {
	e := ct.store("a", 1, "")
	big := committed("b", 2)
	c := unlimited("b", big, 0)
	c.MaxBytes = big.Size() - 1
	if res := ct.commit(c); res.Stored || res.Conflict || res.Evicted != 0 {
		t.Fatalf("Commit of %d bytes under MaxBytes %d = %+v; want nothing done", big.Size(), c.MaxBytes, res)
	}
	ct.assertGet("a", e)
	ct.assertLen(1)
}

func testCommitMakesRoom(t *testing.T, ct *committerTester) {
	for i, key := range []string{"a", "b", "c"} {
		ct.store(key, i, "")
	}
	ct.moveToEnd("a") // b is now the oldest
	d := committed("d", 3)
	c := unlimited("d", d, 0)
	c.MaxEntries = 3
	res := ct.commit(c)
	if !res.Stored || res.Evicted != 1 || res.Entries != 3 {
		t.Fatalf("Commit of a fourth entry under MaxEntries 3 = %+v; want it stored, one evicted, 3 entries", res)
	}
	if ct.contains("b") || !ct.contains("a") || !ct.contains("c") || !ct.contains("d") {
		t.Fatalf("after a Commit that made room, the least recently used entry, b, should be the one gone")
	}
	// Replacing c under a byte limit that fits c alone removes everyone else.
	c2 := committed("c", 4)
	c = unlimited("c", c2, ct.get("c").Version)
	c.MaxBytes = c2.Size()
	res = ct.commit(c)
	if !res.Stored || res.Evicted != 2 || res.Bytes != c2.Size() || res.Entries != 1 {
		t.Fatalf("Commit of c under MaxBytes of its size = %+v; want it stored, 2 evicted, %d bytes, 1 entry", res, c2.Size())
	}
	ct.assertLen(1)
	ct.assertGet("c", c2)
}

func testCommitLists(t *testing.T, ct *committerTester) {
	users := []string{"alice", "bob", "carol"}
	for i, user := range users {
		ct.store(partition(user), i, uri)
	}
	ct.store(partition("alice"), 9, uri) // listed once, where it was
	want := []string{partition("alice"), partition("bob"), partition("carol")}
	if got := ct.listed(uri); !slices.Equal(got, want) {
		t.Fatalf("Listed(%q) = %q; want %q", uri, got, want)
	}
	if got := ct.listed("GET http://example.test/other"); len(got) != 0 {
		t.Fatalf("Listed of a URI with no index = %q; want none", got)
	}
}

func testMaxListed(t *testing.T, ct *committerTester) {
	for i, user := range []string{"alice", "bob"} {
		ct.store(partition(user), i, uri)
	}
	c := unlimited(partition("carol"), committed(partition("carol"), 3), 0)
	c.Index, c.MaxListed = uri, 2
	if res := ct.commit(c); !res.Stored || res.Evicted != 1 || res.Entries != 2 {
		t.Fatalf("Commit of a third key under MaxListed 2 = %+v; want it stored, one removed, 2 entries", res)
	}
	want := []string{partition("bob"), partition("carol")}
	if got := ct.listed(uri); !slices.Equal(got, want) {
		t.Fatalf("Listed after MaxListed = %q; want %q", got, want)
	}
	if ct.contains(partition("alice")) {
		t.Fatalf("the earliest listed key's entry outlived its listing")
	}
}

func testPopRemovesIndex(t *testing.T, ct *committerTester) {
	for i, user := range []string{"alice", "bob"} {
		ct.store(partition(user), i, uri)
	}
	ct.store("GET http://example.test/other", 5, "")
	// The URI has no entry of its own: its Pop still removes what it lists.
	if e := ct.pop(uri); e != nil {
		t.Fatalf("Pop(%q) = %v; want nil, the URI has no entry of its own", uri, e)
	}
	if ct.contains(partition("alice")) || ct.contains(partition("bob")) || len(ct.listed(uri)) != 0 {
		t.Fatalf("Pop of a URI's key left what its index listed")
	}
	ct.assertLen(1)
	own := ct.store(uri, 6, "")
	ct.store(partition("carol"), 7, uri)
	if e := ct.pop(uri); e == nil || e.Version != own.Version {
		t.Fatalf("Pop(%q) = %v; want the URI's own entry", uri, e)
	}
	ct.assertLen(1)
}

func testPopUnlists(t *testing.T, ct *committerTester) {
	for i, user := range []string{"alice", "bob", "carol"} {
		ct.store(partition(user), i, uri)
	}
	ct.pop(partition("bob"))
	if got, want := ct.listed(uri), []string{partition("alice"), partition("carol")}; !slices.Equal(got, want) {
		t.Fatalf("Listed after Pop(bob) = %q; want %q", got, want)
	}
	if key, _ := ct.popOldest(); key != partition("alice") {
		t.Fatalf("PopOldest() = %q; want alice's key", key)
	}
	if got, want := ct.listed(uri), []string{partition("carol")}; !slices.Equal(got, want) {
		t.Fatalf("Listed after PopOldest = %q; want %q", got, want)
	}
}

func testConcurrentCommits(t *testing.T, ct *committerTester) {
	const writers, stores = 8, 10
	var (
		mu     sync.Mutex
		stored = map[uint64]bool{}
		wg     sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for i := range stores {
				for attempt := 0; ; attempt++ {
					var version uint64
					if old, err := ct.b.Get(ct.ctx, "k"); err != nil {
						t.Errorf("Get: %v", err)
						return
					} else if old != nil {
						version = old.Version
					}
					e := committed("k", w*stores+i)
					res, err := ct.c.Commit(ct.ctx, unlimited("k", e, version))
					if err != nil {
						t.Errorf("Commit: %v", err)
						return
					}
					if res.Stored {
						mu.Lock()
						stored[e.Version] = true
						mu.Unlock()
						break
					}
					if !res.Conflict || attempt > 1000 {
						t.Errorf("Commit = %+v after %d attempts; want it stored or a Conflict", res, attempt)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	ct.assertLen(1)
	if e := ct.get("k"); e == nil || !stored[e.Version] {
		t.Fatalf("after concurrent stores, Get = %v; want one of the %d entries stored", e, len(stored))
	}
	if len(stored) != writers*stores {
		t.Fatalf("%d stores landed; want %d, each retried until it landed", len(stored), writers*stores)
	}
}

func testConcurrentListing(t *testing.T, ct *committerTester) {
	const users = 16
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			key := partition(fmt.Sprint("user-", i))
			c := unlimited(key, committed(key, i), 0)
			c.Index = uri
			if res, err := ct.c.Commit(ct.ctx, c); err != nil || !res.Stored {
				t.Errorf("Commit(%q) = %+v, %v; want it stored", key, res, err)
			}
		})
	}
	wg.Wait()
	if got := ct.listed(uri); len(got) != users {
		t.Fatalf("Listed after %d concurrent first stores = %d keys; want every one", users, len(got))
	}
	ct.pop(uri)
	ct.assertLen(0)
}
