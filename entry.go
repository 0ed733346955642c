package acache

// This file holds Entry, the durable form of a stored response, with what
// the Cache derives from it (entryMeta), how it walks an entry and its
// variants, and how it checks an entry a backend hands back.

import (
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// Entry is one stored response: what the origin sent, when, and for which
// request. The exported fields are the durable form of an entry, everything a
// persistent backend must keep; the Cache derives the rest (parsed directives,
// freshness lifetime, initial age) from them when it stores the entry or, for an
// entry a backend decoded, when it reads it.
type Entry struct {
	// Key is the full cache key the entry was stored under. The Cache compares
	// it with the key of every request it serves the entry to, so an entry
	// found under the wrong key is never served.
	Key string
	// StatusCode is the response's status code, e.g. 200.
	StatusCode int
	// Proto is the protocol of the origin's response, e.g. "HTTP/1.1".
	Proto string
	// Header holds the stored response header fields, without the hop-by-hop
	// fields that RFC 9111 Section 3.1 forbids storing.
	Header http.Header
	// Body holds the complete response content, exactly the bytes the caller
	// of the original request read.
	Body []byte
	// VaryHeader holds the values of the request header fields that the
	// response's Vary field names, as the original request sent them
	// (RFC 9111 Section 4.1), but for the credential fields Authorization,
	// Cookie and Proxy-Authorization: of each, it holds a keyed hash, with
	// the partition secret ([WithPartitionSecret]), of the value. It is nil
	// when the response has no Vary field.
	VaryHeader http.Header
	// RequestTime is the time the request that produced the response was
	// sent ("request_time" in RFC 9111 Section 4.2.3).
	RequestTime time.Time
	// ResponseTime is the time the response was received ("response_time"
	// in RFC 9111 Section 4.2.3).
	ResponseTime time.Time
	// Variants holds the other responses stored for the same key that were
	// selected by other values of the request fields named in Vary
	// (RFC 9111 Section 4.1), most recent first. The entry itself is the most
	// recent variant; entries in Variants have no Variants of their own.
	Variants []*Entry
	// Credentials is set on a response marked private (RFC 9111 Section
	// 5.2.2.7) stored by a private cache: a keyed hash of the Authorization
	// and Cookie fields of the request that fetched it. Such a response is
	// served only to requests whose credentials hash the same, as if it
	// varied on them, so that clients sharing a Transport do not get each
	// other's private responses. It is empty for every other response.
	Credentials string
	// Partitions lists, in the entry stored under a URI's key (method, URL
	// and Host, without a partition), the keys of the responses stored for
	// the same URI under a partition: for requests with other credentials
	// (RFC 9111 Section 2 lets a cache add them to the key). It makes every
	// response stored for a URI reachable from the URI alone, which
	// invalidation needs (RFC 9111 Section 4.4), with the Backend's methods.
	// An entry whose StatusCode is 0 is only this index, with no response of
	// its own, and is never served.
	Partitions []string
	// Uncompressed reports that the inner transport decompressed the body
	// the origin sent, as [http.Response.Uncompressed] does; hits report it
	// like the response that was stored.
	Uncompressed bool
	// FreshFor, when positive, is the freshness lifetime a rule of the Cache
	// gave the response when it was stored ([WithRule]), replacing the one
	// its header fields give (RFC 9111 Section 4.2.1) and its no-cache
	// directive (Section 5.2.2.4). Zero: the header fields decide.
	FreshFor time.Duration

	// meta caches what the Cache derives from the fields above. It is set
	// before the entry is handed to a backend and never changed afterwards.
	meta *entryMeta
}

// responses iterates over e and its variants, most recent first: the stored
// responses for one key (RFC 9111 Section 4.1). A variant that is nil or
// stored under another key is skipped; it is never a response for this key.
func (e *Entry) responses() iter.Seq[*Entry] {
	return func(yield func(*Entry) bool) {
		if e.StatusCode != 0 && !yield(e) { // 0: an index, not a response
			return
		}
		for _, v := range e.Variants {
			if v != nil && v.Key == e.Key && !yield(v) {
				return
			}
		}
	}
}

// Size returns the number of bytes the entry accounts for against a Cache's
// byte limit: its body, key, header and Vary fields and those of its
// variants, plus a fixed overhead for the Go values that hold them. Variants
// of variants, which a valid entry does not have, are not counted.
func (e *Entry) Size() int64 {
	n := e.ownSize()
	for _, v := range e.Variants {
		if v != nil {
			n += v.ownSize()
		}
	}
	return n
}

// ownSize is Size without the variants.
func (e *Entry) ownSize() int64 {
	const overhead = 256 // the Entry, its slices and maps, in round figures
	n := int64(overhead + len(e.Key) + len(e.Proto) + len(e.Body) + len(e.Credentials))
	for _, key := range e.Partitions {
		n += int64(len(key)) + 16
	}
	return n + headerSize(e.Header) + headerSize(e.VaryHeader)
}

func headerSize(h http.Header) int64 {
	var n int64
	for name, values := range h {
		n += int64(len(name)) + 16
		for _, v := range values {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// ErrCorruptEntry reports an entry that cannot be served: a wrong key, a
// missing header, an impossible status, invalid fields, a body that its
// Content-Length contradicts, or bytes that do not decode ([Entry.UnmarshalBinary]).
// A Backend whose Get returns an error wrapping it tells the Cache that what
// it holds under the key is bad: the Cache counts a miss and removes it.
var ErrCorruptEntry = errors.New("acache: corrupt entry")

// validEntry checks an entry that this Cache did not store in this process
// (a backend decoded it, changed it, or another Cache stored it) before
// anything of it is served: whatever a backend returns is untrusted. The
// Cache recomputes the framing fields of every response it serves, so
// these checks cover what it would otherwise pass on: field names and
// values, the status, the protocol, the body against its Content-Length, the
// sizes against the limits, and the shape of the variants (one level deep,
// at most maxVariants, all under the same key).
func (c *Cache) validEntry(e *Entry) error {
	if len(e.Partitions) > maxPartitions {
		return fmt.Errorf("%w: %d partitions", ErrCorruptEntry, len(e.Partitions))
	}
	for _, key := range e.Partitions {
		if uri, ok := splitPartition(key); !ok || uri != e.Key {
			return fmt.Errorf("%w: a partition %q of another URI", ErrCorruptEntry, key)
		}
	}
	if e.StatusCode == 0 { // an index of partitions only
		if len(e.Partitions) == 0 || len(e.Header) > 0 || len(e.Body) > 0 || len(e.Variants) > 0 {
			return fmt.Errorf("%w: an index with a response in it, or without partitions", ErrCorruptEntry)
		}
		return nil
	}
	if len(e.Variants) >= maxVariants {
		return fmt.Errorf("%w: %d variants", ErrCorruptEntry, len(e.Variants))
	}
	for _, v := range e.Variants {
		switch {
		case v == nil:
			return fmt.Errorf("%w: a nil variant", ErrCorruptEntry)
		case len(v.Variants) > 0:
			return fmt.Errorf("%w: a variant with variants", ErrCorruptEntry)
		case v.Key != e.Key:
			return fmt.Errorf("%w: a variant stored under %q", ErrCorruptEntry, v.Key)
		case len(v.Partitions) > 0:
			return fmt.Errorf("%w: a variant with partitions", ErrCorruptEntry)
		}
		if err := c.validResponse(v); err != nil {
			return err
		}
	}
	if err := c.validResponse(e); err != nil {
		return err
	}
	for v := range e.responses() {
		if v.FreshFor < 0 || v.FreshFor > policy.MaxAge {
			return fmt.Errorf("%w: a rule's freshness of %v", ErrCorruptEntry, v.FreshFor)
		}
	}
	if size := e.Size(); size > c.maxBytes {
		return fmt.Errorf("%w: %d bytes, more than the cache holds", ErrCorruptEntry, size)
	}
	return nil
}

// validResponse checks one stored response of an entry; see validEntry.
func (c *Cache) validResponse(e *Entry) error {
	head := strings.HasPrefix(e.Key, http.MethodHead+" ")
	switch {
	case e.StatusCode < 200 || e.StatusCode > 999:
		return fmt.Errorf("%w: status %d", ErrCorruptEntry, e.StatusCode)
	case e.Header == nil:
		return fmt.Errorf("%w: no header", ErrCorruptEntry)
	case !validStoredHeader(e.Header) || !validStoredHeader(e.VaryHeader):
		return fmt.Errorf("%w: a field name or value that cannot be sent", ErrCorruptEntry)
	case int64(len(e.Body)) > c.maxBodySize:
		return fmt.Errorf("%w: a body of %d bytes, more than the cache stores", ErrCorruptEntry, len(e.Body))
	case head && len(e.Body) > 0:
		return fmt.Errorf("%w: a HEAD response with a body", ErrCorruptEntry)
	case policy.VaryNeverMatches(e.Header):
		return fmt.Errorf("%w: a Vary no request matches", ErrCorruptEntry)
	case e.StatusCode == http.StatusPartialContent && !validIncomplete(e):
		// An incomplete response (partial.go) must say which bytes it holds.
		return fmt.Errorf("%w: a 206 that is not one range of a known length, with a strong validator", ErrCorruptEntry)
	}
	if e.Proto != "" {
		if _, _, ok := http.ParseHTTPVersion(e.Proto); !ok {
			return fmt.Errorf("%w: protocol %q", ErrCorruptEntry, e.Proto)
		}
	}
	if length, ok := e.Header["Content-Length"]; ok && !head {
		if len(length) != 1 || length[0] != strconv.Itoa(len(e.Body)) {
			return fmt.Errorf("%w: Content-Length %q for a body of %d bytes", ErrCorruptEntry, length, len(e.Body))
		}
	}
	return nil
}

// validStoredHeader reports a header whose names are canonical tokens and
// whose values can be sent: the Cache looks fields up by canonical name, so
// a stored "cache-control" would hide its directives.
func validStoredHeader(h http.Header) bool {
	for name := range h {
		if !httpsyntax.ValidToken(name) || !httpsyntax.CanonicalName(name) {
			return false
		}
	}
	return httpsyntax.ValidHeader(h)
}

// entryMeta is what the Cache derives from a stored response once, at store
// time, so that a hit re-parses nothing. One is kept per stored response,
// so its fields are ordered to leave no padding (176 bytes).
type entryMeta struct {
	// Facts are what RFC 9111 derives from the stored response.
	policy.Facts
	// from records how the Cache that derived it reads responses.
	from *derivation
	// hitHeaderValues counts the values of the stored header that a hit
	// serves (see withheldOnHit), for a one-allocation clone.
	hitHeaderValues int32
	// protoMajor and protoMinor are the version of the entry's Proto.
	protoMajor, protoMinor uint8
	// withheld reports that the stored header has fields a hit leaves out
	// (withheldOnHit). Most have none, and a hit then copies every field
	// without asking; no second header is kept per entry either way.
	withheld bool
}

// withheldOnHit reports a stored field that a hit does not serve: Age,
// recomputed per hit (RFC 9111 Section 4.2.3); the cache's own marker; a
// hop-by-hop field (Section 3.1); a field a qualified no-cache forbids
// sending without revalidation (Section 5.2.2.4).
func (m *entryMeta) withheldOnHit(name string) bool {
	if name == "Age" || name == XFromCache || policy.IsHopByHop(name) {
		return true
	}
	_, found := slices.BinarySearch(m.CC.NoCacheFields, name)
	return found
}

// derivation is how a Cache reads a stored response: its mode, the targeted
// fields it obeys (RFC 9213) and its freshness policy (rules.go, nil for
// none). A Cache makes one, which every entryMeta it derives points to.
type derivation struct {
	shared  bool
	targets []string
	policy  *freshnessPolicy
}

// deriveMeta computes the entryMeta of e as a cache that reads responses as
// from says sees it.
func deriveMeta(e *Entry, from *derivation) *entryMeta {
	shared, targets, fp := from.shared, from.targets, from.policy
	m := &entryMeta{
		Facts:      policy.Facts{CC: policy.ResponseDirectives(e.Header, targets)},
		from:       from,
		protoMajor: 1,
		protoMinor: 1,
	}
	if major, minor, ok := http.ParseHTTPVersion(e.Proto); ok && major <= 255 && minor <= 255 {
		m.protoMajor, m.protoMinor = uint8(major), uint8(minor)
	}
	m.VaryNames, m.VaryOK = policy.VaryNames(e.Header)
	m.Validator = policy.HasValidator(e.Header)
	dateValue := policy.DateValue(e.Header, e.ResponseTime)
	lifetime, explicit := policy.FreshnessLifetime(e.StatusCode, e.Header, m.CC, dateValue, shared)
	m.Lifetime = fp.lifetime(lifetime, explicit, e.FreshFor)
	if e.FreshFor > 0 {
		m.CC.NoCache = false // a rule's freshness replaces the origin's no-cache
	}
	m.InitialAge = policy.CorrectedInitialAge(e.Header, dateValue, e.RequestTime, e.ResponseTime)

	for name, values := range e.Header {
		if m.withheldOnHit(name) {
			m.withheld = true
		} else {
			m.hitHeaderValues += int32(len(values))
		}
	}
	return m
}

// derivedHere reports whether e carries what a Cache configured like c
// derived from it (the same mode and targeted fields): an entry this Cache,
// or one like it, stored in this process.
func (c *Cache) derivedHere(e *Entry) bool {
	m := e.meta
	if m == nil {
		return false
	}
	f := m.from
	return f == c.derivation || f.shared == c.shared && f.policy == c.freshness && slices.Equal(f.targets, c.targets)
}

// metaOf returns what the Cache derives from e: computed when e was stored,
// or, for an entry a backend decoded, remembered from the first time the
// same response came back (see derivedMemo).
func (c *Cache) metaOf(e *Entry) *entryMeta {
	if c.derivedHere(e) {
		return e.meta
	}
	if m := c.decoded.find(e); m != nil {
		return m
	}
	c.derivations.Add(1)
	m := deriveMeta(e, c.derivation)
	c.decoded.remember(e, m)
	return m
}

// maxDerivedMemo bounds the responses a derivedMemo remembers.
const maxDerivedMemo = 4096

// derivedMemo remembers what a Cache derived from the responses a backend
// decoded. Such a backend returns a new Entry on every Get, so without it a
// hit would parse the stored header again each time. A response is found by
// its key and response time, and must then equal, field by field, the one
// the meta was derived from: nothing derived from one response is used for
// another. It holds no body, and at most maxDerivedMemo responses. The zero
// value is ready to use.
type derivedMemo struct {
	// mu guards items.
	mu    sync.Mutex
	items map[derivedKey]derivedItem
}

type derivedKey struct {
	key          string
	responseTime int64 // Unix nanoseconds
}

type derivedItem struct {
	from *Entry // the fields deriveMeta reads, and no body
	meta *entryMeta
}

// find returns the meta derived from a response equal to e, or nil.
func (d *derivedMemo) find(e *Entry) *entryMeta {
	d.mu.Lock()
	item, ok := d.items[derivedKey{e.Key, e.ResponseTime.UnixNano()}]
	d.mu.Unlock()
	if !ok || !sameDerivation(item.from, e) {
		return nil
	}
	return item.meta
}

// remember records m, derived from e.
func (d *derivedMemo) remember(e *Entry, m *entryMeta) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.items == nil {
		d.items = make(map[derivedKey]derivedItem)
	}
	if len(d.items) >= maxDerivedMemo {
		for k := range d.items { // forget one, whichever the map yields
			delete(d.items, k)
			break
		}
	}
	from := &Entry{Key: e.Key, StatusCode: e.StatusCode, Proto: e.Proto, Header: e.Header,
		RequestTime: e.RequestTime, ResponseTime: e.ResponseTime}
	d.items[derivedKey{e.Key, e.ResponseTime.UnixNano()}] = derivedItem{from: from, meta: m}
}

// sameDerivation reports whether deriveMeta gives a and b the same meta: they
// agree on every field it reads.
func sameDerivation(a, b *Entry) bool {
	if a.StatusCode != b.StatusCode || a.Proto != b.Proto ||
		!a.RequestTime.Equal(b.RequestTime) || !a.ResponseTime.Equal(b.ResponseTime) ||
		len(a.Header) != len(b.Header) {
		return false
	}
	for name, av := range a.Header {
		if bv, ok := b.Header[name]; !ok || !slices.Equal(av, bv) {
			return false
		}
	}
	return true
}
