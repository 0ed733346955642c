package acache

// This file holds the durable form of an Entry: a versioned binary encoding
// with a checksum, for backends that keep entries outside the process.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// The encoding of an Entry, version 3:
//
//	"acache" version(1 byte) uvarint(Version) record
//	         crc32c(4 bytes, big-endian, of all before)
//	record   = string(Key) uvarint(StatusCode) string(Proto) header(Header)
//	           bytes(Body) optional-header(VaryHeader) time(RequestTime)
//	           time(ResponseTime) string(Credentials) bool(Uncompressed)
//	           uvarint(FreshFor, nanoseconds)
//	           uvarint(n) n*string(Partitions) uvarint(n) n*record(Variants)
//	string   = uvarint(len) bytes
//	header   = uvarint(fields) fields*(string(name) uvarint(n) n*string(value)),
//	           names sorted
//	optional-header = bool(present) [header]
//	time     = bool(zero) [varint(Unix seconds) uvarint(nanoseconds)]
//
// Variants are records with no variants of their own. The encoding of an
// entry is canonical: one entry, one encoding.
//
// Version 3 adds the entry's Version before the record, and changes what
// VaryHeader holds for the credential fields (Authorization, Cookie,
// Proxy-Authorization): a keyed hash, where versions 1 and 2 kept the value
// in clear. Versions 1 and 2 have no Version (it reads as 0); version 2 is
// version 1 with FreshFor. Both are still read: their
// entries with a FreshFor of zero, and with the credentials of VaryHeader
// dropped (the field present, with no value), so that such an entry is read
// but never matches a request, and its credentials are never written again.
const (
	codecMagic   = "acache"
	codecVersion = 3
)

// maxEncodedEntry bounds the encoding of one entry that
// [Entry.UnmarshalBinary] accepts.
const maxEncodedEntry = 256 << 20

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the exported fields of e, its variants included, in
// the versioned, checksummed form that [Entry.UnmarshalBinary] reads: the
// durable form of an entry, for backends that store entries as bytes. It
// implements [encoding.BinaryMarshaler].
func (e *Entry) MarshalBinary() ([]byte, error) {
	if len(e.Variants) > 0 {
		for _, v := range e.Variants {
			if v == nil || len(v.Variants) > 0 {
				return nil, fmt.Errorf("%w: a variant that is nil or has variants", ErrCorruptEntry)
			}
		}
	}
	w := &encoder{buf: make([]byte, 0, 64+e.Size())}
	w.buf = append(w.buf, codecMagic...)
	w.buf = append(w.buf, codecVersion)
	w.uvarint(e.Version)
	w.record(e, true)
	if len(w.buf)+4 > maxEncodedEntry {
		return nil, fmt.Errorf("%w: %d bytes encoded, more than the 256 MiB an entry may take", ErrCorruptEntry, len(w.buf)+4)
	}
	return binary.BigEndian.AppendUint32(w.buf, crc32.Checksum(w.buf, crc32c)), nil
}

// UnmarshalBinary decodes what [Entry.MarshalBinary] encoded into e. It
// rejects, with an error wrapping [ErrCorruptEntry] and leaving e unchanged,
// input that is truncated, corrupted (its checksum), of another version,
// larger than 256 MiB or malformed in any way; it never panics,
// and allocates no more than the input's size before it has checked it. The
// entry it decodes is not trusted: the Cache validates it before use. It
// implements [encoding.BinaryUnmarshaler].
func (e *Entry) UnmarshalBinary(data []byte) error {
	decoded, err := decodeEntry(data, false)
	if err != nil {
		return err
	}
	*e = *decoded
	return nil
}

// DecodeEntry decodes data as [Entry.UnmarshalBinary] does, into a new
// Entry whose Body shares data's bytes instead of copying them: the caller
// gives data up, and must not change it afterwards. A backend that reads
// each entry into memory of its own (a reply from the network) saves a copy
// of every body it serves, and the garbage of it: over Redis, a 256 KiB hit
// allocates half as much.
func DecodeEntry(data []byte) (*Entry, error) {
	return decodeEntry(data, true)
}

// decodeEntry decodes data; the body shares data's bytes when share is set.
func decodeEntry(data []byte, share bool) (*Entry, error) {
	switch {
	case len(data) > maxEncodedEntry:
		return nil, fmt.Errorf("%w: %d bytes, more than the 256 MiB an entry may take", ErrCorruptEntry, len(data))
	case len(data) < len(codecMagic)+1+4 || string(data[:len(codecMagic)]) != codecMagic:
		return nil, fmt.Errorf("%w: not an encoded entry", ErrCorruptEntry)
	case data[len(codecMagic)] == 0 || data[len(codecMagic)] > codecVersion:
		return nil, fmt.Errorf("%w: encoding version %d, want 1 to %d", ErrCorruptEntry, data[len(codecMagic)], codecVersion)
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, crc32c) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptEntry)
	}
	r := &decoder{buf: body[len(codecMagic)+1:], version: body[len(codecMagic)], share: share}
	var version uint64
	if r.version >= 3 {
		version = r.uvarint()
	}
	decoded := r.record(true)
	if r.err == nil && len(r.buf) > 0 {
		r.fail("%d bytes after the entry", len(r.buf))
	}
	if r.err != nil {
		return nil, r.err
	}
	decoded.Version = version
	return decoded, nil
}

// encoder appends the parts of the encoding to buf.
type encoder struct{ buf []byte }

func (w *encoder) uvarint(n uint64) { w.buf = binary.AppendUvarint(w.buf, n) }
func (w *encoder) string(s string)  { w.uvarint(uint64(len(s))); w.buf = append(w.buf, s...) }
func (w *encoder) bytes(b []byte)   { w.uvarint(uint64(len(b))); w.buf = append(w.buf, b...) }

func (w *encoder) bool(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

func (w *encoder) time(t time.Time) {
	w.bool(t.IsZero())
	if !t.IsZero() {
		w.buf = binary.AppendVarint(w.buf, t.Unix())
		w.uvarint(uint64(t.Nanosecond()))
	}
}

func (w *encoder) header(h http.Header) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	w.uvarint(uint64(len(names)))
	for _, name := range names {
		w.string(name)
		w.uvarint(uint64(len(h[name])))
		for _, v := range h[name] {
			w.string(v)
		}
	}
}

func (w *encoder) record(e *Entry, withVariants bool) {
	w.string(e.Key)
	w.uvarint(uint64(max(e.StatusCode, 0)))
	w.string(e.Proto)
	w.header(e.Header)
	w.bytes(e.Body)
	w.bool(e.VaryHeader != nil)
	if e.VaryHeader != nil {
		w.header(e.VaryHeader)
	}
	w.time(e.RequestTime)
	w.time(e.ResponseTime)
	w.string(e.Credentials)
	w.bool(e.Uncompressed)
	w.uvarint(uint64(max(e.FreshFor, 0)))
	w.uvarint(uint64(len(e.Partitions)))
	for _, key := range e.Partitions {
		w.string(key)
	}
	if !withVariants {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(len(e.Variants)))
	for _, v := range e.Variants {
		w.record(v, false)
	}
}

// decoder reads the parts of the encoding from buf; after the first error,
// every read returns a zero value and err keeps that error.
type decoder struct {
	buf     []byte
	err     error
	version byte
	share   bool // bytes shares buf's bytes (DecodeEntry)
}

func (r *decoder) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorruptEntry, fmt.Sprintf(format, args...))
	}
	r.buf = nil
}

func (r *decoder) uvarint() uint64 {
	n, size := binary.Uvarint(r.buf)
	if size <= 0 {
		r.fail("truncated or overlong number")
		return 0
	}
	r.buf = r.buf[size:]
	return n
}

// count reads a count of items that take at least minSize bytes each, and
// refuses one that the rest of the input cannot hold: nothing is allocated
// for items that are not there.
func (r *decoder) count(minSize int) int {
	n := r.uvarint()
	if n > uint64(len(r.buf)/minSize) {
		r.fail("a count of %d that %d bytes cannot hold", n, len(r.buf))
		return 0
	}
	return int(n)
}

func (r *decoder) raw() []byte {
	n := r.count(1)
	if r.err != nil {
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}

func (r *decoder) string() string { return string(r.raw()) }
func (r *decoder) bytes() []byte {
	if r.share {
		return r.raw() // its capacity ends with it: an append copies
	}
	return bytes.Clone(r.raw())
}

func (r *decoder) bool() bool {
	if len(r.buf) == 0 {
		r.fail("truncated")
		return false
	}
	b := r.buf[0]
	r.buf = r.buf[1:]
	if b > 1 {
		r.fail("a boolean of %d", b)
	}
	return b == 1
}

func (r *decoder) time() time.Time {
	if r.bool() || r.err != nil {
		return time.Time{}
	}
	secs, size := binary.Varint(r.buf)
	if size <= 0 {
		r.fail("truncated time")
		return time.Time{}
	}
	r.buf = r.buf[size:]
	nanos := r.uvarint()
	if nanos >= uint64(time.Second) {
		r.fail("%d nanoseconds", nanos)
		return time.Time{}
	}
	return time.Unix(secs, int64(nanos))
}

func (r *decoder) header() http.Header {
	fields := r.count(2)
	h := make(http.Header, fields)
	previous := ""
	for i := 0; i < fields && r.err == nil; i++ {
		name := r.string()
		if i > 0 && name <= previous {
			r.fail("header names out of order") // one entry, one encoding
		}
		previous = name
		values := make([]string, r.count(1))
		for j := range values {
			values[j] = r.string()
		}
		h[name] = values
	}
	return h
}

func (r *decoder) record(withVariants bool) *Entry {
	e := &Entry{Key: r.string()}
	status := r.uvarint()
	if status > math.MaxInt32 {
		r.fail("status %d", status)
	}
	e.StatusCode = int(status)
	e.Proto = r.string()
	e.Header = r.header()
	e.Body = r.bytes()
	if r.bool() {
		e.VaryHeader = r.header()
		if r.version < 3 {
			for name := range e.VaryHeader {
				if credentialField(name) {
					e.VaryHeader[name] = []string{} // kept in clear: dropped
				}
			}
		}
	}
	e.RequestTime = r.time()
	e.ResponseTime = r.time()
	e.Credentials = r.string()
	e.Uncompressed = r.bool()
	if r.version >= 2 {
		freshFor := r.uvarint()
		if freshFor > uint64(policy.MaxAge) {
			r.fail("a rule's freshness of %d ns", freshFor)
		}
		e.FreshFor = time.Duration(freshFor)
	}
	if n := r.count(1); n > 0 {
		e.Partitions = make([]string, n)
		for i := range e.Partitions {
			e.Partitions[i] = r.string()
		}
	}
	n := r.count(8)
	if n > 0 && !withVariants {
		r.fail("a variant with variants")
	}
	for range n {
		if r.err != nil {
			break
		}
		e.Variants = append(e.Variants, r.record(false))
	}
	return e
}
