package policy

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// This file holds the header a cache stores (RFC 9111 Section 3.1) and how a
// 304 or HEAD response updates it (Section 3.2).

// SafeMethod reports the methods RFC 9110 Section 9.2.1 defines as safe.
func SafeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// HasValidator reports whether a stored response can be revalidated
// (RFC 9111 Section 4.3.1).
func HasValidator(h http.Header) bool {
	return len(h["Etag"]) > 0 || len(h["Last-Modified"]) > 0
}

// hopByHopFields are the header fields a cache must not store, per
// [RFC 9111 Section 3.1] and RFC 9110 Section 7.6.1.
//
// [RFC 9111 Section 3.1]: https://www.rfc-editor.org/rfc/rfc9111#section-3.1
var hopByHopFields = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade",
	"Proxy-Authenticate", "Proxy-Authentication-Info", "Proxy-Authorization",
}

// StoredHeader returns a copy of a response header fit for storing, per
// [RFC 9111 Section 3.1]: without the hop-by-hop fields and the fields the
// Connection field names. It also leaves out Set-Cookie (and the obsolete
// Set-Cookie2), in both modes, as browsers and proxies do: a cookie belongs to
// the exchange that set it, and replaying it from the cache would hand one
// client's session to another, or roll a newer session back. A shared cache
// also leaves out the fields a qualified private directive names
// (Section 5.2.2.7).
func StoredHeader(h http.Header, cc httpsyntax.CacheControl, shared bool) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, line := range h["Connection"] {
		for name := range strings.SplitSeq(line, ",") {
			if name = httpsyntax.TrimOWS(name); name != "" {
				delete(out, textproto.CanonicalMIMEHeaderKey(name))
			}
		}
	}
	for _, name := range hopByHopFields {
		delete(out, name)
	}
	delete(out, "Set-Cookie")
	delete(out, "Set-Cookie2")
	if shared {
		for _, name := range cc.PrivateFields {
			delete(out, name)
		}
	}
	return out
}

// IsHopByHop reports a field that belongs to one connection and is never
// stored or served from the cache (Section 3.1).
func IsHopByHop(name string) bool {
	return slices.Contains(hopByHopFields, name)
}

// UpdatedHeader returns the stored header updated with the fields of a 304
// or HEAD response, per [RFC 9111 Section 3.2]: each field of update replaces
// the stored one, except the fields a cache does not store (Section 3.1),
// Content-Length, and the content coding of the stored body (Content-Encoding,
// which Go's transport may have decoded), which describe the stored bytes.
//
// Age and Date are the new response's, not the stored one's, departing from
// the letter of Section 3.2 (a stored field the update lacks stays): the
// update is a new response from the origin, whose age starts from it. A
// stored Age the update lacks is removed, and a Date it lacks is the time
// it was received (RFC 9110 Section 6.6.1); a kept Age: 61 would make a
// max-age=60 response stale again at every revalidation, forever.
//
// [RFC 9111 Section 3.2]: https://www.rfc-editor.org/rfc/rfc9111#section-3.2
func UpdatedHeader(stored, update http.Header, responseTime time.Time) http.Header {
	update = update.Clone()
	EnsureDate(update, responseTime) // the new response's Date, not the stored one
	out := stored.Clone()
	delete(out, "Age") // the new response's, or none
	for name, values := range StoredHeader(update, httpsyntax.CacheControl{}, false) {
		switch name {
		case "Content-Length", "Content-Encoding", "Content-Range", "Transfer-Encoding":
			continue
		}
		out[name] = values
	}
	return out
}
