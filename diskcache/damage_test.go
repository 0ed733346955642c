package diskcache

// This file holds the tests of damaged database files. Each damage is written
// into a copy of a real store, which a child process (the test binary run
// again, see process_test.go) opens and serves requests through: bbolt, given
// such a file, panics, faults, allocates without bound or loops, so a child
// that crashes or hangs fails the test instead of ending the suite.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// childTimeout bounds a child process: one that hangs fails its test.
const childTimeout = 30 * time.Second

// storeLayout is where the pages that the damage tests damage are in a
// store's file.
type storeLayout struct {
	pageSize int64
	freelist int64 // the freelist page
	root     int64 // the root bucket's page
	branch   int64 // the root page of the entries bucket, a branch page
	leaf     int64 // a leaf page of the entries bucket
	meta     int64 // the meta page bbolt uses: 0 or 1
}

// realStoreKeys is how many keys realStore stores (and removes some of).
const realStoreKeys = 400

func realStoreKey(i int) string { return fmt.Sprintf("https://example.com/%d", i) }

// realStore writes a store with enough entries for the entries bucket to be
// a tree of several levels, with entries that overflow a page and pages
// freed by removals, and returns its file (closed) and where its pages are.
func realStore(t *testing.T) (path string, l storeLayout) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range 8 { // concurrent stores share commits: quicker
		wg.Go(func() {
			for i := w; i < realStoreKeys; i += 8 {
				key := realStoreKey(i)
				size := 300 + i%700
				if i%50 == 0 {
					size = 20 << 10 // a value that overflows its page
				}
				assert.NoError(t, s.Set(ctx, key, testEntry(key, size)))
				if i%10 == 0 {
					_, err := s.Pop(ctx, key)
					assert.NoError(t, err)
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, s.Close())
	path = filepath.Join(dir, fileName)

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	info, err := f.Stat()
	require.NoError(t, err)
	c := &fileCheck{r: f, size: info.Size()}
	m, err := c.meta()
	require.NoError(t, err)
	first, err := c.readMeta(0)
	require.NoError(t, err)
	l = storeLayout{pageSize: int64(m.pageSize), root: int64(m.root), freelist: int64(m.freelist), meta: 1}
	if first.txid == m.txid {
		l.meta = 0
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		l.branch = int64(tx.Bucket(entriesBucket).Root())
		return nil
	}))
	header := readAt(t, path, l.branch*l.pageSize, pageHeaderSize+elementSize)
	require.EqualValues(t, branchPage, order.Uint16(header[8:]), "the entries bucket's root is not a branch page")
	for l.leaf = l.branch; order.Uint16(header[8:]) == branchPage; {
		l.leaf = int64(order.Uint64(header[pageHeaderSize+8:])) // the first child
		header = readAt(t, path, l.leaf*l.pageSize, pageHeaderSize+elementSize)
	}
	require.EqualValues(t, leafPage, order.Uint16(header[8:]), "page %d of the entries bucket", l.leaf)
	return path, l
}

func readAt(t *testing.T, path string, at int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, n)
	_, err = f.ReadAt(buf, at)
	require.NoError(t, err)
	return buf
}

// writeAt overwrites the bytes of the file at path at offset at with what
// change makes of them.
func writeAt(t *testing.T, path string, at int64, n int, change func([]byte)) {
	t.Helper()
	buf := readAt(t, path, at, n)
	change(buf)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteAt(buf, at)
	require.NoError(t, err)
}

// pageElements returns the offset and the count of the elements of a page.
func pageElements(t *testing.T, path string, l storeLayout, id int64) (at int64, count int) {
	t.Helper()
	header := readAt(t, path, id*l.pageSize, pageHeaderSize)
	return id*l.pageSize + pageHeaderSize, int(order.Uint16(header[10:]))
}

// The classes of damage, each with what a child did with it before Open
// checked the file.
var damages = []struct {
	name   string
	damage func(t *testing.T, path string, l storeLayout)
}{
	// Before the check: panic "assertion failed: Page expected to be: 130, but self identifies as 0".
	{"truncated to half", func(t *testing.T, path string, _ storeLayout) {
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(path, info.Size()/2))
	}},
	// Before the check: panic "invalid freelist page: 0, page type is unknown<00>", in Open.
	{"truncated to its meta pages", func(t *testing.T, path string, l storeLayout) {
		require.NoError(t, os.Truncate(path, 2*l.pageSize))
	}},
	// Before the check: panic "assertion failed: Page expected to be: …".
	{"garbage page headers", func(t *testing.T, path string, l storeLayout) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, id := range []int64{l.branch, l.leaf} {
			writeAt(t, path, id*l.pageSize, pageHeaderSize, func(b []byte) {
				for i := range b {
					b[i] = byte(r.Uint32())
				}
			})
		}
	}},
	// Before the check: panic "index out of range [281474976755712]".
	{"flipped bits in the page ids of a branch page", func(t *testing.T, path string, l storeLayout) {
		at, count := pageElements(t, path, l, l.branch)
		writeAt(t, path, at, count*elementSize, func(b []byte) {
			for i := range count {
				b[i*elementSize+8+4] ^= 0x10 // pgid += 1<<36
			}
		})
	}},
	// Before the check: SIGSEGV, "unexpected fault address".
	{"flipped bits in the elements of a leaf page", func(t *testing.T, path string, l storeLayout) {
		at, count := pageElements(t, path, l, l.leaf)
		writeAt(t, path, at, count*elementSize, func(b []byte) {
			for i := range count {
				b[i*elementSize+4+3] ^= 0x40  // pos += 1 GiB
				b[i*elementSize+12+3] ^= 0x20 // vsize += 512 MiB
			}
		})
	}},
	// Before the check: a search without end, until "fatal error: stack overflow".
	{"a branch page that is its own child", func(t *testing.T, path string, l storeLayout) {
		at, count := pageElements(t, path, l, l.branch)
		writeAt(t, path, at, count*elementSize, func(b []byte) {
			for i := range count {
				order.PutUint64(b[i*elementSize+8:], uint64(l.branch))
			}
		})
	}},
	// Before the check: panic "invalid page type: 0: 4".
	{"a branch page that counts 65535 elements", func(t *testing.T, path string, l storeLayout) {
		writeAt(t, path, l.branch*l.pageSize+10, 2, func(b []byte) { order.PutUint16(b, 0xFFFF) })
	}},
	// Before the check: panic "invalid freelist page: 49, page type is leaf", in Open.
	{"a freelist page that is not one", func(t *testing.T, path string, l storeLayout) {
		writeAt(t, path, l.freelist*l.pageSize+8, 2, func(b []byte) { order.PutUint16(b, leafPage) })
	}},
	// Before the check: "fatal error: runtime: out of memory", in Open.
	{"a freelist that counts 2^40 pages", func(t *testing.T, path string, l storeLayout) {
		writeAt(t, path, l.freelist*l.pageSize+10, 14, func(b []byte) {
			order.PutUint16(b, 0xFFFF)
			order.PutUint64(b[6:], 1<<40)
		})
	}},
	// Before the check: the page is reused while in use: panic "invalid page type".
	{"a freelist that frees a page in use", func(t *testing.T, path string, l storeLayout) {
		at, count := pageElements(t, path, l, l.freelist)
		require.Positive(t, count, "nothing is free in the store")
		writeAt(t, path, at, 8, func(b []byte) { order.PutUint64(b, uint64(l.branch)) })
	}},
	// Before the check: Open fails ("checksum error"), at every restart.
	{"both meta pages damaged", func(t *testing.T, path string, l storeLayout) {
		for _, id := range []int64{0, 1} {
			writeAt(t, path, id*l.pageSize+pageHeaderSize+16, 8, func(b []byte) { b[0] ^= 0xff })
		}
	}},
	// Before the check: Open fails ("invalid database"), at every restart.
	{"not a database", func(t *testing.T, path string, _ storeLayout) {
		require.NoError(t, os.WriteFile(path, []byte("not a database"), 0o600))
	}},
	// Before the check: Open fails ("database format 63, want 1"), at every restart.
	{"a database of another format", func(t *testing.T, path string, _ storeLayout) {
		db, err := bolt.Open(path, 0o600, nil)
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(metaBucket).Put(metaFormat, []byte{99})
		}))
	}},
	// Before the check: Open fails ("incompatible value"), at every restart.
	{"a bucket's name holding a value", func(t *testing.T, path string, l storeLayout) {
		at, count := pageElements(t, path, l, l.root)
		page := readAt(t, path, l.root*l.pageSize, int(l.pageSize))
		for i := range count {
			elem := pageHeaderSize + i*elementSize
			if string(elementKey(page, uint64(elem), false)) == string(recencyBucket) {
				writeAt(t, path, at+int64(i*elementSize), 4, func(b []byte) { order.PutUint32(b, 0) })
				return
			}
		}
		t.Fatal("no recency bucket in the root bucket's page")
	}},
}

// Each class of damage, written into a copy of a real store, ends with the
// store moved aside, a child process serving requests from the origin
// through a new, empty store, and that store kept.
func TestDamagedFileIsMovedAside(t *testing.T) {
	template, l := realStore(t)
	healthy, err := os.ReadFile(template)
	require.NoError(t, err)
	for _, c := range damages {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, fileName)
			require.NoError(t, os.WriteFile(path, healthy, 0o600))
			c.damage(t, path, l)
			damagedFile, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, damagedName), []byte("an older damaged file"), 0o600))

			out := runChildProcess(t, "serve", dir)
			assert.Contains(t, out, "damaged database moved aside", "no log record says the file was moved aside")
			assert.Contains(t, out, "served 3 URLs", "the child did not serve its requests")

			aside, err := os.ReadFile(filepath.Join(dir, damagedName))
			require.NoError(t, err, "the damaged file was not moved aside")
			assert.True(t, string(aside) == string(damagedFile), "the file moved aside is not the damaged file")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			assert.ElementsMatch(t, []string{fileName, damagedName}, names, "one damaged file is kept, the older removed")

			s := openDir(t, dir)
			require.NoError(t, s.Damage(), "the new store, reopened")
			n, err := s.Len(t.Context())
			require.NoError(t, err)
			assert.Equal(t, 3, n, "the new store did not keep what the child stored")
		})
	}
}

// runChildProcess runs the test binary as a child doing what in dir, and
// returns its output; a child that fails, crashes or runs for longer than
// childTimeout fails the test.
func runChildProcess(t *testing.T, what, dir string) string {
	t.Helper()
	cmd := startChild(t, what, dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(childTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		require.NoError(t, err, "the child failed or crashed:\n%s", out.String())
	case <-timer.C:
		cmd.Process.Kill()
		<-done
		t.Fatalf("the child hung for %v:\n%s", childTimeout, out.String())
	}
	return out.String()
}

// childServe opens the damaged store in dir, looks up every key that
// realStore stored, and serves three URLs twice through it, from an origin
// of its own, printing what went wrong.
func childServe(dir string) int {
	s, err := Open(dir, WithLogger(slog.New(slog.NewTextHandler(os.Stdout, nil))))
	if err != nil {
		fmt.Println("Open:", err)
		return 1
	}
	defer s.Close()
	if !errors.Is(s.Damage(), ErrDamaged) {
		fmt.Println("Damage() =", s.Damage(), "; want ErrDamaged")
		return 1
	}
	if _, err := os.Stat(filepath.Join(dir, damagedName)); err != nil {
		fmt.Println("the damaged file was not moved aside:", err)
		return 1
	}
	found := 0
	for i := range realStoreKeys {
		if e, err := s.Get(context.Background(), realStoreKey(i)); e != nil || err != nil {
			found++
		}
	}
	if found > 0 {
		fmt.Println(found, "lookups in the new store found an entry or failed")
		return 1
	}
	if hits, err := serveTwice(s, 3); err != nil || hits != 3 {
		fmt.Println("serving through the new store:", hits, "hits of 3;", err)
		return 1
	}
	fmt.Println("served 3 URLs")
	return 0
}

// serveTwice requests n URLs twice through a Transport over s, from an
// origin of its own, and returns how many second requests were hits; it
// reports an error if a response is not the origin's.
func serveTwice(s *Store, n int) (hits int, err error) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "response for %s", r.URL.Path)
	}))
	defer origin.Close()
	var logs timeoutLog
	tr := acache.NewTransport(acache.NewCache(s, acache.WithBackendTimeout(liveness),
		acache.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))))
	defer tr.Close()
	defer func() {
		if err == nil && logs.timedOut.Load() {
			err = errors.New("a request waited for the store until the backend timeout")
		}
	}()
	for i := range n {
		for round := range 2 {
			resp, err := (&http.Client{Transport: tr}).Get(fmt.Sprintf("%s/%d", origin.URL, i))
			if err != nil {
				return hits, err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return hits, err
			}
			if want := fmt.Sprintf("response for /%d", i); string(body) != want {
				return hits, fmt.Errorf("GET /%d = %q; want %q", i, body, want)
			}
			if status, _ := acache.CacheStatusOf(resp); status.Hit && round == 1 {
				hits++
			}
		}
	}
	return hits, nil
}

// timeoutLog is the log of a Cache that notes whether a backend call timed
// out: a store that fails at once never makes a request wait for it.
type timeoutLog struct{ timedOut atomic.Bool }

func (l *timeoutLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("timed out")) {
		l.timedOut.Store(true)
	}
	return len(p), nil
}

// A torn meta page is what a crash while bbolt writes one leaves: bbolt
// falls back on the other, and so does the check.
func TestTornMetaPageIsNotDamage(t *testing.T) {
	template, l := realStore(t)
	writeAt(t, template, l.meta*l.pageSize+pageHeaderSize, 16, func(b []byte) {
		for i := range b {
			b[i] = 0
		}
	})
	s := openDir(t, filepath.Dir(template))
	require.NoError(t, s.Damage(), "a torn meta page counted as damage")
	n, err := s.Len(t.Context())
	require.NoError(t, err)
	assert.Positive(t, n, "the store lost its entries")
	require.NoError(t, s.Set(t.Context(), "k", testEntry("k", 10)))
}

// A check that takes longer than its budget counts as damage.
func TestCheckTimeoutIsDamage(t *testing.T) {
	template, _ := realStore(t)
	dir := filepath.Dir(template)
	s := openDir(t, dir, WithCheckTimeout(time.Nanosecond))
	assert.ErrorIs(t, s.Damage(), ErrDamaged)
	assert.ErrorContains(t, s.Damage(), "longer than")
	n, err := s.Len(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "the store did not start empty")
	_, err = os.Stat(filepath.Join(dir, damagedName))
	assert.NoError(t, err, "the file was not moved aside")
}

// A fault while bbolt reads its memory map (here, of a file cut short while
// the store has it open) stops the store, not the process: the Cache serves
// from the origin, Close returns, and the next Open starts anew.
func TestFaultStopsStoreNotProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	for i := range 20 {
		key := fmt.Sprintf("key-%d", i)
		require.NoError(t, s.Set(t.Context(), key, testEntry(key, 2000)))
	}
	require.NoError(t, s.Close())
	out := runChildProcess(t, "fault", dir)
	assert.Contains(t, out, "the database is damaged", "no log record says the store stopped")
	assert.Contains(t, out, "served 3 URLs")
}

// childFault opens the store in dir, cuts its file short, and checks that
// reading it fails with ErrDamaged, that requests are served from the
// origin, that Close returns and that the store, opened again, works.
func childFault(dir string) int {
	logger := slog.New(slog.NewTextHandler(os.Stdout, nil))
	s, err := Open(dir, WithLogger(logger))
	if err != nil {
		fmt.Println("Open:", err)
		return 1
	}
	if err := os.Truncate(filepath.Join(dir, fileName), 2*int64(os.Getpagesize())); err != nil {
		fmt.Println(err)
		return 1
	}
	e, err := s.Get(context.Background(), "key-1")
	if e != nil || !errors.Is(err, ErrDamaged) {
		fmt.Println("Get from a file cut short =", e, err, "; want ErrDamaged")
		return 1
	}
	if hits, err := serveTwice(s, 3); err != nil || hits != 0 {
		fmt.Println("serving through the stopped store:", hits, "hits;", err)
		return 1
	}
	if err := s.Close(); !errors.Is(err, ErrDamaged) {
		fmt.Println("Close =", err, "; want ErrDamaged")
		return 1
	}
	s, err = Open(dir, WithLogger(logger))
	if err != nil || !errors.Is(s.Damage(), ErrDamaged) {
		fmt.Println("Open again =", err, "; Damage() =", s.Damage())
		return 1
	}
	defer s.Close()
	if hits, err := serveTwice(s, 3); err != nil || hits != 3 {
		fmt.Println("serving through the new store:", hits, "hits of 3;", err)
		return 1
	}
	fmt.Println("served 3 URLs")
	return 0
}

// A panic inside a commit wakes every writer waiting for it, stops the
// store, which then fails at once, lets it close, and the next Open finds
// what was stored before.
func TestPanicInCommit(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(dir)
	require.NoError(t, err)
	require.NoError(t, s.Set(ctx, "kept", testEntry("kept", 10)))

	release := make(chan struct{})
	leader := make(chan error, 1)
	go func() {
		leader <- s.db.update(func(buckets) error {
			<-release
			panic("a panic inside a commit")
		}, nil)
	}()
	queued := func(n int) func() bool {
		return func() bool {
			s.db.mu.Lock()
			defer s.db.mu.Unlock()
			return s.db.committing && len(s.db.queue) == n
		}
	}
	require.Eventually(t, queued(0), liveness, time.Millisecond, "the commit did not start")
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			key := fmt.Sprintf("waiting-%d", i)
			errs <- s.Set(ctx, key, testEntry(key, 10))
		}()
	}
	require.Eventually(t, queued(writers), liveness, time.Millisecond, "the writers did not queue")
	close(release)

	select {
	case err := <-leader:
		assert.ErrorIs(t, err, ErrDamaged, "the panic's own write")
		assert.ErrorContains(t, err, "a panic inside a commit")
	case <-time.After(liveness):
		t.Fatal("the panicking commit did not return")
	}
	for range writers {
		select {
		case err := <-errs:
			assert.ErrorIs(t, err, ErrDamaged, "a writer that waited for the commit")
		case <-time.After(liveness):
			t.Fatal("a writer waiting behind the panicking commit was never woken")
		}
	}
	assert.ErrorIs(t, s.Damage(), ErrDamaged)
	_, err = s.Get(ctx, "kept")
	assert.ErrorIs(t, err, ErrDamaged, "Get after the panic")

	o := newOrigin(t, nil)
	var logs timeoutLog
	tr := newTransport(t, s, acache.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	body, hit := fetch(t, tr, o.URL+"/a")
	assert.Equal(t, "response for /a", body, "the origin's response through the stopped store")
	assert.False(t, hit)
	assert.False(t, logs.timedOut.Load(), "a request waited for the stopped store until the backend timeout")
	require.NoError(t, tr.Close())

	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		assert.ErrorIs(t, err, ErrDamaged, "Close of the stopped store")
	case <-time.After(liveness):
		t.Fatal("Close did not return")
	}

	s = openDir(t, dir)
	require.NoError(t, s.Damage())
	e, err := s.Get(ctx, "kept")
	require.NoError(t, err)
	assert.NotNil(t, e, "what was stored before the panic is gone")
	require.NoError(t, s.Set(ctx, "after", testEntry("after", 10)), "a store after reopening")
}

// Close of a broken store returns even when bbolt's Close would wait for
// ever, here for a write transaction that a panic in its rollback would have
// left open.
func TestCloseOfBrokenStoreReturns(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	tx, err := s.db.bolt.Begin(true)
	require.NoError(t, err)
	s.db.fail(fmt.Errorf("%w: injected", ErrDamaged))
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		assert.ErrorIs(t, err, ErrDamaged)
	case <-time.After(closeWait + liveness): // bbolt's Close waits for ever
		t.Error("Close waited for bbolt past closeWait")
	}
	require.NoError(t, tx.Rollback()) // lets bbolt's Close, left to its goroutine, end
}

// Counters that disagree with the index are corrected at Open: with a huge
// byte count, every store would evict the whole store, for good.
func TestHugeCountersAreRecounted(t *testing.T) {
	dir := t.TempDir()
	o := newOrigin(t, nil)
	s, err := Open(dir)
	require.NoError(t, err)
	tr := newTransport(t, s, acache.WithMaxBytes(1<<20))
	for _, p := range []string{"/a", "/b", "/c"} {
		fetch(t, tr, o.URL+p)
	}
	require.NoError(t, tr.Close())
	n, size, err := s.Size(t.Context())
	require.NoError(t, err)
	require.NoError(t, s.Close())

	db, err := bolt.Open(filepath.Join(dir, fileName), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		return errors.Join(meta.Put(metaCount, seqKey(1<<62)), meta.Put(metaBytes, seqKey(1<<62)))
	}))
	require.NoError(t, db.Close())

	var logs strings.Builder
	s = openDir(t, dir, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, s.Damage(), "wrong counters are not damage to move aside")
	n2, size2, err := s.Size(t.Context())
	require.NoError(t, err)
	assert.Equal(t, n, n2, "Len after reopening")
	assert.Equal(t, size, size2, "Size after reopening")
	assert.Contains(t, logs.String(), "corrected the stored counters")

	tr = newTransport(t, s, acache.WithMaxBytes(1<<20))
	for _, p := range []string{"/d", "/e"} {
		_, hit := fetch(t, tr, o.URL+p)
		assert.False(t, hit)
	}
	for _, p := range []string{"/a", "/d", "/e"} {
		_, hit := fetch(t, tr, o.URL+p)
		assert.True(t, hit, "GET %s was not a hit: the stores evicted each other", p)
	}
}
