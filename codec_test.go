package acache

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/entry-v3/*.bin from the entries of TestEntryEncodingGolden")

// codecEntries are entries that exercise every part of the encoding.
func codecEntries() map[string]*Entry {
	at := time.Date(2026, 11, 24, 12, 0, 0, 123456789, time.UTC)
	key := "GET https://example.com/a?x=1\x00auth=0123456789abcdef0123456789abcdef"
	return map[string]*Entry{
		"minimal": {Key: "GET http://h/", StatusCode: 200, Header: http.Header{}},
		"full": {
			Key: key, StatusCode: 203, Proto: "HTTP/2.0",
			Header: http.Header{"Cache-Control": {"max-age=60", "private"}, "Etag": {`"v1"`},
				"Content-Type": {"application/octet-stream"}, "X-Empty": {}},
			Body:         []byte("body\x00\xff\r\n with every byte"),
			VaryHeader:   http.Header{"Accept-Language": {"en", "fr"}, "Cookie": {"8d9c0e0b5f7a41e2b36d1c2f9e4a7b60"}},
			RequestTime:  at,
			ResponseTime: at.Add(1500 * time.Millisecond),
			Credentials:  "00112233445566778899aabbccddeeff",
			Uncompressed: true,
			FreshFor:     90 * time.Second,
			Version:      0x9e3779b97f4a7c15,
			Variants: []*Entry{{
				Key: key, StatusCode: 200, Proto: "HTTP/1.1",
				FreshFor:     time.Nanosecond,
				Header:       http.Header{"Vary": {"Accept-Language"}},
				Body:         []byte("variant"),
				VaryHeader:   http.Header{},
				ResponseTime: at,
			}},
		},
		"index": {Key: "GET http://h/u", Partitions: []string{"GET http://h/u\x00auth=aa", "GET http://h/u\x00auth=bb"}},
	}
}

// sameEntry fails the test unless got and want agree on every exported
// field, times compared as instants and nil equal to empty.
func sameEntry(t *testing.T, want, got *Entry, what string) {
	t.Helper()
	norm := func(e *Entry) Entry {
		n := *e
		n.meta = nil
		if len(n.Body) == 0 {
			n.Body = nil
		}
		if len(n.Header) == 0 {
			n.Header = nil
		}
		for _, tm := range []*time.Time{&n.RequestTime, &n.ResponseTime} {
			if !tm.IsZero() {
				*tm = tm.UTC()
			}
		}
		for name, v := range n.Header {
			if len(v) == 0 {
				n.Header = n.Header.Clone()
				n.Header[name] = nil
			}
		}
		n.Variants = nil
		return n
	}
	assert.Equal(t, norm(want), norm(got), "%s: the entry decoded is not the entry encoded", what)
	require.Equal(t, len(want.Variants), len(got.Variants), "%s: variants", what)
	for i := range want.Variants {
		sameEntry(t, want.Variants[i], got.Variants[i], what+" variant")
	}
}

func TestEntryEncodingRoundTrips(t *testing.T) {
	t.Parallel()
	for name, e := range codecEntries() {
		data, err := e.MarshalBinary()
		require.NoError(t, err, name)
		var got Entry
		require.NoError(t, got.UnmarshalBinary(data), name)
		sameEntry(t, e, &got, name)
		again, err := got.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, data, again, "%s: one entry, one encoding", name)
	}
}

// TestEntryEncodingGolden pins the encoding: a change to it must be
// deliberate (a new version, and go test -run TestEntryEncodingGolden
// -update-golden).
func TestEntryEncodingGolden(t *testing.T) {
	for name, e := range codecEntries() {
		path := filepath.Join("testdata", "entry-v3", name+".bin")
		data, err := e.MarshalBinary()
		require.NoError(t, err)
		if *updateGolden {
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, data, 0o644))
		}
		golden, err := os.ReadFile(path)
		require.NoError(t, err, "the golden file of %s", name)
		assert.Equal(t, golden, data, "%s: the encoding changed; bump codecVersion and keep reading versions 1 to 3", name)
		var got Entry
		require.NoError(t, got.UnmarshalBinary(golden))
		sameEntry(t, e, &got, name)
	}
}

// TestEntryDecodingOlderVersions reads what versions 1 and 2 wrote: a
// backend keeps its entries across the changes. Version 1 came before Entry
// had FreshFor; neither has Version; both kept the credentials a response
// varies on in clear, which version 3 hashes: they are read without them,
// never to match.
func TestEntryDecodingOlderVersions(t *testing.T) {
	t.Parallel()
	for _, version := range []int{1, 2} {
		for name, e := range codecEntries() {
			golden, err := os.ReadFile(filepath.Join("testdata", fmt.Sprintf("entry-v%d", version), name+".bin"))
			require.NoError(t, err, "the version %d golden file of %s", version, name)
			old := func(e *Entry) *Entry {
				o := *e
				o.Version = 0 // versions 1 and 2 had none
				if version == 1 {
					o.FreshFor = 0
				}
				if o.VaryHeader != nil {
					o.VaryHeader = o.VaryHeader.Clone()
					if _, ok := o.VaryHeader["Cookie"]; ok {
						o.VaryHeader["Cookie"] = []string{}
					}
				}
				return &o
			}
			want := old(e)
			want.Variants = nil
			for _, v := range e.Variants {
				want.Variants = append(want.Variants, old(v))
			}
			var got Entry
			require.NoError(t, got.UnmarshalBinary(golden), name)
			sameEntry(t, want, &got, fmt.Sprintf("%s (version %d)", name, version))
			if cookie, ok := got.VaryHeader["Cookie"]; ok {
				assert.Empty(t, cookie, "a credential kept in clear by version %d was read back", version)
			}
		}
	}
}

// resum replaces the checksum of data by the right one, so that a test can
// reach the checks behind it.
func resum(data []byte) []byte {
	body := data[:len(data)-4]
	return binary.BigEndian.AppendUint32(append([]byte(nil), body...), crc32.Checksum(body, crc32c))
}

func TestEntryDecodingRejectsBadInput(t *testing.T) {
	t.Parallel()
	good, err := codecEntries()["full"].MarshalBinary()
	require.NoError(t, err)
	reject := func(what string, data []byte) {
		t.Helper()
		e := Entry{Key: "untouched"}
		err := e.UnmarshalBinary(data)
		assert.ErrorIs(t, err, ErrCorruptEntry, "%s was decoded", what)
		assert.Equal(t, Entry{Key: "untouched"}, e, "%s: a half-decoded entry was left behind", what)
	}
	for n := range len(good) {
		reject("a truncated entry", good[:n])
	}
	for i := range good {
		flipped := append([]byte(nil), good...)
		flipped[i] ^= 0x20
		reject("a corrupted byte", flipped)
	}
	wrongVersion := append([]byte(nil), good...)
	wrongVersion[len(codecMagic)] = codecVersion + 1
	reject("another version", resum(wrongVersion))
	noVersion := append([]byte(nil), good...)
	noVersion[len(codecMagic)] = 0
	reject("version 0", resum(noVersion))
	ruled := codecEntries()["full"]
	ruled.FreshFor = policy.MaxAge + 1
	tooFresh, err := ruled.MarshalBinary()
	require.NoError(t, err)
	reject("a rule's freshness past 2^31 seconds", tooFresh)
	reject("trailing bytes", resum(append(append([]byte(nil), good[:len(good)-4]...), 0, 0, 0, 0, 0)))
	reject("input past maxEncodedEntry", make([]byte, maxEncodedEntry+1))

	// A count larger than the input: nothing is allocated for it.
	huge := []byte(codecMagic + "\x01")
	huge = binary.AppendUvarint(huge, 1<<40) // the key's length
	reject("a length the input cannot hold", resum(append(huge, 0, 0, 0, 0)))
}

func TestEntryEncodingRefusesVariantsOfVariants(t *testing.T) {
	t.Parallel()
	e := codecEntries()["full"]
	e.Variants[0].Variants = []*Entry{{Key: e.Key}}
	_, err := e.MarshalBinary()
	assert.ErrorIs(t, err, ErrCorruptEntry)
}

// FuzzEntryUnmarshalBinary feeds arbitrary bytes to the decoder: it never
// panics, and what it accepts encodes to something that decodes to the same.
func FuzzEntryUnmarshalBinary(f *testing.F) {
	for _, e := range codecEntries() {
		data, _ := e.MarshalBinary()
		f.Add(data)
		f.Add(data[len(codecMagic)+1 : len(data)-4]) // the record alone
	}
	f.Add([]byte(codecMagic + "\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecoding(t, data)
		// Most mutations break the checksum: also decode data as the
		// record of a well-framed entry, to reach the decoder behind it.
		framed := append([]byte(codecMagic), codecVersion)
		framed = append(framed, data...)
		checkDecoding(t, binary.BigEndian.AppendUint32(framed, crc32.Checksum(framed, crc32c)))
	})
}

func checkDecoding(t *testing.T, data []byte) {
	{
		var e Entry
		if err := e.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrCorruptEntry) {
				t.Fatalf("UnmarshalBinary: %v, which does not wrap ErrCorruptEntry", err)
			}
			if _, err := DecodeEntry(bytes.Clone(data)); err == nil {
				t.Fatalf("DecodeEntry accepted what UnmarshalBinary refused")
			}
			return
		}
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatalf("a decoded entry does not encode: %v", err)
		}
		var back Entry
		if err := back.UnmarshalBinary(again); err != nil {
			t.Fatalf("an encoded entry does not decode: %v", err)
		}
		sameEntry(t, &e, &back, "fuzzed")
		shared, err := DecodeEntry(bytes.Clone(data))
		if err != nil {
			t.Fatalf("DecodeEntry failed where UnmarshalBinary did not: %v", err)
		}
		sameEntry(t, &e, shared, "decoded sharing its input")
	}
}

// TestEntryOfAnOlderVersionWithCredentialsIsAMiss checks that an entry an
// earlier version stored with a Vary'd credential in clear is read, never
// served (its credential is dropped), never an error, and replaced by the
// next store without its credential being written again.
func TestEntryOfAnOlderVersionWithCredentialsIsAMiss(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Vary", "Authorization")
		io.WriteString(w, "new")
	})
	c := NewCache(newCodecBackend(), WithClock(clock.Now), WithShared())
	tr := &Transport{Transport: unclosable{testInner}, Cache: c}
	u, err := url.Parse(o.URL + "/old")
	require.NoError(t, err)
	key := c.keyFor(http.MethodGet, u, "", "")
	old := &Entry{Key: key, StatusCode: 200, Proto: "HTTP/1.1", Body: []byte("old"),
		Header:      http.Header{"Cache-Control": {"public, max-age=600"}, "Vary": {"Authorization"}, "Content-Length": {"3"}},
		VaryHeader:  http.Header{"Authorization": {"Bearer in-clear"}},
		RequestTime: clock.Now(), ResponseTime: clock.Now()}
	data, err := old.MarshalBinary()
	require.NoError(t, err)
	data[len(codecMagic)] = 2 // the layout of version 2, credentials in clear, no Version
	data = slices.Delete(data, len(codecMagic)+1, len(codecMagic)+2)
	backend := c.backend.(*breakerBackend).inner.(*codecBackend)
	backend.set(key, resum(data))

	resp, body := fetch(t, tr, "GET", o.URL+"/old", hdr("Authorization", "Bearer in-clear"))
	assert.False(t, isHit(resp), "an entry of version 2 was served by its credential in clear")
	assert.Equal(t, "new", body)
	assert.Zero(t, c.Stats().Errors, "an entry of an older version is a miss, not an error")
	assert.NotContains(t, string(backend.bytes(key)), "in-clear", "the old credential was written again")
	resp, body = fetch(t, tr, "GET", o.URL+"/old", hdr("Authorization", "Bearer in-clear"))
	assert.True(t, isHit(resp))
	assert.Equal(t, "new", body)
}

// codecBackend is an LRU whose entries go through their durable encoding,
// as they do on disk or in Redis: Get decodes what Set encoded. It is a
// backend of the seven methods and Sizer, not a Committer.
type codecBackend struct {
	plainLRU
	lru  *lru
	mu   sync.Mutex
	data map[string][]byte
}

func newCodecBackend() *codecBackend {
	l := newLRU()
	return &codecBackend{plainLRU: plainLRU{l, l}, lru: l, data: map[string][]byte{}}
}

func (b *codecBackend) set(key string, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data[key] = data
	b.lru.Set(context.Background(), key, &Entry{Key: key})
}

func (b *codecBackend) bytes(key string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.data[key]
}

func (b *codecBackend) Get(_ context.Context, key string) (*Entry, error) {
	data := b.bytes(key)
	if data == nil {
		return nil, nil
	}
	e := new(Entry)
	return e, e.UnmarshalBinary(data)
}

func (b *codecBackend) Set(_ context.Context, key string, e *Entry) error {
	data, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	b.set(key, data)
	return nil
}

func (b *codecBackend) Pop(ctx context.Context, key string) (*Entry, error) {
	e, err := b.Get(ctx, key)
	b.mu.Lock()
	delete(b.data, key)
	b.mu.Unlock()
	b.lru.Pop(ctx, key)
	return e, err
}

func (b *codecBackend) PopOldest(ctx context.Context) (string, *Entry, error) {
	key, _, err := b.lru.PopOldest(ctx)
	if key == "" || err != nil {
		return key, nil, err
	}
	e, err := b.Get(ctx, key)
	b.mu.Lock()
	delete(b.data, key)
	b.mu.Unlock()
	return key, e, err
}

// DecodeEntry decodes what UnmarshalBinary does, its body in the input's
// bytes rather than a copy of them.
func TestDecodeEntrySharesTheBody(t *testing.T) {
	for _, e := range codecEntries() {
		data, err := e.MarshalBinary()
		require.NoError(t, err)
		var copied Entry
		require.NoError(t, copied.UnmarshalBinary(data))
		shared, err := DecodeEntry(data)
		require.NoError(t, err)
		sameEntry(t, &copied, shared, e.Key)
		if len(shared.Body) > 0 {
			start := uintptr(unsafe.Pointer(&data[0]))
			at := uintptr(unsafe.Pointer(&shared.Body[0]))
			assert.True(t, at >= start && at < start+uintptr(len(data)), "%s: the body was copied", e.Key)
			assert.Equal(t, len(shared.Body), cap(shared.Body), "%s: an append to the body would write over the input", e.Key)
		}
	}
}
