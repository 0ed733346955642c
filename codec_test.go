package acache

import (
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/entry-v2/*.bin from the entries of TestEntryEncodingGolden")

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
			VaryHeader:   http.Header{"Accept-Language": {"en", "fr"}, "Cookie": {""}},
			RequestTime:  at,
			ResponseTime: at.Add(1500 * time.Millisecond),
			Credentials:  "00112233445566778899aabbccddeeff",
			Uncompressed: true,
			FreshFor:     90 * time.Second,
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
		path := filepath.Join("testdata", "entry-v2", name+".bin")
		data, err := e.MarshalBinary()
		require.NoError(t, err)
		if *updateGolden {
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, data, 0o644))
		}
		golden, err := os.ReadFile(path)
		require.NoError(t, err, "the golden file of %s", name)
		assert.Equal(t, golden, data, "%s: the encoding changed; bump codecVersion and keep reading versions 1 and 2", name)
		var got Entry
		require.NoError(t, got.UnmarshalBinary(golden))
		sameEntry(t, e, &got, name)
	}
}

// TestEntryDecodingVersion1 reads what version 1 wrote, before Entry had
// FreshFor: a backend keeps its entries across the change.
func TestEntryDecodingVersion1(t *testing.T) {
	t.Parallel()
	for name, e := range codecEntries() {
		golden, err := os.ReadFile(filepath.Join("testdata", "entry-v1", name+".bin"))
		require.NoError(t, err, "the version 1 golden file of %s", name)
		want := *e
		want.FreshFor = 0
		want.Variants = nil
		for _, v := range e.Variants {
			unruled := *v
			unruled.FreshFor = 0
			want.Variants = append(want.Variants, &unruled)
		}
		var got Entry
		require.NoError(t, got.UnmarshalBinary(golden), name)
		sameEntry(t, &want, &got, name+" (version 1)")
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
	wrongVersion[len(codecMagic)] = 3
	reject("another version", resum(wrongVersion))
	noVersion := append([]byte(nil), good...)
	noVersion[len(codecMagic)] = 0
	reject("version 0", resum(noVersion))
	ruled := codecEntries()["full"]
	ruled.FreshFor = maxAge + 1
	tooFresh, err := ruled.MarshalBinary()
	require.NoError(t, err)
	reject("a rule's freshness past 2^31 seconds", tooFresh)
	reject("trailing bytes", resum(append(append([]byte(nil), good[:len(good)-4]...), 0, 0, 0, 0, 0)))
	reject("input past MaxEncodedEntry", make([]byte, MaxEncodedEntry+1))

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
	}
}
