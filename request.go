package acache

import (
	"context"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// This file holds the request as the cache reads it, and the requests it
// sends in the caller's place: conditional, resent, for a missing part, for
// a background refresh. None modifies the caller's request.

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

// modeFields adds to out, the request about to be sent, the fields the Fetch
// standard adds for mode (HTTP-network-or-cache fetch, step 8.17), where out
// has none of its own. It returns out, or a copy when it added any: the
// caller's request is never modified.
func modeFields(out, caller *http.Request, mode Mode) *http.Request {
	set := func(name, value string) {
		if len(out.Header[name]) > 0 {
			return
		}
		if out == caller {
			out = caller.Clone(caller.Context())
		}
		if out.Header == nil {
			out.Header = http.Header{}
		}
		out.Header[name] = []string{value}
	}
	switch mode {
	case ModeNoStore, ModeReload:
		set("Pragma", "no-cache")
		set("Cache-Control", "no-cache")
	case ModeNoCache:
		set("Cache-Control", "max-age=0")
	}
	return out
}

// requestFields records which of the request header fields that change what
// the cache does are present, found in one pass over the header: the only
// place these lists are written. If-Match and If-Unmodified-Since do not
// apply to a cache (RFC 9111 Section 4.3.2), so requests with them are
// forwarded untouched; If-Range is evaluated against a stored response with
// a strong validator (RFC 9110 Section 13.1.5, partial.go).
type requestFields struct {
	preconditions bool // If-Match, If-Unmodified-Since, If-Range
	// forOrigin reports If-Match or If-Unmodified-Since, which only the
	// origin evaluates; ifRange an If-Range, which the cache evaluates.
	forOrigin, ifRange bool
	conditionals       bool // If-None-Match, If-Modified-Since (RFC 9111 Section 4.3.2)
	ifNoneMatch        bool // If-None-Match, which the cache may add its own tags to
	rangeRequest       bool // Range (RFC 9110 Section 14.2)
	// invalid reports a request net/http refuses to send: a field name that
	// is not a token, a value with CR, LF, NUL or another control character,
	// or a method that is not a token.
	invalid bool
	// nonCanonical reports a field name not in canonical form, such as
	// "authorization": the wire carries it like "Authorization".
	nonCanonical bool
}

func scanRequestFields(h http.Header) (f requestFields) {
	if len(h) == 0 {
		return f
	}
	for name, values := range h {
		switch name {
		case "If-Match", "If-Unmodified-Since":
			f.preconditions, f.forOrigin = true, true
		case "If-Range":
			f.preconditions, f.ifRange = true, true
		case "If-None-Match":
			f.conditionals, f.ifNoneMatch = true, true
		case "If-Modified-Since":
			f.conditionals = true
		case "Range":
			f.rangeRequest = true
		default:
			if !httpsyntax.ValidToken(name) {
				f.invalid = true
			} else if !httpsyntax.CanonicalName(name) {
				f.nonCanonical = true
			}
		}
		for _, v := range values {
			if !httpsyntax.ValidFieldValue(v) {
				f.invalid = true
			}
		}
	}
	return f
}

// readableRequest returns req as the cache reads it, with the fields that
// matter to the cache. Field names are case-insensitive on the wire: when req
// has a name that is not canonical, such as "authorization", the cache reads
// a shallow copy of req whose header has canonical names, so that the key,
// the partition, Vary and every directive see what the origin sees.
func readableRequest(req *http.Request) (*http.Request, requestFields) {
	f := scanRequestFields(req.Header)
	if !httpsyntax.ValidToken(req.Method) || req.URL == nil {
		f.invalid = true // the key refuses an invalid host
	}
	if f.invalid || !f.nonCanonical {
		return req, f
	}
	view := *req
	view.Header = httpsyntax.CanonicalHeader(req.Header)
	return &view, scanRequestFields(view.Header)
}

// resendable reports whether req can be sent twice: the cache may have to
// repeat a conditional request without its validators.
func resendable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// pragmaNoCache reports a Pragma: no-cache request field (RFC 9111 Section 5.4).
func pragmaNoCache(h http.Header) bool {
	return httpsyntax.ListContains(h, "Pragma", "no-cache")
}

// credentialsAddedBelow reports whether sent, the request the inner
// RoundTripper says it sent (resp.Request), carries an Authorization field
// other than the one of req, the request as the cache read it.
func credentialsAddedBelow(req, sent *http.Request) bool {
	if sent == nil || sent == req || sent.Header == nil {
		return false
	}
	have := slices.Sorted(slices.Values(req.Header["Authorization"]))
	got := slices.Sorted(slices.Values(httpsyntax.FieldValuesFold(sent.Header, "Authorization")))
	return !slices.Equal(have, got)
}

// partialKind is what the cache does with a request for which it holds an
// incomplete response.
type partialKind int

const (
	// partialNone: the stored bytes do not help; the request goes to the
	// origin as it is, and what comes back replaces or extends them.
	partialNone partialKind = iota
	// partialHit: the stored bytes cover the requested range (or the range
	// is unsatisfiable for the known length): 206 (or 416) from the cache,
	// when the verdict allows serving.
	partialHit
	// partialFill: the stored bytes cover the start of what is asked; the
	// cache asks the origin for the rest only, with If-Range, and answers
	// with the two combined (RFC 9111 Section 3.4).
	partialFill
)

// partialPlan is what the cache makes of a request against an incomplete
// stored response.
type partialPlan struct {
	kind partialKind
	have httpsyntax.Span      // what the stored response holds
	want httpsyntax.ByteRange // what the caller gets
	// whole reports a caller who asked no range: it gets a 200 of the
	// complete representation.
	whole bool
	// unsatisfiable reports a Range no byte of the representation satisfies
	// (answered 416 from the cache).
	unsatisfiable bool
	etag          httpsyntax.ETag // the stored strong validator
}

// fillRequest returns a copy of req that asks the origin for the part of
// the representation that the incomplete stored response lacks: the range
// after its last byte to the last byte the caller wants, if the stored
// strong validator is still current (If-Range, RFC 9110 Section 13.1.5).
func fillRequest(req *http.Request, p *partialPlan) *http.Request {
	out := req.Clone(req.Context())
	delete(out.Header, "If-Range")
	out.Header["Range"] = []string{"bytes=" + strconv.FormatInt(p.have.Range.Last+1, 10) + "-" + strconv.FormatInt(p.want.Last, 10)}
	// The stored tag goes in If-Range quoted (entityTag.String), even when
	// the origin sent it without quotes, unlike If-None-Match, which carries
	// it as received (etagAsReceived). Unquoted, If-Range would be read as an
	// HTTP-date (RFC 9110 Section 13.1.5); an origin that sends unquoted tags
	// and compares them byte for byte fails the quoted form too. Either way
	// it answers 200 with the whole representation, which replaces the
	// stored part: one full fetch, never a wrong combination.
	out.Header["If-Range"] = []string{p.etag.String()}
	return out
}

// refreshRequest returns the request a background refresh sends in place of
// req: a clone with ctx, without the caller's Range, If-Range and
// validators. A refresh is the cache's own request, for the whole current
// representation: the caller's range would store a part over the complete
// response (RFC 9111 Section 3.4), and its validators are its own.
func refreshRequest(ctx context.Context, req *http.Request) *http.Request {
	out := req.Clone(ctx)
	for name := range out.Header {
		switch textproto.CanonicalMIMEHeaderKey(name) {
		case "Range", "If-Range", "If-None-Match", "If-Modified-Since":
			delete(out.Header, name)
		}
	}
	return out
}

// conditionalRequest returns a copy of req that asks the origin whether the
// stored response with header stored is still current, per
// [RFC 9111 Section 4.3.1]. req itself is not modified.
//
// [RFC 9111 Section 4.3.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.1
func conditionalRequest(req *http.Request, stored http.Header, now time.Time) *http.Request {
	out := req.Clone(req.Context())
	for name, values := range policy.ValidatorsFor(stored, now) {
		out.Header[name] = values
	}
	return out
}

// resendRequest returns req ready to be sent again: with a new body from
// GetBody if it has one.
func resendRequest(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Body = body
	return out, nil
}

// discardBody reads a little of a response the caller will not see, so the
// connection can be reused, and closes it.
func discardBody(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}

// closeRequestBody closes the body of a request the Transport answers without
// sending it, as the RoundTripper contract asks.
func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
