package acache

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// CacheStatus is one cache's report of how it handled a request: a member of
// the Cache-Status response header field of [RFC 9211]. Get the one acache
// added to a response with [CacheStatusOf].
//
// [RFC 9211]: https://www.rfc-editor.org/rfc/rfc9211
type CacheStatus struct {
	// Cache is the name of the cache that wrote the member. Any string will
	// do; String quotes one that is not a token.
	Cache string
	// Hit reports that the response came from the cache without contacting
	// the origin.
	Hit bool
	// Fwd says why the request went to the origin, one of the values of
	// [RFC 9211 Section 2.2]: "bypass" (the cache did not handle the
	// request), "method" (a method it does not store), "uri-miss" (nothing
	// stored for the URI), "vary-miss" (stored for another variant), "miss"
	// (nothing usable), "request" (the request's directives asked for the
	// origin), "stale" (the stored response was stale) or "partial" (it was
	// incomplete, RFC 9111 Section 3.3); empty on a hit.
	//
	// [RFC 9211 Section 2.2]: https://www.rfc-editor.org/rfc/rfc9211#section-2.2
	Fwd string
	// FwdStatus is the status code the origin answered a forwarded request
	// with, or 0.
	FwdStatus int
	// Collapsed reports that the request was collapsed with another one in
	// flight to the origin for the same response ([RFC 9211 Section 2.6]),
	// and answered from what that one stored.
	//
	// [RFC 9211 Section 2.6]: https://www.rfc-editor.org/rfc/rfc9211#section-2.6
	Collapsed bool
	// Stored reports that the cache stored the forwarded response. acache
	// decides it when the headers arrive and stores the response when its
	// body has been read to the end intact; a body that fails is not stored.
	Stored bool
	// TTL is how much longer the response stays fresh, negative once stale.
	// It is meaningful only on a hit or when Stored is true.
	TTL time.Duration
	// Detail holds extra, implementation-specific information, or is empty.
	Detail string
}

// String returns the member in the syntax of [RFC 9211 Section 2], a member
// of a List of Structured Fields ([RFC 8941 Section 3.1]), e.g.
// `acache; hit; ttl=30` or `acache; fwd=uri-miss; fwd-status=200; stored; ttl=60`.
//
// The cache identifier is written as an sf-token when Cache is one
// ([RFC 8941 Section 3.3.4]), else as an sf-string; Fwd likewise, and Detail
// always as an sf-string ([RFC 8941 Section 3.3.3]). An sf-string holds only
// printable ASCII (0x20 to 0x7E) with `"` and `\` escaped by a backslash:
// every other byte (control characters, the bytes of non-ASCII text) is
// written as its percent-encoding, %XX, so that `héllo<TAB>x` becomes
// "h%C3%A9llo%09x". [CacheStatusOf] does not decode it back.
//
// [RFC 9211 Section 2]: https://www.rfc-editor.org/rfc/rfc9211#section-2
// [RFC 8941 Section 3.1]: https://www.rfc-editor.org/rfc/rfc8941#section-3.1
// [RFC 8941 Section 3.3.3]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3.3
// [RFC 8941 Section 3.3.4]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3.4
func (s CacheStatus) String() string {
	var b strings.Builder
	b.WriteString(cacheIdentifier(s.Cache))
	if s.Hit {
		b.WriteString("; hit")
	}
	if s.Fwd != "" {
		b.WriteString("; fwd=")
		httpsyntax.WriteTokenOrString(&b, s.Fwd)
	}
	if s.FwdStatus != 0 && -httpsyntax.MaxSFInteger <= s.FwdStatus && s.FwdStatus <= httpsyntax.MaxSFInteger {
		b.WriteString("; fwd-status=")
		b.WriteString(strconv.Itoa(s.FwdStatus))
	}
	if s.Collapsed {
		b.WriteString("; collapsed")
	}
	if s.Stored {
		b.WriteString("; stored")
	}
	if s.Hit || s.Stored || s.Collapsed || s.TTL != 0 { // a stale response served: negative
		b.WriteString("; ttl=")
		b.WriteString(strconv.FormatInt(int64(s.TTL/time.Second), 10))
	}
	if s.Detail != "" {
		b.WriteString("; detail=")
		httpsyntax.WriteSFString(&b, s.Detail)
	}
	return b.String()
}

// cacheIdentifier returns name as the identifier that starts a Cache-Status
// member ([RFC 9211 Section 2]): an sf-token when it is one, else an
// sf-string, as [CacheStatus.String] writes it.
//
// [RFC 9211 Section 2]: https://www.rfc-editor.org/rfc/rfc9211#section-2
func cacheIdentifier(name string) string {
	if httpsyntax.SFToken(name) {
		return name
	}
	var b strings.Builder
	httpsyntax.WriteSFString(&b, name)
	return b.String()
}

// CacheStatusOf returns the last member of resp's Cache-Status field, the one
// written by the cache closest to the caller: acache's own when the response
// came through a [Transport]. ok is false when there is no such member or it
// does not parse.
func CacheStatusOf(resp *http.Response) (s CacheStatus, ok bool) {
	if resp == nil {
		return CacheStatus{}, false
	}
	return parseCacheStatus(resp.Header.Values("Cache-Status"))
}

// parseCacheStatus parses the last member of the Cache-Status field lines, a
// List of Structured Fields (RFC 9211 Section 2, RFC 8941 Section 3.1). It
// understands the parameters of RFC 9211 Section 2 and ignores others.
func parseCacheStatus(lines []string) (s CacheStatus, ok bool) {
	var last string
	for _, line := range lines {
		for _, member := range httpsyntax.SplitOutsideQuotes(line, ',') {
			if member = strings.TrimSpace(member); member != "" {
				last = member
			}
		}
	}
	if last == "" {
		return CacheStatus{}, false
	}
	parts := httpsyntax.SplitOutsideQuotes(last, ';')
	name, ok := httpsyntax.StructuredItem(strings.TrimSpace(parts[0]))
	if !ok || name == "" {
		return CacheStatus{}, false
	}
	s.Cache = name
	for _, param := range parts[1:] {
		key, value, hasValue := strings.Cut(strings.TrimSpace(param), "=")
		value, valid := httpsyntax.StructuredItem(value)
		if hasValue && !valid {
			return CacheStatus{}, false
		}
		switch key {
		case "hit":
			s.Hit = !hasValue || value == "?1"
		case "fwd":
			s.Fwd = value
		case "fwd-status":
			if n, ok := httpsyntax.SFInteger(value); ok {
				s.FwdStatus = int(n)
			}
		case "stored":
			s.Stored = !hasValue || value == "?1"
		case "collapsed":
			s.Collapsed = !hasValue || value == "?1"
		case "ttl":
			if n, ok := httpsyntax.SFInteger(value); ok {
				s.TTL = time.Duration(min(max(n, -httpsyntax.MaxDeltaSeconds), httpsyntax.MaxDeltaSeconds)) * time.Second
			}
		case "detail":
			s.Detail = value
		}
	}
	return s, true
}
