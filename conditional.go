package acache

import (
	"net/http"
	"slices"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// unionConditionalRequest returns a copy of req, whose own If-None-Match
// the cache revalidates a stale stored response with (header stored): the
// caller's field lines as they are, then the stored response's entity-tag as
// the origin sent it ([etagAsReceived]), per [RFC 9111 Section 4.3.2]. Each
// tag keeps its own form, quoted or not, because an origin compares
// If-None-Match with the tags it sent byte for byte: `"x"` from the caller
// and `124567` from the cache go out as `"x", 124567`. The stored tag is not
// added when the caller's list is "*", which already asks about every
// representation, or holds that tag in the same form already. The caller's
// other validators stay as they are. A 304 for the stored tag freshens the
// stored response, which then answers the caller; one for the caller's own
// tag is the caller's answer. req itself is not modified.
//
// [RFC 9111 Section 4.3.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.2
func unionConditionalRequest(req *http.Request, stored http.Header) *http.Request {
	out := req.Clone(req.Context())
	own, ok := httpsyntax.ETagAsReceived(stored)
	inm := out.Header.Values("If-None-Match")
	if _, any := httpsyntax.ParseETagList(inm); !ok || any {
		return out
	}
	for member := range httpsyntax.ETagListMembers(inm) {
		if member == own {
			return out
		}
	}
	out.Header["If-None-Match"] = append(slices.Clip(inm), own)
	return out
}
