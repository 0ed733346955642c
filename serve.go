package acache

// This file holds every response the cache builds itself: a hit from a
// stored entry, a 304 for the caller's validators, a 206 or 416 for a Range
// (RFC 9110 Section 14), from a complete or an incomplete stored response,
// the combined response of a stored part and the origin's rest, a stale
// response for a failed origin, and the 504 of RFC 9111. All go through
// newResponse.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// entryResponse builds the response to req from the stored response
// d.entry: a new *http.Response with its own header and body reader over the
// stored bytes, an Age field computed now (RFC 9111 Section 5.1) and the
// cache's markers, member being its Cache-Status member. It answers the
// caller's own validators with 304 (RFC 9111 Section 4.3.2) and a Range with
// 206 or 416 (RFC 9110 Section 14), from a complete or an incomplete stored
// response (partial.go); an incomplete one is never served as a 200, only
// as the 206 it is. validated reports that the origin has just
// confirmed the entry, so the fields a qualified no-cache withholds are sent.
func entryResponse(c *Cache, req *http.Request, d *decision, member string, validated bool) *http.Response {
	e, m := d.entry, d.meta
	var omit func(string) bool
	if m.withheld {
		omit = m.withheldOnHit
	}
	header, spare := cloneHeader(e.Header, int(m.hitHeaderValues), 2, omit)
	spare[0] = strconv.FormatInt(int64(d.age/time.Second), 10)
	header["Age"] = spare[0:1:1]
	if upstream := header["Cache-Status"]; len(upstream) > 0 {
		addCacheStatus(header, member) // after the caches upstream
	} else {
		spare[1] = member
		header["Cache-Status"] = spare[1:2:2]
	}
	if validated {
		for _, name := range m.CC.NoCacheFields {
			if values, ok := e.Header[name]; ok {
				header[name] = slices.Clone(values) // the caller may write to it
			}
		}
	}

	var resp *http.Response
	switch {
	case d.fields.conditionals && policy.NotModifiedReceived(d.req.Method, d.req.Header, e.Header, e.ResponseTime, d.now):
		resp = notModifiedResponse(req, header)
	case d.ranges.outcome == httpsyntax.RangeSingle || d.ranges.outcome == httpsyntax.RangeUnsatisfiable:
		resp = rangeResponse(req, header, e.Body, d.ranges.r, d.ranges.outcome)
	case d.part.kind == partialHit:
		resp = incompleteResponse(req, header, e.Body, &d.part)
	default:
		resp = newResponse(req, e.StatusCode, statusLine(e.StatusCode), header, http.NoBody, int64(len(e.Body)))
		if req.Method == http.MethodHead {
			resp.ContentLength = headContentLength(e)
		} else if len(e.Body) > 0 {
			resp.Body = newStoredBody(e.Body)
		}
	}
	resp.Proto, resp.ProtoMajor, resp.ProtoMinor = e.Proto, int(m.protoMajor), int(m.protoMinor)
	resp.Uncompressed = e.Uncompressed
	return resp
}

// hit answers req from the stored response d selected, and counts the hit.
// It returns nil if building the response failed (a panic, reported): the
// request then goes to the origin.
func (c *Cache) hit(req *http.Request, d *decision) (resp *http.Response) {
	failed := false
	defer func() {
		if failed {
			resp = nil
		}
	}()
	defer c.recovered("serve", &failed)
	// The ttl and the Age field come from the same whole seconds of age, so
	// that the two agree (max-age=60 at Age: 0 is ttl=60).
	left := policy.TTL(d.meta.Lifetime, d.age)
	member := c.hitStatus.member(int64(left / time.Second))
	if d.Reason != policy.NoReason { // stale-while-revalidate: the ttl is negative
		member = CacheStatus{Cache: c.name, Hit: true, TTL: left, Detail: d.Reason.String()}.String()
	}
	resp = entryResponse(c, req, d, member, false)
	c.hits.add(uint(d.ref.shard), 1)
	return c.decided(eventHit, d, resp)
}

// collapsedHit answers req, which waited for a twin in flight to the origin
// (fwd says why it would have gone there), from the response the twin
// stored, and counts it. It returns nil if building the response failed.
func (c *Cache) collapsedHit(req *http.Request, d *decision, fwd string) (resp *http.Response) {
	failed := false
	defer func() {
		if failed {
			resp = nil
		}
	}()
	defer c.recovered("serve", &failed)
	member := CacheStatus{Cache: c.name, Fwd: fwd, FwdStatus: d.entry.StatusCode, Collapsed: true,
		TTL: policy.TTL(d.meta.Lifetime, d.age), Detail: d.Reason.String()}
	if d.Action == policy.ServeStale {
		c.observed.staleServed.Add(1)
	}
	resp = entryResponse(c, req, d, member.String(), false)
	c.collapsed.Add(1) // not a hit: its Cache-Status says fwd and collapsed

	return c.decided(eventHit, d, resp)
}

// headContentLength is the ContentLength of a HEAD response served from e:
// the length of a stored GET body, or the Content-Length a stored HEAD
// response announced, or -1 when neither is known.
func headContentLength(e *Entry) int64 {
	if len(e.Body) > 0 {
		return int64(len(e.Body))
	}
	if n, err := strconv.ParseInt(e.Header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		return n
	}
	if strings.HasPrefix(e.Key, http.MethodHead+" ") {
		return -1
	}
	return 0
}

// notModifiedResponse answers a request whose validators match the stored
// response: 304 with the fields [RFC 9110 Section 15.4.5] asks for, and the
// cache's own.
//
// [RFC 9110 Section 15.4.5]: https://www.rfc-editor.org/rfc/rfc9110#section-15.4.5
func notModifiedResponse(req *http.Request, stored http.Header) *http.Response {
	header := make(http.Header, 10)
	for _, name := range []string{"Cache-Control", "Content-Location", "Date", "Etag", "Expires", "Vary",
		"Age", "X-From-Cache", "Cache-Status"} {
		if values, ok := stored[name]; ok {
			header[name] = values
		}
	}
	return newResponse(req, http.StatusNotModified, "304 Not Modified", header, http.NoBody, 0)
}

// storedBody reads a stored body; the bytes are shared by every hit and
// never written. Like a body from net/http, it fails to read once closed;
// Close may be called while another goroutine reads.
type storedBody struct {
	r      bytes.Reader
	closed atomic.Bool
}

// newStoredBody returns a reader of b.
func newStoredBody(b []byte) *storedBody {
	body := &storedBody{}
	body.r.Reset(b)
	return body
}

func (b *storedBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errBodyClosed
	}
	return b.r.Read(p)
}

// WriteTo writes the rest of the body to w, for io.Copy, without a buffer.
func (b *storedBody) WriteTo(w io.Writer) (int64, error) {
	if b.closed.Load() {
		return 0, errBodyClosed
	}
	return b.r.WriteTo(w)
}

func (b *storedBody) Close() error {
	b.closed.Store(true)
	return nil
}

// cloneHeader copies the fields of h that omit, unless nil, does not report,
// which hold values values in all, with room in the map for extra more
// fields, and returns the copy with extra spare value slots. The copy's
// values and the spare slots share one array; each field's slice is capped
// so that appending to one never writes over another.
func cloneHeader(h http.Header, values, extra int, omit func(name string) bool) (clone http.Header, spare []string) {
	clone = make(http.Header, len(h)+extra)
	all := make([]string, values+extra)
	for name, vv := range h {
		if omit != nil && omit(name) {
			continue
		}
		n := copy(all, vv)
		clone[name] = all[:n:n]
		all = all[n:]
	}
	return clone, all
}

// addCacheStatus appends the cache's member to the Cache-Status field, after
// those of the caches before it (RFC 9211 Section 2).
func addCacheStatus(h http.Header, member string) {
	h["Cache-Status"] = append(h["Cache-Status"], member)
}

// gatewayTimeoutResponse is the cache's own error response, per RFC 9111: to an
// only-if-cached request it cannot satisfy (Section 5.2.1.7), and when it
// cannot reach the origin to revalidate a response that must be revalidated
// (Section 5.2.2.2). detail says which.
func gatewayTimeoutResponse(c *Cache, req *http.Request, detail string) *http.Response {
	header := http.Header{"Content-Length": {"0"}}
	addCacheStatus(header, CacheStatus{Cache: c.name, Fwd: policy.FwdMiss, Detail: detail}.String())
	return newResponse(req, http.StatusGatewayTimeout, "504 Gateway Timeout", header, http.NoBody, 0)
}

// newResponse is the one constructor of the responses the cache makes
// itself, from a stored entry or for an error of its own: an HTTP/1.1
// response to req (the caller may set another protocol) with the status
// line status, as [statusLine] makes it.
func newResponse(req *http.Request, code int, status string, header http.Header, body io.ReadCloser, length int64) *http.Response {
	return &http.Response{
		Status:        status,
		StatusCode:    code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          body,
		ContentLength: length,
		Request:       req,
	}
}

// statusLine returns the status of a response with this code as
// [http.Response.Status] holds it, e.g. "206 Partial Content"
// ([RFC 9110 Section 15]). A code without a reason phrase keeps the space
// before the empty phrase ("799 "), as RFC 9112 Section 4 writes it: without
// it, Response.Write would send the code again as the phrase.
//
// The lines of the codes from 100 to 599 are made once, so that a hit
// allocates none.
//
// [RFC 9110 Section 15]: https://www.rfc-editor.org/rfc/rfc9110#section-15
func statusLine(code int) string {
	if code >= 100 && code < len(statusLines) {
		return statusLines[code]
	}
	return makeStatusLine(code)
}

// statusLines holds the status line of each code from 100 to 599.
var statusLines = func() (lines [600]string) {
	for code := 100; code < len(lines); code++ {
		lines[code] = makeStatusLine(code)
	}
	return lines
}()

func makeStatusLine(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code)
}

// rangeResponse returns the response to a Range request for a stored,
// complete body, for the outcomes of [parseRange] that the cache answers
// itself:
//
//   - rangeSingle: 206 Partial Content ([RFC 9110 Section 15.3.7]) with
//     Content-Range "bytes first-last/size" ([RFC 9110 Section 14.4]),
//     Content-Length (field and resp.ContentLength) the part's length, and a
//     body that reads body[first:last+1] without copying it and whose Close
//     does nothing. If r does not lie within body (a caller's mistake), the
//     answer is the 416 below instead.
//   - rangeUnsatisfiable: 416 Range Not Satisfiable
//     ([RFC 9110 Section 15.5.17]) with Content-Range "bytes */size",
//     Content-Length 0 and body [http.NoBody].
//
// For any other outcome it returns nil.
//
// header is a fresh map the caller owns, already cloned from the stored
// response; it is modified in place and becomes resp.Header. Only
// Content-Length and Content-Range change: the fields a 206 must repeat
// (Cache-Control, ETag, Expires, Vary, ...; [RFC 9110 Section 15.3.7]) stay,
// and so does Content-Encoding, because a byte range is a range of the
// representation as encoded. size is len(body). body is never written to.
// Proto is "HTTP/1.1", which the caller may overwrite.
//
// [RFC 9110 Section 14.4]: https://www.rfc-editor.org/rfc/rfc9110#section-14.4
// [RFC 9110 Section 15.3.7]: https://www.rfc-editor.org/rfc/rfc9110#section-15.3.7
// [RFC 9110 Section 15.5.17]: https://www.rfc-editor.org/rfc/rfc9110#section-15.5.17
func rangeResponse(req *http.Request, header http.Header, body []byte, r httpsyntax.ByteRange, outcome httpsyntax.RangeOutcome) *http.Response {
	if header == nil {
		header = make(http.Header)
	}
	size := int64(len(body))
	switch outcome {
	case httpsyntax.RangeSingle:
		if r.First < 0 || r.First > r.Last || r.Last >= size {
			break // not a range of this body: answer 416 below
		}
		part := body[r.First : r.Last+1 : r.Last+1]
		n := int64(len(part))
		header.Del("Content-Length")
		header.Set("Content-Length", strconv.FormatInt(n, 10))
		header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", r.First, r.Last, size))
		return newResponse(req, http.StatusPartialContent, statusLine(http.StatusPartialContent), header, newStoredBody(part), n)
	case httpsyntax.RangeUnsatisfiable:
		// answered below
	default:
		return nil
	}
	header.Del("Content-Length")
	header.Set("Content-Length", "0")
	header.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
	return newResponse(req, http.StatusRequestedRangeNotSatisfiable, statusLine(http.StatusRequestedRangeNotSatisfiable), header, http.NoBody, 0)
}

// staleOnError returns the stale stored response d found, to serve in place
// of an origin that failed (resp, err), when RFC 5861's stale-if-error or
// the option to serve stale while disconnected allows it; else nil. The
// origin's response, if any, is then discarded.
func (c *Cache) staleOnError(req *http.Request, d *decision, resp *http.Response, err error) (stale *http.Response) {
	if d.entry == nil || d.bypass || d.Fwd != policy.FwdStale || !policy.OriginFailed(resp, err) {
		return nil
	}
	failed := false
	defer func() {
		if failed {
			stale = nil
		}
	}()
	defer c.recovered("serve", &failed)
	now := c.now()
	age := policy.CurrentAge(&d.meta.Facts, d.entry.ResponseTime, now)
	if !policy.StaleOnErrorAllowed(&d.meta.Facts, d.reqCC, age, c.shared, c.serveStale) {
		return nil
	}
	status := CacheStatus{Cache: c.name, Fwd: policy.FwdStale, TTL: policy.TTL(d.meta.Lifetime, age), Detail: detail(policy.ReasonStaleIfError, err)}
	if err == nil {
		status.FwdStatus = resp.StatusCode
		discardBody(resp)
	}
	served := *d
	served.now, served.age = now, age
	return entryResponse(c, req, &served, status.String(), false)
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
