// Package acachetest checks implementations of [acache.Backend] against the
// contract documented on that interface, in the manner of
// [testing/fstest.TestFS].
//
// A backend's own tests call [TestBackend] with a function that returns a new,
// empty backend for the subtest it is given, and releases it when that
// subtest ends:
//
//	func TestMyBackend(t *testing.T) {
//		acachetest.TestBackend(t, func(t *testing.T) acache.Backend {
//			b, err := mybackend.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { b.Close() })
//			return b
//		})
//	}
//
// It also holds the harness the project's own tests use against faults, for
// any backend: [FaultyBackend] wraps a Backend and injects errors, delays,
// hangs, panics and corrupt entries per method, and [Origin] is an HTTP/1.1
// server that sends the broken responses net/http's test server cannot
// (bodies cut short with each framing, stalls, resets, malformed headers).
package acachetest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
)

// TestBackend runs a conformance suite on the backends newBackend returns. Each
// check is a subtest of t that runs on a fresh backend from newBackend, called
// with that subtest's own *testing.T: newBackend may fail it, and register
// with its Cleanup what releases the backend (close a file, drop a database),
// which then runs when that check ends. newBackend must return an empty
// backend every time it is called; the suite fails a subtest whose backend is
// not empty when it starts.
//
// The suite checks that:
//   - a miss is not an error: Get and Pop return (nil, nil) for a key that is
//     not stored, PopOldest returns ("", nil, nil) when the backend is empty,
//     and MoveToEnd does nothing for a key that is not stored;
//   - Len counts the stored entries, and Set replaces an entry;
//   - entries are kept in recency order: Set and MoveToEnd make an entry the
//     newest, while Get and Contains leave its recency unchanged;
//   - an entry's exported fields come back as they were stored, its Variants
//     included, for keys and bodies holding any bytes, and for a 1 MiB body. Keys are arbitrary byte
//     strings, not necessarily valid UTF-8 (a key may hold request header
//     values), so a backend that stores them as text must escape them;
//   - a backend does not modify an entry it was given;
//   - concurrent calls on overlapping keys leave the backend consistent (run
//     the suite with -race to detect data races too);
//   - a backend that implements [acache.Sizer] reports the number of its
//     entries and the sum of their [acache.Entry.Size] after every Set,
//     replacement, Pop and PopOldest, and after concurrent calls.
//
// Entries come back from a persistent backend decoded, so the suite compares
// them field by field rather than by pointer, and leniently where an encoding
// may reasonably differ without changing the meaning: times are compared with
// [time.Time.Equal] (the monotonic clock reading and the location may be
// lost, but not the instant, to the nanosecond), a nil Body equals an empty
// one, a nil header equals an empty one, and a nil list of values equals an
// empty one. Header field names must come back exactly as stored, and the
// suite only stores canonical names.
//
// Every method must return a nil error throughout the suite.
func TestBackend(t *testing.T, newBackend func(t *testing.T) acache.Backend) {
	t.Helper()
	for _, tc := range []struct {
		name string
		f    func(*testing.T, *tester)
	}{
		{"EmptyBackend", testEmpty},
		{"MissOnAbsentKey", testMiss},
		{"LenCounts", testLen},
		{"SetReplaces", testSetReplaces},
		{"RecencyFollowsSetOrder", testSetOrder},
		{"MoveToEndMakesNewest", testMoveToEnd},
		{"MoveToEndOfNewest", testMoveToEndOfNewest},
		{"MoveToEndOfAbsentKeyIsNoOp", testMoveToEndAbsent},
		{"ReplaceMakesNewest", testReplaceMakesNewest},
		{"GetAndContainsKeepRecency", testGetKeepsRecency},
		{"PopRemoves", testPop},
		{"PopOldestDrains", testPopOldestDrains},
		{"RoundTrip", testRoundTrip},
		{"RoundTripEmptyFields", testRoundTripEmpty},
		{"DoesNotModifyEntry", testDoesNotModify},
		{"UnusualKeys", testUnusualKeys},
		{"LargeBody", testLargeBody},
		{"Concurrent", testConcurrent},
		{"SizeCountsEntries", testSize},
		{"SizeAfterConcurrentCalls", testSizeConcurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := &tester{t: t, ctx: t.Context(), b: newBackend(t)}
			tt.assertEmpty()
			tc.f(t, tt)
		})
	}
}

// tester wraps a backend with calls that fail the test on an error.
type tester struct {
	t   *testing.T
	ctx context.Context
	b   acache.Backend
}

// assertEmpty fails the test now if the backend is not empty.
func (tt *tester) assertEmpty() {
	tt.t.Helper()
	if n := tt.len(); n != 0 {
		tt.t.Fatalf("Len() = %d on a new backend; TestBackend needs newBackend to return an empty backend", n)
	}
}

func (tt *tester) contains(key string) bool {
	tt.t.Helper()
	ok, err := tt.b.Contains(tt.ctx, key)
	if err != nil {
		tt.t.Fatalf("Contains(%q) error: %v", key, err)
	}
	return ok
}

func (tt *tester) len() int {
	tt.t.Helper()
	n, err := tt.b.Len(tt.ctx)
	if err != nil {
		tt.t.Fatalf("Len() error: %v", err)
	}
	return n
}

func (tt *tester) get(key string) *acache.Entry {
	tt.t.Helper()
	e, err := tt.b.Get(tt.ctx, key)
	if err != nil {
		tt.t.Fatalf("Get(%q) error: %v", key, err)
	}
	return e
}

func (tt *tester) set(key string, e *acache.Entry) {
	tt.t.Helper()
	if err := tt.b.Set(tt.ctx, key, e); err != nil {
		tt.t.Fatalf("Set(%q) error: %v", key, err)
	}
}

// setNew stores a new entry for each key, in order, and returns them.
func (tt *tester) setNew(keys ...string) []*acache.Entry {
	tt.t.Helper()
	entries := make([]*acache.Entry, len(keys))
	for i, key := range keys {
		entries[i] = newEntry(key, i)
		tt.set(key, entries[i])
	}
	return entries
}

func (tt *tester) pop(key string) *acache.Entry {
	tt.t.Helper()
	e, err := tt.b.Pop(tt.ctx, key)
	if err != nil {
		tt.t.Fatalf("Pop(%q) error: %v", key, err)
	}
	return e
}

func (tt *tester) popOldest() (string, *acache.Entry) {
	tt.t.Helper()
	key, e, err := tt.b.PopOldest(tt.ctx)
	if err != nil {
		tt.t.Fatalf("PopOldest() error: %v", err)
	}
	return key, e
}

func (tt *tester) moveToEnd(key string) {
	tt.t.Helper()
	if err := tt.b.MoveToEnd(tt.ctx, key); err != nil {
		tt.t.Fatalf("MoveToEnd(%q) error: %v", key, err)
	}
}

// assertLen fails the test if Len does not return want.
func (tt *tester) assertLen(want int) {
	tt.t.Helper()
	if n := tt.len(); n != want {
		tt.t.Fatalf("Len() = %d; want %d", n, want)
	}
}

// assertGet fails the test if Get(key) does not return an entry equal to want.
func (tt *tester) assertGet(key string, want *acache.Entry) {
	tt.t.Helper()
	got := tt.get(key)
	if got == nil {
		tt.t.Fatalf("Get(%q) = nil; want the entry stored under it", key)
	}
	if diff := diffEntry(got, want); diff != "" {
		tt.t.Fatalf("Get(%q) returned an entry that differs from the one stored: %s", key, diff)
	}
}

// assertOrder pops every entry with PopOldest and fails the test unless they
// come out under keys, in that order, equal to entries (if not nil), and the
// backend then reports that it is empty.
func (tt *tester) assertOrder(keys []string, entries []*acache.Entry) {
	tt.t.Helper()
	for i, want := range keys {
		key, e := tt.popOldest()
		if e == nil {
			tt.t.Fatalf("PopOldest() #%d = (%q, nil); want key %q (recency order %q)", i+1, key, want, keys)
		}
		if key != want {
			tt.t.Fatalf("PopOldest() #%d returned key %q; want %q (recency order %q)", i+1, key, want, keys)
		}
		if entries != nil {
			if diff := diffEntry(e, entries[i]); diff != "" {
				tt.t.Fatalf("PopOldest() #%d returned key %q with an entry that differs from the one stored: %s", i+1, key, diff)
			}
		}
	}
	if key, e := tt.popOldest(); key != "" || e != nil {
		tt.t.Fatalf("PopOldest() after popping %d entries = (%q, %v); want (\"\", nil)", len(keys), key, e)
	}
	tt.assertLen(0)
}

func testEmpty(t *testing.T, tt *tester) {
	if key, e := tt.popOldest(); key != "" || e != nil {
		t.Fatalf("PopOldest() on an empty backend = (%q, %v); want (\"\", nil)", key, e)
	}
	if e := tt.get("a"); e != nil {
		t.Fatalf("Get(%q) on an empty backend = %v; want nil", "a", e)
	}
	if e := tt.pop("a"); e != nil {
		t.Fatalf("Pop(%q) on an empty backend = %v; want nil", "a", e)
	}
	if tt.contains("a") {
		t.Fatalf("Contains(%q) on an empty backend = true; want false", "a")
	}
	tt.moveToEnd("a")
	tt.assertLen(0)
}

func testMiss(t *testing.T, tt *tester) {
	tt.setNew("a", "b")
	if e := tt.get("x"); e != nil {
		t.Fatalf("Get(%q) = %v for a key never stored; want nil", "x", e)
	}
	if e := tt.pop("x"); e != nil {
		t.Fatalf("Pop(%q) = %v for a key never stored; want nil", "x", e)
	}
	if tt.contains("x") {
		t.Fatalf("Contains(%q) = true for a key never stored; want false", "x")
	}
	// Keys are compared exactly, not by prefix or case.
	for _, key := range []string{"A", "a ", "ab", ""} {
		if tt.contains(key) {
			t.Fatalf("Contains(%q) = true with only %q and %q stored; want false", key, "a", "b")
		}
	}
	tt.assertLen(2)
}

func testLen(t *testing.T, tt *tester) {
	keys := []string{"a", "b", "c", "d"}
	for i, key := range keys {
		tt.set(key, newEntry(key, i))
		tt.assertLen(i + 1)
	}
	tt.pop("b")
	tt.assertLen(3)
	tt.pop("b")
	tt.assertLen(3)
	tt.popOldest()
	tt.assertLen(2)
	tt.moveToEnd("c")
	tt.get("c")
	tt.contains("c")
	tt.assertLen(2)
}

func testSetReplaces(t *testing.T, tt *tester) {
	old := tt.setNew("a", "b")
	repl := newEntry("a", 100)
	tt.set("a", repl)
	tt.assertLen(2)
	if !tt.contains("a") {
		t.Fatalf("Contains(%q) = false after replacing its entry; want true", "a")
	}
	got := tt.get("a")
	if got == nil {
		t.Fatalf("Get(%q) = nil after replacing its entry; want the new entry", "a")
	}
	if diffEntry(got, old[0]) == "" {
		t.Fatalf("Get(%q) returned the replaced entry; want the new one", "a")
	}
	tt.assertGet("a", repl)
	tt.assertGet("b", old[1])
}

func testSetOrder(t *testing.T, tt *tester) {
	keys := []string{"a", "b", "c", "d"}
	entries := tt.setNew(keys...)
	tt.assertOrder(keys, entries)
}

func testMoveToEnd(t *testing.T, tt *tester) {
	e := tt.setNew("a", "b", "c", "d")
	tt.moveToEnd("b")
	tt.moveToEnd("a")
	tt.assertLen(4)
	tt.assertOrder([]string{"c", "d", "b", "a"}, []*acache.Entry{e[2], e[3], e[1], e[0]})
}

func testMoveToEndOfNewest(t *testing.T, tt *tester) {
	e := tt.setNew("a", "b", "c")
	tt.moveToEnd("c")
	tt.moveToEnd("c")
	tt.assertLen(3)
	tt.assertOrder([]string{"a", "b", "c"}, e)
}

func testMoveToEndAbsent(t *testing.T, tt *tester) {
	e := tt.setNew("a", "b", "c")
	tt.moveToEnd("x")
	tt.assertLen(3)
	if tt.contains("x") {
		t.Fatalf("Contains(%q) = true after MoveToEnd(%q) of a key never stored; want false", "x", "x")
	}
	if e := tt.get("x"); e != nil {
		t.Fatalf("Get(%q) = %v after MoveToEnd(%q) of a key never stored; want nil", "x", e, "x")
	}
	tt.assertOrder([]string{"a", "b", "c"}, e)
}

func testReplaceMakesNewest(t *testing.T, tt *tester) {
	e := tt.setNew("a", "b", "c")
	repl := newEntry("a", 100)
	tt.set("a", repl)
	tt.assertLen(3)
	tt.assertOrder([]string{"b", "c", "a"}, []*acache.Entry{e[1], e[2], repl})
}

func testGetKeepsRecency(t *testing.T, tt *tester) {
	e := tt.setNew("a", "b", "c")
	for range 2 {
		for _, key := range []string{"a", "b"} {
			if tt.get(key) == nil {
				t.Fatalf("Get(%q) = nil; want the entry stored under it", key)
			}
			if !tt.contains(key) {
				t.Fatalf("Contains(%q) = false; want true", key)
			}
		}
	}
	tt.assertOrder([]string{"a", "b", "c"}, e)
}

func testPop(t *testing.T, tt *tester) {
	e := tt.setNew("a", "b", "c")
	got := tt.pop("b")
	if got == nil {
		t.Fatalf("Pop(%q) = nil; want the entry stored under it", "b")
	}
	if diff := diffEntry(got, e[1]); diff != "" {
		t.Fatalf("Pop(%q) returned an entry that differs from the one stored: %s", "b", diff)
	}
	tt.assertLen(2)
	if tt.contains("b") {
		t.Fatalf("Contains(%q) = true after Pop(%q); want false", "b", "b")
	}
	if got := tt.get("b"); got != nil {
		t.Fatalf("Get(%q) = %v after Pop(%q); want nil", "b", got, "b")
	}
	if got := tt.pop("b"); got != nil {
		t.Fatalf("second Pop(%q) = %v; want nil", "b", got)
	}
	tt.moveToEnd("b")
	tt.assertLen(2)

	// A popped key can be stored again, as the newest entry.
	again := newEntry("b", 100)
	tt.set("b", again)
	tt.assertOrder([]string{"a", "c", "b"}, []*acache.Entry{e[0], e[2], again})
}

func testPopOldestDrains(t *testing.T, tt *tester) {
	keys := []string{"a", "b", "c", "d", "e"}
	e := tt.setNew(keys...)
	for i, want := range keys {
		key, got := tt.popOldest()
		if key != want || got == nil {
			t.Fatalf("PopOldest() #%d = (%q, %v); want key %q and its entry", i+1, key, got, want)
		}
		if diff := diffEntry(got, e[i]); diff != "" {
			t.Fatalf("PopOldest() #%d returned key %q with an entry that differs from the one stored: %s", i+1, key, diff)
		}
		tt.assertLen(len(keys) - i - 1)
		if tt.contains(key) {
			t.Fatalf("Contains(%q) = true after PopOldest returned it; want false", key)
		}
	}
	for range 2 {
		if key, got := tt.popOldest(); key != "" || got != nil {
			t.Fatalf("PopOldest() on a drained backend = (%q, %v); want (\"\", nil)", key, got)
		}
	}
	tt.assertLen(0)

	// A drained backend is still usable.
	again := tt.setNew("x")
	tt.assertOrder([]string{"x"}, again)
}

func testRoundTrip(t *testing.T, tt *tester) {
	e := tt.setNew("a", "b")
	tt.assertGet("a", e[0])
	tt.assertGet("b", e[1])
	if got := tt.pop("a"); got == nil {
		t.Fatalf("Pop(%q) = nil; want the entry stored under it", "a")
	} else if diff := diffEntry(got, e[0]); diff != "" {
		t.Fatalf("Pop(%q) returned an entry that differs from the one stored: %s", "a", diff)
	}
	tt.assertOrder([]string{"b"}, e[1:])
}

func testRoundTripEmpty(t *testing.T, tt *tester) {
	entries := []*acache.Entry{
		{Key: "zero", StatusCode: 204},
		{Key: "empty", StatusCode: 200, Proto: "HTTP/1.1", Header: http.Header{}, Body: []byte{}, VaryHeader: http.Header{}},
		{Key: "nil-body", StatusCode: 200, Proto: "HTTP/2.0", Header: http.Header{"Content-Length": {"0"}}},
	}
	for _, e := range entries {
		tt.set(e.Key, e)
	}
	tt.assertLen(len(entries))
	for _, e := range entries {
		tt.assertGet(e.Key, e)
	}
	tt.assertOrder([]string{"zero", "empty", "nil-body"}, entries)
}

func testDoesNotModify(t *testing.T, tt *tester) {
	e := newEntry("a", 0)
	want := CloneEntry(e)
	tt.set("a", e)
	tt.get("a")
	tt.moveToEnd("a")
	tt.set("b", newEntry("b", 1))
	if diff := diffEntry(e, want); diff != "" {
		t.Fatalf("the entry given to Set(%q) was modified: %s", "a", diff)
	}
	if got := tt.pop("a"); got == nil {
		t.Fatalf("Pop(%q) = nil; want the entry stored under it", "a")
	}
	if diff := diffEntry(e, want); diff != "" {
		t.Fatalf("the entry given to Set(%q) was modified by Pop: %s", "a", diff)
	}
}

func testUnusualKeys(t *testing.T, tt *tester) {
	keys := []string{
		"  leading and trailing spaces  ",
		"nul\x00byte",
		"\x00",
		"unicode: héllo, 世界, 🙂",
		"invalid utf-8: \xff\xfe\xc0",
		"control: \t\r\n\x7f",
		"path/../like?query=1&b=%2F#frag",
		strings.Repeat("k", 1<<10),
	}
	entries := make([]*acache.Entry, len(keys))
	for i, key := range keys {
		entries[i] = newEntry(key, i)
		entries[i].Body = binaryBytes(256, i)
		tt.set(key, entries[i])
	}
	tt.assertLen(len(keys))
	for i, key := range keys {
		if !tt.contains(key) {
			t.Fatalf("Contains(%q) = false; want true", key)
		}
		tt.assertGet(key, entries[i])
	}
	tt.assertOrder(keys, entries)
}

func testLargeBody(t *testing.T, tt *tester) {
	e := newEntry("large", 0)
	e.Body = binaryBytes(1<<20, 7)
	tt.set("large", e)
	got := tt.get("large")
	if got == nil {
		t.Fatalf("Get(%q) = nil; want the entry stored under it", "large")
	}
	if !bytes.Equal(got.Body, e.Body) {
		t.Fatalf("Get(%q) returned a body of %d bytes that differs from the %d bytes stored", "large", len(got.Body), len(e.Body))
	}
	if diff := diffEntry(got, e); diff != "" {
		t.Fatalf("Get(%q) returned an entry that differs from the one stored: %s", "large", diff)
	}
}

func testConcurrent(t *testing.T, tt *tester) {
	const (
		workers    = 8
		iterations = 200
		nkeys      = 16
	)
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%02d", i)
	}
	ctx, b := tt.ctx, tt.b

	// check reports an entry that does not belong to the key it came with,
	// which a backend that is not safe for concurrent use may return.
	check := func(op, key string, e *acache.Entry) {
		if e != nil && e.Key != key {
			t.Errorf("%s(%q) returned an entry stored under %q", op, key, e.Key)
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range iterations {
				key := keys[(w*7+i*3)%nkeys]
				var err error
				switch i % 8 {
				case 0, 1, 2:
					err = b.Set(ctx, key, newEntry(key, w*iterations+i))
				case 3, 4:
					var e *acache.Entry
					e, err = b.Get(ctx, key)
					check("Get", key, e)
				case 5:
					err = b.MoveToEnd(ctx, key)
				case 6:
					var e *acache.Entry
					e, err = b.Pop(ctx, key)
					check("Pop", key, e)
				case 7:
					var k string
					var e *acache.Entry
					k, e, err = b.PopOldest(ctx)
					if (k == "") != (e == nil) {
						t.Errorf("PopOldest() = (%q, %v); want a key with its entry or (\"\", nil)", k, e)
					}
					check("PopOldest", k, e)
				}
				if err != nil {
					t.Errorf("worker %d, iteration %d on key %q: %v", w, i, key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	var stored []string
	for _, key := range keys {
		if tt.contains(key) {
			stored = append(stored, key)
			if e := tt.get(key); e == nil || e.Key != key {
				t.Fatalf("Get(%q) = %v after Contains(%q) = true; want its entry", key, e, key)
			}
		}
	}
	tt.assertLen(len(stored))

	// PopOldest must return every stored key exactly once.
	var popped []string
	for range len(stored) + 1 {
		key, e := tt.popOldest()
		if e == nil {
			break
		}
		if e.Key != key {
			t.Fatalf("PopOldest() returned key %q with an entry stored under %q", key, e.Key)
		}
		popped = append(popped, key)
	}
	slices.Sort(popped)
	if !slices.Equal(popped, stored) {
		t.Fatalf("PopOldest drained keys %q; want the keys Contains reported, %q", popped, stored)
	}
	tt.assertLen(0)
}

// newEntry returns an entry for key whose exported fields all hold values that
// differ with n.
func newEntry(key string, n int) *acache.Entry {
	// The times have a monotonic clock reading, a location and nanoseconds: a
	// backend may drop the reading and the location but must keep the instant.
	req := time.Now().Add(time.Duration(n)*time.Second + 123456789)
	return &acache.Entry{
		Key:        key,
		StatusCode: 200 + n%100,
		Proto:      fmt.Sprintf("HTTP/1.%d", n%2),
		Header: http.Header{
			"Content-Type":  {"text/plain; charset=utf-8"},
			"Cache-Control": {"max-age=60", "public"},
			"Etag":          {fmt.Sprintf(`"etag-%d"`, n)},
			"X-Number":      {fmt.Sprint(n)},
		},
		Body: fmt.Appendf(nil, "body %d of %q\x00\xff", n, key),
		VaryHeader: http.Header{
			"Accept-Language": {fmt.Sprintf("lang-%d", n)},
		},
		RequestTime:  req,
		ResponseTime: req.Add(1500*time.Millisecond + time.Duration(n)),
		Variants:     variantsOf(key, n),
		Credentials:  fmt.Sprintf("%032x", n*7919),
		Uncompressed: n%3 == 0,
		FreshFor:     time.Duration(n)*time.Second + 7,
		Partitions:   partitionsOf(key, n),
		Version:      uint64(n)*0x9e3779b97f4a7c15 + 1,
	}
}

// partitionsOf returns, for n a multiple of 4, the index of two partitions
// of key (see [acache.Entry.Partitions]), which a backend must keep.
func partitionsOf(key string, n int) []string {
	if n%4 != 0 {
		return nil
	}
	return []string{key + "\x00auth=" + fmt.Sprint(n), key + "\x00auth=other"}
}

// variantsOf returns, for odd n, two other variants of the response stored
// under key (RFC 9111 Section 4.1), which a backend must keep with it.
func variantsOf(key string, n int) []*acache.Entry {
	if n%2 == 0 {
		return nil
	}
	var variants []*acache.Entry
	for i := range 2 {
		t := time.Unix(1700000000+int64(n*10+i), int64(i)*1000)
		variants = append(variants, &acache.Entry{
			Key:          key,
			StatusCode:   200,
			Proto:        "HTTP/1.1",
			Header:       http.Header{"Vary": {"Accept-Language"}, "X-Variant": {fmt.Sprint(i)}},
			Body:         fmt.Appendf(nil, "variant %d of %d", i, n),
			VaryHeader:   http.Header{"Accept-Language": {fmt.Sprintf("variant-%d", i)}},
			RequestTime:  t,
			ResponseTime: t.Add(time.Millisecond),
		})
	}
	return variants
}

// binaryBytes returns n bytes that take every byte value.
func binaryBytes(n, seed int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x) + byte(i)
	}
	return b
}

// diffEntry describes how got's exported fields differ from want's, or returns
// "" if they are equal.
func diffEntry(got, want *acache.Entry) string {
	var d []string
	if got.Key != want.Key {
		d = append(d, fmt.Sprintf("Key = %q; want %q", got.Key, want.Key))
	}
	if got.StatusCode != want.StatusCode {
		d = append(d, fmt.Sprintf("StatusCode = %d; want %d", got.StatusCode, want.StatusCode))
	}
	if got.Proto != want.Proto {
		d = append(d, fmt.Sprintf("Proto = %q; want %q", got.Proto, want.Proto))
	}
	if !equalHeader(got.Header, want.Header) {
		d = append(d, fmt.Sprintf("Header = %v; want %v", got.Header, want.Header))
	}
	if !bytes.Equal(got.Body, want.Body) {
		d = append(d, fmt.Sprintf("Body = %s; want %s", quoteBody(got.Body), quoteBody(want.Body)))
	}
	if !equalHeader(got.VaryHeader, want.VaryHeader) {
		d = append(d, fmt.Sprintf("VaryHeader = %v; want %v", got.VaryHeader, want.VaryHeader))
	}
	if !got.RequestTime.Equal(want.RequestTime) {
		d = append(d, fmt.Sprintf("RequestTime = %v; want %v", got.RequestTime, want.RequestTime))
	}
	if !got.ResponseTime.Equal(want.ResponseTime) {
		d = append(d, fmt.Sprintf("ResponseTime = %v; want %v", got.ResponseTime, want.ResponseTime))
	}
	if got.Credentials != want.Credentials {
		d = append(d, fmt.Sprintf("Credentials = %q; want %q", got.Credentials, want.Credentials))
	}
	if got.Uncompressed != want.Uncompressed {
		d = append(d, fmt.Sprintf("Uncompressed = %v; want %v", got.Uncompressed, want.Uncompressed))
	}
	if got.FreshFor != want.FreshFor {
		d = append(d, fmt.Sprintf("FreshFor = %v; want %v", got.FreshFor, want.FreshFor))
	}
	if !slices.Equal(got.Partitions, want.Partitions) {
		d = append(d, fmt.Sprintf("Partitions = %q; want %q", got.Partitions, want.Partitions))
	}
	if len(got.Variants) != len(want.Variants) {
		d = append(d, fmt.Sprintf("len(Variants) = %d; want %d", len(got.Variants), len(want.Variants)))
	} else {
		for i := range want.Variants {
			if got.Variants[i] == nil || want.Variants[i] == nil {
				if got.Variants[i] != want.Variants[i] {
					d = append(d, fmt.Sprintf("Variants[%d] = %v; want %v", i, got.Variants[i], want.Variants[i]))
				}
				continue
			}
			if vd := diffEntry(got.Variants[i], want.Variants[i]); vd != "" {
				d = append(d, fmt.Sprintf("Variants[%d]: %s", i, vd))
			}
		}
	}
	return strings.Join(d, "; ")
}

// equalHeader reports whether a and b hold the same fields with the same
// values, treating nil and empty alike.
func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for name, av := range a {
		bv, ok := b[name]
		if !ok || !slices.Equal(av, bv) {
			return false
		}
	}
	return true
}

// quoteBody formats a body for a failure message, abbreviating a long one.
func quoteBody(b []byte) string {
	const maxLen = 64
	if len(b) > maxLen {
		return fmt.Sprintf("%q... (%d bytes)", b[:maxLen], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// assertSize fails the test now if the backend's Size is not the number of
// entries Len reports and want bytes.
func (tt *tester) assertSize(s acache.Sizer, after string, want int64) {
	tt.t.Helper()
	entries, bytes, err := s.Size(tt.ctx)
	if err != nil {
		tt.t.Fatalf("Size() returned an error after %s: %v", after, err)
	}
	if bytes != want {
		tt.t.Fatalf("Size() = %d bytes after %s; want %d, the sum of the stored entries' Size", bytes, after, want)
	}
	if n := tt.len(); entries != n {
		tt.t.Fatalf("Size() = %d entries after %s; Len() = %d", entries, after, n)
	}
}

func testSize(t *testing.T, tt *tester) {
	s, ok := tt.b.(acache.Sizer)
	if !ok {
		return // the check is for backends that count their bytes
	}
	tt.assertSize(s, "nothing was stored", 0)
	a, b := newEntry("a", 1), newEntry("b", 2)
	tt.set("a", a)
	tt.assertSize(s, "Set(a)", a.Size())
	tt.set("b", b)
	tt.assertSize(s, "Set(a), Set(b)", a.Size()+b.Size())

	bigger := newEntry("a", 3)
	bigger.Body = binaryBytes(10_000, 3)
	tt.set("a", bigger)
	tt.assertSize(s, "replacing a with a larger entry", bigger.Size()+b.Size())
	tt.get("a")
	tt.moveToEnd("b")
	tt.contains("a")
	tt.assertSize(s, "Get, Contains and MoveToEnd", bigger.Size()+b.Size())

	tt.set("a", a)
	tt.assertSize(s, "replacing a with a smaller entry", a.Size()+b.Size())
	tt.pop("b")
	tt.assertSize(s, "Pop(b)", a.Size())
	tt.pop("absent")
	tt.assertSize(s, "Pop of an absent key", a.Size())
	tt.popOldest()
	tt.assertSize(s, "PopOldest emptied the backend", 0)
}

func testSizeConcurrent(t *testing.T, tt *tester) {
	s, ok := tt.b.(acache.Sizer)
	if !ok {
		return // the check is for backends that count their bytes
	}
	const workers, iterations, nkeys = 8, 100, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range iterations {
				key := fmt.Sprintf("key-%d", (w*5+i*3)%nkeys)
				var err error
				switch i % 4 {
				case 0, 1:
					e := newEntry(key, w*iterations+i)
					e.Body = binaryBytes((w*iterations+i)%5000, i)
					err = tt.b.Set(tt.ctx, key, e)
				case 2:
					_, err = tt.b.Pop(tt.ctx, key)
				case 3:
					_, _, err = tt.b.PopOldest(tt.ctx)
				}
				if err != nil {
					t.Errorf("worker %d, iteration %d on key %q: %v", w, i, key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var want int64
	for i := range nkeys {
		if e := tt.get(fmt.Sprintf("key-%d", i)); e != nil {
			want += e.Size()
		}
	}
	tt.assertSize(s, "concurrent Set, Pop and PopOldest", want)
}
