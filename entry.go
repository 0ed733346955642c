package acache

// This file holds Entry, the durable form of a stored response, with what
// the Cache derives from it (entryMeta), how it walks an entry and its
// variants, and how it checks an entry a backend hands back.

import (
	"errors"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
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
	// Version identifies one store of the entry under its key: the Cache
	// gives every entry it stores a new one, and a [Committer] compares it
	// to know whether the entry it holds is still the one the Cache read
	// (Commit's IfVersion). It is zero in variants, and in entries stored
	// before it existed.
	Version uint64

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

// incompleteOf returns the span an incomplete stored response holds, or
// false for any other entry (a complete one, or a 206 that is not a valid
// incomplete response).
func incompleteOf(e *Entry) (httpsyntax.Span, bool) {
	if e.StatusCode != http.StatusPartialContent {
		return httpsyntax.Span{}, false
	}
	s, ok := httpsyntax.ContentRange(e.Header)
	if !ok || s.Length() != int64(len(e.Body)) {
		return httpsyntax.Span{}, false
	}
	if _, strong := httpsyntax.StrongETag(e.Header); !strong {
		return httpsyntax.Span{}, false
	}
	return s, true
}

// validIncomplete reports whether e, a stored 206, is a valid incomplete
// response: one Content-Range of a known length that its body fills, a
// strong entity-tag, not under a HEAD key.
func validIncomplete(e *Entry) bool {
	_, ok := incompleteOf(e)
	return ok && !strings.HasPrefix(e.Key, http.MethodHead+" ")
}
