package acache

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
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
// one is fresh enough for req, and otherwise forwards req unchanged. Whatever
// happens to the cache, the caller gets the origin's response: cache failures
// are reported through the Cache's logger and counters, never returned.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.cache()
	d := c.decide(req)
	if d.hit {
		closeRequestBody(req)
		c.hits.Add(1)
		return hitResponse(c, req, &d), nil
	}
	c.misses.Add(1)
	if d.reqCC.onlyIfCached {
		closeRequestBody(req)
		return gatewayTimeout(c, req), nil
	}
	requestTime := c.now()
	resp, err := t.transport().RoundTrip(req)
	if err != nil {
		return nil, err
	}
	responseTime := c.now()
	a := c.admit(req, &d, resp, requestTime, responseTime)
	addCacheStatus(resp.Header, a.status.String())
	if a.entry != nil {
		storeWhenComplete(c, req, resp, a.entry)
	}
	return resp, nil
}

// storeWhenComplete stores e with resp's body once the caller has read the
// body to its end intact. A response without a body is stored at once.
func storeWhenComplete(c *Cache, req *http.Request, resp *http.Response, e *Entry) {
	ctx := context.WithoutCancel(req.Context())
	if req.Method == http.MethodHead || resp.Body == nil || resp.Body == http.NoBody || resp.ContentLength == 0 {
		c.store(ctx, e.Key, e)
		return
	}
	resp.Body = &teeBody{
		body:     resp.Body,
		expected: resp.ContentLength,
		limit:    c.maxBodySize,
		buf:      make([]byte, 0, max(0, min(resp.ContentLength, c.maxBodySize))),
		complete: func(body []byte) {
			e.Body = body
			c.store(ctx, e.Key, e)
		},
	}
}

// teeBody streams a response body to the caller while keeping a copy, and
// hands the copy to complete when the body reached EOF intact: without a read
// error, within limit bytes, with the length the origin announced, and before
// the caller closed it. Otherwise the copy is dropped.
type teeBody struct {
	body     io.ReadCloser
	expected int64 // Content-Length, or -1
	limit    int64
	complete func(body []byte)

	// mu guards the fields below: Close may be called while a Read is
	// blocked in another goroutine.
	mu       sync.Mutex
	buf      []byte
	dropped  bool // over the limit, failed, closed early or already stored
	received int64
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped {
		return n, err
	}
	b.received += int64(n)
	if b.received > b.limit {
		b.drop()
		return n, err
	}
	b.buf = append(b.buf, p[:n]...)
	switch {
	case err == io.EOF:
		body := b.buf
		b.drop()
		if b.expected < 0 || int64(len(body)) == b.expected {
			b.complete(body)
		}
	case err != nil:
		b.drop()
	}
	return n, err
}

func (b *teeBody) Close() error {
	b.mu.Lock()
	b.drop()
	b.mu.Unlock()
	return b.body.Close()
}

// drop releases the copy; nothing is stored after it. b.mu is held.
func (b *teeBody) drop() {
	b.dropped = true
	b.buf = nil
}

// hitResponse builds the response for a hit: a new *http.Response with its own
// header and body reader over the stored bytes, an Age field computed now
// (RFC 9111 Section 5.1) and the cache's markers.
func hitResponse(c *Cache, req *http.Request, d *decision) *http.Response {
	e, m := d.entry, d.meta
	header, spare := cloneHeader(m.hitHeader, m.hitHeaderValues, 3)
	spare[0] = strconv.FormatInt(int64(d.age/time.Second), 10)
	header["Age"] = spare[0:1:1]
	if c.xFromCache {
		spare[1] = "1"
		header["X-From-Cache"] = spare[1:2:2]
	}
	ttl := strconv.FormatInt(int64((m.lifetime-d.age)/time.Second), 10)
	if upstream := header["Cache-Status"]; len(upstream) > 0 {
		addCacheStatus(header, c.hitPrefix+ttl) // after the caches upstream
	} else {
		spare[2] = c.hitPrefix + ttl
		header["Cache-Status"] = spare[2:3:3]
	}

	resp := &http.Response{
		Status:        m.status,
		StatusCode:    e.StatusCode,
		Proto:         e.Proto,
		ProtoMajor:    m.protoMajor,
		ProtoMinor:    m.protoMinor,
		Header:        header,
		Body:          http.NoBody,
		ContentLength: int64(len(e.Body)),
		Request:       req,
	}
	if len(e.Body) > 0 && req.Method != http.MethodHead {
		body := &storedBody{}
		body.Reset(e.Body)
		resp.Body = body
	}
	return resp
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

// gatewayTimeout is the answer to an only-if-cached request that the cache
// cannot satisfy, per RFC 9111 Section 5.2.1.7.
func gatewayTimeout(c *Cache, req *http.Request) *http.Response {
	header := http.Header{"Content-Length": {"0"}}
	addCacheStatus(header, CacheStatus{Cache: c.name, Fwd: FwdMiss, Detail: "only-if-cached"}.String())
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
