package acache

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Transport is an [http.RoundTripper] that answers requests from a [Cache]
// when it can and forwards them to an inner RoundTripper when it cannot,
// storing what the origin sends back as RFC 9111 allows.
//
// The zero value is ready to use: a private in-memory cache with the default
// limits around [http.DefaultTransport]. A Transport is safe for concurrent use
// by multiple goroutines; its fields must not change once it is in use.
type Transport struct {
	// Transport is the RoundTripper that requests the cache cannot answer go
	// to. If nil, http.DefaultTransport is used.
	Transport http.RoundTripper

	// Cache holds the stored responses. If nil, the first request creates a
	// Cache with NewCache(nil).
	Cache *Cache

	defaultCacheOnce sync.Once
	defaultCache     *Cache
}

// NewTransport returns a Transport around http.DefaultTransport that stores
// responses in c; a nil c means NewCache(nil), a private in-memory cache with
// the default limits.
func NewTransport(c *Cache) *Transport {
	if c == nil {
		c = NewCache(nil)
	}
	return &Transport{Cache: c}
}

// Client returns an *http.Client that uses t.
func (t *Transport) Client() *http.Client {
	return &http.Client{Transport: t}
}

// CloseIdleConnections closes the idle connections of the inner transport, if
// it has such a method, so that [http.Client.CloseIdleConnections] reaches it.
func (t *Transport) CloseIdleConnections() {
	if closer, ok := t.transport().(interface{ CloseIdleConnections() }); ok {
		closer.CloseIdleConnections()
	}
}

func (t *Transport) cache() *Cache {
	if t.Cache != nil {
		return t.Cache
	}
	t.defaultCacheOnce.Do(func() { t.defaultCache = NewCache(nil) })
	return t.defaultCache
}

func (t *Transport) transport() http.RoundTripper {
	if t.Transport != nil {
		return t.Transport
	}
	return http.DefaultTransport
}

// RoundTrip implements [http.RoundTripper]. It serves a stored response when
// one is fresh enough for req, revalidates a stale one with a conditional
// request, and otherwise forwards req unchanged. Whatever happens to the
// cache, the caller gets the origin's response: cache failures are reported
// through the Cache's logger and counters, never returned.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.cache()
	d := c.decide(req)
	if err := req.Context().Err(); err != nil {
		// What net/http answers a request whose context is done; the cache
		// must not answer it with a response instead.
		closeRequestBody(req)
		return nil, context.Cause(req.Context())
	}
	if d.hit {
		ttl := strconv.FormatInt(int64(d.ttl/time.Second), 10)
		if resp := c.servedSafely(req, &d, c.hitPrefix+ttl); resp != nil {
			closeRequestBody(req)
			c.hits.Add(1)
			return resp, nil
		}
		d = decision{req: d.req, bypass: true, fwd: FwdBypass, detail: "cache error"}
	}
	c.misses.Add(1)
	if d.reqCC.onlyIfCached {
		closeRequestBody(req)
		return gatewayTimeout(c, req, "only-if-cached"), nil
	}
	out := req
	if d.validate {
		out = conditionalRequest(req, d.entry.Header)
	}
	requestTime := c.now()
	resp, err := t.transport().RoundTrip(out)
	if err != nil {
		if d.validate && d.meta.cc.mustRevalidate {
			// RFC 9111 Section 5.2.2.2: never the stale response; an error
			// response instead.
			return gatewayTimeout(c, req, "must-revalidate: "+err.Error()), nil
		}
		return nil, err
	}
	responseTime := c.now()
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	if d.validate && resp.StatusCode == http.StatusNotModified {
		if fresh, member, ok := c.revalidated(&d, resp.Header, requestTime, responseTime); ok {
			discardBody(resp)
			return storedResponse(c, req, &fresh, member, true), nil
		}
		// The 304 is not for the stored response (RFC 9111 Section 4.3.4):
		// ask again, without validators.
		discardBody(resp)
		if out, err = resendRequest(req); err != nil {
			return nil, err
		}
		requestTime = c.now()
		if resp, err = t.transport().RoundTrip(out); err != nil {
			return nil, err
		}
		responseTime = c.now()
	}
	a := c.admit(&d, resp, requestTime, responseTime)
	addCacheStatus(resp.Header, a.status.String())
	if a.entry != nil {
		storeWhenComplete(c, req, resp, a.entry)
	}
	if resp.Request == out && out != req {
		resp.Request = req // the caller's request, not the cache's clone
	}
	return resp, nil
}

// conditionalRequest returns a copy of req that asks the origin whether the
// stored response with header stored is still current, per
// [RFC 9111 Section 4.3.1]. req itself is not modified.
//
// [RFC 9111 Section 4.3.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.1
func conditionalRequest(req *http.Request, stored http.Header) *http.Request {
	out := req.Clone(req.Context())
	for name, values := range validatorsFor(stored) {
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

// storeWhenComplete stores e with resp's body once the caller has read the
// body to its end intact. A response without a body is stored at once.
func storeWhenComplete(c *Cache, req *http.Request, resp *http.Response, e *Entry) {
	ctx := req.Context()
	if req.Method == http.MethodHead || resp.Body == nil || resp.Body == http.NoBody || resp.ContentLength == 0 {
		c.store(ctx, e.Key, e)
		return
	}
	resp.Body = &teeBody{
		body:     resp.Body,
		cache:    c,
		expected: resp.ContentLength,
		complete: func(body []byte) {
			e.Body = body
			c.store(ctx, e.Key, e)
		},
	}
}

// teeBody streams a response body to the caller while keeping a copy, and
// hands the copy to complete when the body reached EOF intact: without a read
// error, within the cache's body size limit, with the length the origin
// announced, and before the caller closed it. Otherwise the copy is dropped.
//
// The copy grows with the bytes that arrive, never ahead of them, and every
// byte of its capacity is reserved against the cache's byte limit, which all
// bodies in flight share: when the reservation fails, the copy is dropped and
// the body streams on uncached.
type teeBody struct {
	body     io.ReadCloser
	cache    *Cache
	expected int64 // Content-Length, or -1
	complete func(body []byte)

	// mu guards the fields below: Close may be called while a Read is
	// blocked in another goroutine.
	mu       sync.Mutex
	buf      []byte
	reserved int64 // bytes of the cache's in-flight budget that buf holds
	dropped  bool  // over the limit, failed, closed early or already stored
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if body, reserved := b.keep(p[:n], err); body != nil {
		// The store counts the body against the same limit: release the
		// reservation first, so that it is never counted twice.
		b.cache.inFlight.Add(-reserved)
		b.complete(body) // outside mu: a Close need not wait for the store
	}
	return n, err
}

// keep adds p, just read with err, to the copy, and returns the complete
// body once the copy holds all of it, with the in-flight bytes it reserved,
// for the caller to release.
func (b *teeBody) keep(p []byte, err error) (complete []byte, reserved int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped {
		return nil, 0
	}
	if !b.grow(len(p)) {
		b.drop()
		return nil, 0
	}
	b.buf = append(b.buf, p...)
	switch {
	case err == io.EOF:
		body := b.buf
		if b.expected >= 0 && int64(len(body)) != b.expected {
			b.drop()
			return nil, 0
		}
		if cap(body)-len(body) > len(body)/8 {
			body = slices.Clone(body) // do not store the slack of the last growth
		}
		reserved = b.reserved
		b.dropped, b.buf, b.reserved = true, nil, 0
		return body, reserved
	case err != nil:
		b.drop()
	}
	return nil, 0
}

// grow makes room in the copy for n more bytes, reserving what it adds; it
// reports false when the body passes the size limit or the announced length,
// or the budget of bodies in flight is spent. b.mu is held.
func (b *teeBody) grow(n int) bool {
	need := int64(len(b.buf) + n)
	if need <= int64(cap(b.buf)) {
		return true
	}
	limit := b.cache.maxBodySize
	if b.expected >= 0 {
		limit = min(limit, b.expected)
	}
	if need > limit {
		return false
	}
	newCap := min(max(need, 2*int64(cap(b.buf)), 512), limit)
	if !b.cache.reserveInFlight(newCap - int64(cap(b.buf))) {
		return false
	}
	b.reserved += newCap - int64(cap(b.buf))
	grown := make([]byte, len(b.buf), newCap)
	copy(grown, b.buf)
	b.buf = grown
	return true
}

func (b *teeBody) Close() error {
	b.mu.Lock()
	b.drop()
	b.mu.Unlock()
	return b.body.Close()
}

// drop releases the copy and its reservation; nothing is stored after it.
// b.mu is held.
func (b *teeBody) drop() {
	b.cache.inFlight.Add(-b.reserved)
	b.dropped, b.buf, b.reserved = true, nil, 0
}

// storedResponse builds the response to req from the stored response
// d.entry: a new *http.Response with its own header and body reader over the
// stored bytes, an Age field computed now (RFC 9111 Section 5.1) and the
// cache's markers, member being its Cache-Status member. It answers the
// caller's own validators with 304 (RFC 9111 Section 4.3.2) and a Range with
// 206 or 416 (RFC 9110 Section 14). validated reports that the origin has just
// confirmed the entry, so the fields a qualified no-cache withholds are sent.
func storedResponse(c *Cache, req *http.Request, d *decision, member string, validated bool) *http.Response {
	e, m := d.entry, d.meta
	header, spare := cloneHeader(m.hitHeader, m.hitHeaderValues, 3)
	spare[0] = strconv.FormatInt(int64(d.age/time.Second), 10)
	header["Age"] = spare[0:1:1]
	if c.xFromCache {
		spare[1] = "1"
		header["X-From-Cache"] = spare[1:2:2]
	}
	if upstream := header["Cache-Status"]; len(upstream) > 0 {
		addCacheStatus(header, member) // after the caches upstream
	} else {
		spare[2] = member
		header["Cache-Status"] = spare[2:3:3]
	}
	if validated {
		for _, name := range m.cc.noCacheFields {
			if values, ok := e.Header[name]; ok {
				header[name] = slices.Clone(values) // the caller may write to it
			}
		}
	}

	var resp *http.Response
	switch {
	case d.fields.conditionals && notModified(d.req.Method, d.req.Header, e.Header, d.now):
		resp = notModifiedResponse(req, header)
	case d.rangeHint.outcome == rangeSingle || d.rangeHint.outcome == rangeUnsatisfiable:
		resp = rangeResponse(req, header, e.Body, d.rangeHint.r, d.rangeHint.outcome)
	default:
		resp = &http.Response{
			Status:        m.status,
			StatusCode:    e.StatusCode,
			Header:        header,
			Body:          http.NoBody,
			ContentLength: int64(len(e.Body)),
			Request:       req,
		}
		if req.Method == http.MethodHead {
			resp.ContentLength = headContentLength(e)
		} else if len(e.Body) > 0 {
			body := &storedBody{}
			body.Reset(e.Body)
			resp.Body = body
		}
	}
	resp.Proto, resp.ProtoMajor, resp.ProtoMinor = e.Proto, m.protoMajor, m.protoMinor
	return resp
}

// servedSafely is storedResponse for a hit, or nil if building the response
// from the stored entry panicked: the request then goes to the origin.
func (c *Cache) servedSafely(req *http.Request, d *decision, member string) (resp *http.Response) {
	failed := false
	defer func() {
		if failed {
			resp = nil
		}
	}()
	defer c.recovered("serve", &failed)
	return storedResponse(c, req, d, member, false)
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
	return &http.Response{
		Status:     "304 Not Modified",
		StatusCode: http.StatusNotModified,
		Header:     header,
		Body:       http.NoBody,
		Request:    req,
	}
}

// storedBody reads a stored body; the bytes are shared by every hit and
// never written.
type storedBody struct{ bytes.Reader }

func (*storedBody) Close() error { return nil }

// cloneHeader copies h, which holds values values in all, with room in the map
// for extra more fields, and returns the copy with extra spare value slots.
// The copy's values and the spare slots share one array; each field's slice
// is capped so that appending to one never writes over another.
func cloneHeader(h http.Header, values, extra int) (clone http.Header, spare []string) {
	clone = make(http.Header, len(h)+extra)
	all := make([]string, values+extra)
	for name, vv := range h {
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

// gatewayTimeout is the cache's own error response, per RFC 9111: to an
// only-if-cached request it cannot satisfy (Section 5.2.1.7), and when it
// cannot reach the origin to revalidate a response that must be revalidated
// (Section 5.2.2.2). detail says which.
func gatewayTimeout(c *Cache, req *http.Request, detail string) *http.Response {
	header := http.Header{"Content-Length": {"0"}}
	addCacheStatus(header, CacheStatus{Cache: c.name, Fwd: FwdMiss, Detail: detail}.String())
	return &http.Response{
		Status:     "504 Gateway Timeout",
		StatusCode: http.StatusGatewayTimeout,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     header,
		Body:       http.NoBody,
		Request:    req,
	}
}

// closeRequestBody closes the body of a request the Transport answers without
// sending it, as the RoundTripper contract asks.
func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
