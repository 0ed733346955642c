package acache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reasons a cache forwarded a request, the values of the fwd parameter defined
// in [RFC 9211 Section 2.2].
//
// [RFC 9211 Section 2.2]: https://www.rfc-editor.org/rfc/rfc9211#section-2.2
const (
	FwdBypass   = "bypass"    // the cache was configured or decided not to handle the request
	FwdMethod   = "method"    // the request method is not cacheable
	FwdURIMiss  = "uri-miss"  // nothing was stored for the URI
	FwdVaryMiss = "vary-miss" // a response was stored, for another variant
	FwdMiss     = "miss"      // the cache did not find a usable response
	FwdRequest  = "request"   // the request's directives asked for the origin
	FwdStale    = "stale"     // the stored response was stale
	FwdPartial  = "partial"   // only part of the response was stored
)

// CacheStatus is one cache's report of how it handled a request: a member of
// the Cache-Status response header field of [RFC 9211]. Get the one acache
// added to a response with [CacheStatusOf].
//
// [RFC 9211]: https://www.rfc-editor.org/rfc/rfc9211
type CacheStatus struct {
	// Cache is the name of the cache that wrote the member.
	Cache string
	// Hit reports that the response came from the cache without contacting
	// the origin.
	Hit bool
	// Fwd says why the request went to the origin (FwdURIMiss, ...); it is
	// empty on a hit.
	Fwd string
	// FwdStatus is the status code the origin answered a forwarded request
	// with, or 0.
	FwdStatus int
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

// String returns the member in the syntax of RFC 9211, e.g.
// `acache; hit; ttl=30` or `acache; fwd=uri-miss; fwd-status=200; stored; ttl=60`.
func (s CacheStatus) String() string {
	var b strings.Builder
	b.WriteString(s.Cache)
	if s.Hit {
		b.WriteString("; hit")
	}
	if s.Fwd != "" {
		b.WriteString("; fwd=")
		b.WriteString(s.Fwd)
	}
	if s.FwdStatus != 0 {
		b.WriteString("; fwd-status=")
		b.WriteString(strconv.Itoa(s.FwdStatus))
	}
	if s.Stored {
		b.WriteString("; stored")
	}
	if s.Hit || s.Stored {
		b.WriteString("; ttl=")
		b.WriteString(strconv.FormatInt(int64(s.TTL/time.Second), 10))
	}
	if s.Detail != "" {
		b.WriteString("; detail=")
		b.WriteString(strconv.Quote(s.Detail))
	}
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
		for _, member := range splitOutsideQuotes(line, ',') {
			if member = strings.TrimSpace(member); member != "" {
				last = member
			}
		}
	}
	if last == "" {
		return CacheStatus{}, false
	}
	parts := splitOutsideQuotes(last, ';')
	name, ok := structuredItem(strings.TrimSpace(parts[0]))
	if !ok || name == "" {
		return CacheStatus{}, false
	}
	s.Cache = name
	for _, param := range parts[1:] {
		key, value, hasValue := strings.Cut(strings.TrimSpace(param), "=")
		value, valid := structuredItem(value)
		if hasValue && !valid {
			return CacheStatus{}, false
		}
		switch key {
		case "hit":
			s.Hit = !hasValue || value == "?1"
		case "fwd":
			s.Fwd = value
		case "fwd-status":
			s.FwdStatus, _ = strconv.Atoi(value)
		case "stored":
			s.Stored = !hasValue || value == "?1"
		case "ttl":
			n, err := strconv.ParseInt(value, 10, 64)
			if err == nil {
				s.TTL = time.Duration(min(max(n, -maxDeltaSeconds), maxDeltaSeconds)) * time.Second
			}
		case "detail":
			s.Detail = value
		}
	}
	return s, true
}

// structuredItem returns a bare item: a token or integer as it is, a string
// without its quotes and escapes. ok is false for a malformed string.
func structuredItem(v string) (string, bool) {
	if !strings.HasPrefix(v, `"`) {
		return v, !strings.ContainsAny(v, "\" \t")
	}
	unquoted, err := strconv.Unquote(v)
	if err != nil {
		return "", false
	}
	return unquoted, true
}

// splitOutsideQuotes splits s at each sep that is not inside a quoted string.
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++ // skip the escaped byte
		case s[i] == '"':
			quoted = !quoted
		case !quoted && s[i] == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}
