package acache

// This file holds partial content: incomplete stored responses
// ([RFC 9111 Section 3.3]), combining them with new parts
// ([RFC 9111 Section 3.4]), fetching only the part a stored response lacks,
// and If-Range ([RFC 9110 Section 13.1.5]).
//
// An incomplete response is stored as an Entry like any other, under the
// key of the GET request, with no field of its own: its StatusCode is 206
// and its Header carries the Content-Range "bytes first-last/complete" of
// the bytes in its Body, one contiguous range of a representation whose
// complete length is known and that has a strong entity-tag (RFC 9110
// Section 8.8.1). The strong validator is what makes two parts combinable:
// they are bytes of one and the same representation. An incomplete entry is
// never served as a complete response: it answers only Range requests that
// its bytes cover, and otherwise tells the cache which bytes to ask the
// origin for. One entry per key (and Vary selection): a complete response
// replaces an incomplete one; a new part with the same strong validator is
// combined with the stored one when the two touch or overlap; otherwise the
// newer replaces the older. Incomplete entries count against WithMaxBytes
// like any other and hold at most WithMaxBodySize bytes.
//
// [RFC 9111 Section 3.3]: https://www.rfc-editor.org/rfc/rfc9111#section-3.3
// [RFC 9111 Section 3.4]: https://www.rfc-editor.org/rfc/rfc9111#section-3.4
// [RFC 9110 Section 13.1.5]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.5

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// resumable returns the span that the body of resp, stored as e, would
// start when cut short, and whether the bytes that did arrive may then be
// stored as an incomplete response ([RFC 9111 Section 3.3]): a 206 that is
// storable as such, or a 200 to a GET with a strong entity-tag, a known
// length and "Accept-Ranges: bytes", whose bytes are the origin's (not
// decompressed by the inner transport).
//
// [RFC 9111 Section 3.3]: https://www.rfc-editor.org/rfc/rfc9111#section-3.3
func resumable(req *http.Request, resp *http.Response, e *Entry) (first, size int64, ok bool) {
	if req.Method != http.MethodGet || resp.Uncompressed || e.StatusCode != resp.StatusCode {
		return 0, 0, false
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		s, ok := httpsyntax.ContentRange(e.Header)
		return s.Range.First, s.Size, ok && policy.StorablePartial(req, resp)
	case http.StatusOK:
		_, strong := httpsyntax.StrongETag(e.Header)
		if !strong || resp.ContentLength <= 0 || !acceptsByteRanges(e.Header) {
			return 0, 0, false
		}
		return 0, resp.ContentLength, true
	}
	return 0, 0, false
}

// acceptsByteRanges reports an Accept-Ranges field that lists "bytes"
// ([RFC 9110 Section 14.3]).
//
// [RFC 9110 Section 14.3]: https://www.rfc-editor.org/rfc/rfc9110#section-14.3
func acceptsByteRanges(h http.Header) bool {
	return httpsyntax.ListContains(h, "Accept-Ranges", "bytes")
}

// piece is a contiguous part of a representation: body holds its bytes from
// position first on.
type piece struct {
	first int64
	body  []byte
}

// end returns the position after the last byte of p.
func (p piece) end() int64 { return p.first + int64(len(p.body)) }

// union returns the bytes of old and new, two pieces of one representation
// (the same strong validator), as one piece when they touch or overlap, per
// [RFC 9111 Section 3.4]; where they overlap, new's bytes are taken. ok is
// false when a gap separates them. The result never shares memory with a
// stored body that another reader may hold, except when it is new itself.
//
// [RFC 9111 Section 3.4]: https://www.rfc-editor.org/rfc/rfc9111#section-3.4
func union(old, new piece) (piece, bool) {
	if new.first > old.end() || old.first > new.end() {
		return piece{}, false
	}
	first, end := min(old.first, new.first), max(old.end(), new.end())
	if first == new.first && end == new.end() {
		return new, true // new covers old
	}
	out := make([]byte, end-first)
	copy(out[old.first-first:], old.body)
	copy(out[new.first-first:], new.body)
	return piece{first, out}, true
}

// withPiece returns a copy of e, the entry that stores a response, holding
// p of a representation of size bytes: a complete 200 when p is all of it,
// else an incomplete 206 whose Content-Range and Content-Length describe p.
// What the Cache derives from it is derived again.
func (c *Cache) withPiece(e *Entry, p piece, size int64) *Entry {
	out := *e
	out.Header = e.Header.Clone()
	out.Body = p.body
	out.Variants, out.Partitions = nil, nil
	n := int64(len(p.body))
	if p.first == 0 && n == size {
		out.StatusCode = http.StatusOK
		delete(out.Header, "Content-Range")
	} else {
		out.StatusCode = http.StatusPartialContent
		out.Header["Content-Range"] = []string{httpsyntax.Span{Range: httpsyntax.ByteRange{First: p.first, Last: p.first + n - 1}, Size: size}.String()}
	}
	out.Header["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	out.meta = deriveMeta(&out, c.derivation)
	return &out
}

// bodyPlan says how the body of a response being stored is combined with
// stored bytes, and what is stored when it is cut short.
type bodyPlan struct {
	// base is the stored piece the body continues or overlaps (same strong
	// validator), combined with it per RFC 9111 Section 3.4; nil body: none.
	base piece
	// first is the position of the body's first byte in the representation,
	// size the representation's length.
	first, size int64
	// partial reports that a body cut short may be stored, as an
	// incomplete response of the bytes that did arrive.
	partial bool
	// combine reports that the body is a piece of a representation to
	// combine with base (or to store as a piece): withPiece builds the
	// entry. When false, the body is e's body as it is.
	combine bool
	// outdated reports that the response stored under the key is of
	// another representation: a body cut short that stores nothing removes
	// it.
	outdated bool
}

// completeEntry returns the entry to store once the body has arrived
// complete.
func (c *Cache) completeEntry(e *Entry, plan *bodyPlan, body []byte) *Entry {
	if !plan.combine {
		e.Body = body
		return e
	}
	return c.pieceEntry(e, plan, body)
}

// pieceEntry returns the entry holding body, at plan.first, combined with
// plan.base when the two touch, and nil when the result would be larger
// than the Cache stores for one response.
func (c *Cache) pieceEntry(e *Entry, plan *bodyPlan, body []byte) *Entry {
	p := piece{plan.first, body}
	if p.end() > plan.size {
		return nil // more than the representation holds: not its bytes
	}
	if len(plan.base.body) > 0 {
		if u, ok := union(plan.base, p); ok && int64(len(u.body)) <= c.maxBodySize {
			p = u
		}
	}
	if int64(len(p.body)) > c.maxBodySize || len(p.body) == 0 {
		return nil
	}
	return c.withPiece(e, p, plan.size)
}

// planBody returns how the body of resp, which a is to store, is stored: as
// it is, or as a piece of a representation, combined with the incomplete
// response d found when the two are parts of one representation
// ([RFC 9111 Section 3.4]). keep is false when the response is not to be
// stored at all: a part of a representation that is stored complete.
//
// A part never replaces the complete response of the same representation:
// when d found one with the same strong validator, a body cut short stores
// nothing, and the complete response stays. When d found a response of
// another representation, it is out of date: a body cut short replaces it
// with the part that arrived, or, when that cannot be stored, removes it.
//
// [RFC 9111 Section 3.4]: https://www.rfc-editor.org/rfc/rfc9111#section-3.4
func planBody(d *decision, resp *http.Response, e *Entry) (plan bodyPlan, keep bool) {
	first, size, resumes := resumable(d.req, resp, e)
	if resumes {
		plan = bodyPlan{first: first, size: size, partial: true, combine: e.StatusCode == http.StatusPartialContent}
	}
	if d.entry == nil || d.bypass {
		return plan, true
	}
	newTag, _ := httpsyntax.StrongETag(e.Header)
	oldTag, strong := httpsyntax.StrongETag(d.entry.Header)
	if !strong || !httpsyntax.StrongMatch(oldTag, newTag) || !sameCoding(d.entry.Header, e.Header) {
		// Another representation: the newer replaces the older, which
		// is out of date even if the newer is cut short.
		plan.outdated = d.entryKey == d.key && resp.StatusCode == http.StatusOK
		return plan, true
	}
	if !resumes {
		return plan, true
	}
	if d.entry.StatusCode == http.StatusOK && int64(len(d.entry.Body)) == size {
		if e.StatusCode == http.StatusPartialContent {
			return bodyPlan{}, false // a part of what is stored complete
		}
		plan.partial = false // cut short, it would be a part of what is stored complete
		return plan, true
	}
	if have, ok := incompleteOf(d.entry); ok && have.Size == size {
		plan.base = piece{have.Range.First, d.entry.Body}
		plan.combine = true
	}
	return plan, true
}

// sameCoding reports whether two responses have the same Content-Encoding:
// byte ranges are ranges of the representation as encoded.
func sameCoding(a, b http.Header) bool {
	return strings.Join(a["Content-Encoding"], ",") == strings.Join(b["Content-Encoding"], ",")
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

// planPartial decides what d's request gets from the incomplete response d
// found, and returns the range outcome to give the verdict.
func planPartial(d *decision) httpsyntax.RangeOutcome {
	have, ok := incompleteOf(d.entry)
	etag, _ := httpsyntax.StrongETag(d.entry.Header)
	d.part = partialPlan{have: have, etag: etag}
	req := d.req
	if !ok || req.Method != http.MethodGet || d.fields.conditionals || d.mode == ModeReload {
		return httpsyntax.RangeForward
	}
	want, outcome := httpsyntax.ByteRange{First: 0, Last: have.Size - 1}, httpsyntax.RangeIgnore
	if d.fields.rangeRequest {
		want, outcome = httpsyntax.ParseRange(req.Header.Values("Range"), have.Size)
		if d.fields.ifRange && !policy.IfRangeMatches(req.Header, d.entry.Header, d.now) {
			// The caller's copy is of another representation: it wants the
			// whole current one, which only the origin has.
			return httpsyntax.RangeForward
		}
	}
	switch outcome {
	case httpsyntax.RangeUnsatisfiable:
		d.part.kind, d.part.unsatisfiable = partialHit, true
		return outcome
	case httpsyntax.RangeForward:
		return outcome
	case httpsyntax.RangeIgnore:
		want, d.part.whole = httpsyntax.ByteRange{First: 0, Last: have.Size - 1}, true
	}
	d.part.want = want
	switch {
	case !d.part.whole && want.First >= have.Range.First && want.Last <= have.Range.Last:
		d.part.kind = partialHit
		return httpsyntax.RangeSingle
	case want.First >= have.Range.First && want.First <= have.Range.Last+1 && want.Last > have.Range.Last:
		d.part.kind = partialFill
	}
	return httpsyntax.RangeForward
}

// partialVerdict adjusts v, the verdict on a request for which d found an
// incomplete response, to what such a response can do: answer a range it
// covers, or send the origin the request for what it lacks, or leave the
// request to the origin. It never serves the incomplete response as a
// complete one.
func partialVerdict(d *decision, v policy.Verdict) policy.Verdict {
	if d.part.kind == partialHit || v.Action == policy.GatewayTimeout {
		return v
	}
	if d.reqCC.OnlyIfCached {
		d.part.kind = partialNone
		return policy.Verdict{Action: policy.GatewayTimeout, Fwd: FwdMiss, Detail: "only-if-cached"}
	}
	if d.part.kind == partialFill {
		// If-Range makes the request for the missing part a validation of
		// the stored part too: whatever its freshness, a 206 with the same
		// strong validator confirms it.
		return policy.Verdict{Action: policy.Forward, Fwd: FwdPartial}
	}
	if d.mode == ModeReload {
		return v
	}
	return policy.Verdict{Action: policy.Forward, Fwd: FwdPartial}
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

// fillsGap reports whether resp, the origin's answer to fillRequest, is the
// missing part of the stored response: a 206 of exactly the range asked for,
// with the stored strong validator, the same content coding, and the bytes
// as the origin sent them.
func fillsGap(p *partialPlan, stored http.Header, resp *http.Response) bool {
	if resp.StatusCode != http.StatusPartialContent || resp.Uncompressed {
		return false
	}
	got, ok := httpsyntax.ContentRange(resp.Header)
	want := httpsyntax.Span{Range: httpsyntax.ByteRange{First: p.have.Range.Last + 1, Last: p.want.Last}, Size: p.have.Size}
	if !ok || got != want || resp.ContentLength >= 0 && resp.ContentLength != want.Length() {
		return false
	}
	tag, strong := httpsyntax.StrongETag(resp.Header)
	return strong && httpsyntax.StrongMatch(tag, p.etag) && sameCoding(stored, resp.Header)
}

// combinedResponse turns resp, the origin's 206 with the part that the
// stored response d found lacks, into the answer to the caller: the stored
// bytes it asked for followed by the origin's, streamed, with the header
// fields of the new response (RFC 9111 Section 3.4): a 206 of the range it
// asked for, or a 200 when it asked for no range.
func combinedResponse(d *decision, resp *http.Response) {
	p := &d.part
	stored := d.entry.Body[p.want.First-p.have.Range.First:]
	n := p.want.Last - p.want.First + 1
	header := resp.Header
	if p.whole {
		resp.StatusCode, resp.Status = http.StatusOK, statusLine(http.StatusOK)
		delete(header, "Content-Range")
	} else {
		header["Content-Range"] = []string{httpsyntax.Span{Range: p.want, Size: p.have.Size}.String()}
	}
	header["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	resp.ContentLength = n
	resp.Body = &prefixedBody{prefix: bytes.NewReader(stored), body: resp.Body, rest: n - int64(len(stored))}
}

// errPartLength reports an origin's part whose body is longer or shorter
// than the range it announced: the bytes past or before the end are not the
// representation's.
var errPartLength = errors.New("acache: the origin's part is not the length of its Content-Range")

// prefixedBody reads stored bytes, then exactly rest bytes of a body from
// the origin, and fails when the origin's body ends before them or goes on
// after them; Close closes the origin's body.
type prefixedBody struct {
	prefix *bytes.Reader
	body   io.ReadCloser
	rest   int64
}

func (b *prefixedBody) Read(p []byte) (int, error) {
	if b.prefix.Len() > 0 {
		return b.prefix.Read(p)
	}
	if b.rest == 0 {
		// One byte more would be past the range: look for it.
		var one [1]byte
		n, err := b.body.Read(one[:])
		if n > 0 {
			return 0, errPartLength
		}
		return 0, err
	}
	if int64(len(p)) > b.rest {
		p = p[:b.rest]
	}
	n, err := b.body.Read(p)
	b.rest -= int64(n)
	if err == io.EOF && b.rest > 0 {
		err = errPartLength
	}
	return n, err
}

func (b *prefixedBody) Close() error { return b.body.Close() }

// incompleteResponse answers a Range request from an incomplete stored
// response whose bytes cover it (p.kind is partialHit): 206 with the part
// ([RFC 9110 Section 15.3.7]), or 416 with "bytes */size" when no byte of
// the representation satisfies it. header is the caller's fresh copy of the
// stored header.
//
// [RFC 9110 Section 15.3.7]: https://www.rfc-editor.org/rfc/rfc9110#section-15.3.7
func incompleteResponse(req *http.Request, header http.Header, body []byte, p *partialPlan) *http.Response {
	if p.unsatisfiable {
		header["Content-Length"] = []string{"0"}
		header["Content-Range"] = []string{"bytes */" + strconv.FormatInt(p.have.Size, 10)}
		return newResponse(req, http.StatusRequestedRangeNotSatisfiable,
			statusLine(http.StatusRequestedRangeNotSatisfiable), header, http.NoBody, 0)
	}
	from := p.want.First - p.have.Range.First
	part := body[from : from+p.want.Last-p.want.First+1 : from+p.want.Last-p.want.First+1]
	n := int64(len(part))
	header["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	header["Content-Range"] = []string{httpsyntax.Span{Range: p.want, Size: p.have.Size}.String()}
	return newResponse(req, http.StatusPartialContent, statusLine(http.StatusPartialContent), header,
		newStoredBody(part), n)
}
