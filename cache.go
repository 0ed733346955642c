package acache

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default limits of a Cache; see [WithMaxEntries], [WithMaxBytes] and
// [WithMaxBodySize].
const (
	DefaultMaxEntries  = 10_000
	DefaultMaxBytes    = 64 << 20
	DefaultMaxBodySize = 4 << 20
)

// Cache applies the storage, freshness and validation rules of RFC 9111 over a
// [Backend]. It owns the limits (entries, bytes, body size) and evicts the least
// recently used entries through Backend.PopOldest when a store goes over them.
//
// A Cache is safe for concurrent use by multiple goroutines. Create one with
// [NewCache]; a Cache is used through a [Transport].
type Cache struct {
	backend       Backend
	maxEntries    int
	maxBytes      int64
	maxBodySize   int64
	shared        bool
	now           func() time.Time
	logger        *slog.Logger
	name          string
	xFromCache    bool
	storeUnframed bool
	hmacPool      sync.Pool // of hash.Hash keyed with the partition secret
	hitPrefix     string    // name + "; hit; ttl="

	// mu serialises stores, invalidations and evictions so that bytes stays
	// the sum of the sizes of the entries this Cache stored. Hits do not take it.
	mu    sync.Mutex
	bytes int64

	hits, misses, stores, evictions, errors atomic.Int64
}

// Option configures a [Cache] created by [NewCache].
type Option func(*Cache)

// WithMaxEntries sets the most entries the Cache keeps; n <= 0 means
// [DefaultMaxEntries].
func WithMaxEntries(n int) Option {
	return func(c *Cache) {
		if n > 0 {
			c.maxEntries = n
		}
	}
}

// WithMaxBytes sets the most bytes (as counted by [Entry.Size]) the Cache
// keeps; n <= 0 means [DefaultMaxBytes].
func WithMaxBytes(n int64) Option {
	return func(c *Cache) {
		if n > 0 {
			c.maxBytes = n
		}
	}
}

// WithMaxBodySize sets the largest response body the Cache stores; larger
// bodies stream through to the caller and are not stored. The Cache never
// buffers more than n bytes of a body. n <= 0 means [DefaultMaxBodySize].
func WithMaxBodySize(n int64) Option {
	return func(c *Cache) {
		if n > 0 {
			c.maxBodySize = n
		}
	}
}

// WithShared makes the Cache a shared cache as defined by
// [RFC 9111 Section 1]: it honours s-maxage and proxy-revalidate, does not
// store responses marked private, and stores responses to requests with
// Authorization only when the response allows it (Section 3.5). Without it the
// Cache is a private cache, the right choice for a client acting for one user.
//
// [RFC 9111 Section 1]: https://www.rfc-editor.org/rfc/rfc9111#section-1
func WithShared() Option {
	return func(c *Cache) { c.shared = true }
}

// WithClock sets the function the Cache reads the time from; nil means
// [time.Now]. Tests use it to move time forward.
func WithClock(now func() time.Time) Option {
	return func(c *Cache) {
		if now != nil {
			c.now = now
		}
	}
}

// WithLogger sets where the Cache reports failures it recovered from (backend
// errors, corrupt entries, panics); nil discards them, the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *Cache) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithName sets the cache name in the Cache-Status field of responses
// ([RFC 9211 Section 2]); the default is "acache".
//
// [RFC 9211 Section 2]: https://www.rfc-editor.org/rfc/rfc9211#section-2
func WithName(name string) Option {
	return func(c *Cache) {
		if name != "" {
			c.name = name
		}
	}
}

// WithoutXFromCache stops the Cache from adding "X-From-Cache: 1" to the
// responses it serves. The header is on by default for users of
// gregjones/httpcache; the Cache-Status field is always added.
func WithoutXFromCache() Option {
	return func(c *Cache) { c.xFromCache = false }
}

// WithUnframedBodies lets the Cache store HTTP/1 responses whose body has
// neither Content-Length nor chunked framing. Such a body ends when the
// connection closes, so a truncated body looks complete; by default they are
// not stored.
func WithUnframedBodies() Option {
	return func(c *Cache) { c.storeUnframed = true }
}

// WithPartitionSecret sets the key of the HMAC that turns a request's
// Authorization field into the partition part of its cache key, so that a
// Transport acting for many users never serves one user's response to another.
// By default the secret is random per Cache; set it to share entries of
// authenticated requests between processes through a persistent backend.
func WithPartitionSecret(secret []byte) Option {
	return func(c *Cache) {
		if len(secret) > 0 {
			c.setPartitionSecret(secret)
		}
	}
}

// NewCache returns a Cache over backend, configured by opts. A nil backend
// means a new [LRU].
func NewCache(backend Backend, opts ...Option) *Cache {
	if backend == nil {
		backend = NewLRU()
	}
	c := &Cache{
		backend:     backend,
		maxEntries:  DefaultMaxEntries,
		maxBytes:    DefaultMaxBytes,
		maxBodySize: DefaultMaxBodySize,
		now:         time.Now,
		logger:      slog.New(slog.DiscardHandler),
		name:        "acache",
		xFromCache:  true,
	}
	secret := make([]byte, 32)
	rand.Read(secret) // never fails, per its documentation
	c.setPartitionSecret(secret)
	for _, opt := range opts {
		opt(c)
	}
	c.maxBodySize = min(c.maxBodySize, c.maxBytes)
	c.hitPrefix = c.name + "; hit; ttl="
	return c
}

func (c *Cache) setPartitionSecret(secret []byte) {
	secret = append([]byte(nil), secret...)
	c.hmacPool = sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}
}

// Stats counts what a Cache has done since it was created.
type Stats struct {
	// Hits counts requests served from the cache without the origin.
	Hits int64
	// Misses counts requests forwarded to the origin.
	Misses int64
	// Stores counts responses stored.
	Stores int64
	// Evictions counts entries removed to stay within the limits.
	Evictions int64
	// Errors counts failures the Cache recovered from: backend errors,
	// corrupt entries and panics. Each one became a miss or a skipped store.
	Errors int64
	// Bytes is the size of the entries this Cache stored and has not removed.
	Bytes int64
}

// Stats returns the Cache's counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	bytes := c.bytes
	c.mu.Unlock()
	return Stats{
		Hits:      c.hits.Load(),
		Misses:    c.misses.Load(),
		Stores:    c.stores.Load(),
		Evictions: c.evictions.Load(),
		Errors:    c.errors.Load(),
		Bytes:     bytes,
	}
}

// key returns the cache key of req: method, scheme, effective host, the URL
// without its fragment, and a partition derived from Authorization. See
// [RFC 9111 Section 2] for the primary cache key; the partition keeps the
// responses of different users apart.
//
// [RFC 9111 Section 2]: https://www.rfc-editor.org/rfc/rfc9111#section-2
func (c *Cache) key(req *http.Request) string {
	return c.keyFor(req.Method, req.URL, req.Host, req.Header)
}

func (c *Cache) keyFor(method string, u *url.URL, host string, h http.Header) string {
	if host == "" {
		host = u.Host
	}
	scheme := u.Scheme
	if scheme == "" {
		scheme = "http"
	}
	host = normalizeHost(scheme, host)
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	query := ""
	if u.ForceQuery || u.RawQuery != "" {
		query = "?" + u.RawQuery
	}
	partition := ""
	if auth := h["Authorization"]; len(auth) > 0 {
		partition = " auth=" + c.partitionOf(auth)
	}
	return method + " " + strings.ToLower(scheme) + "://" + host + path + query + partition
}

// normalizeHost lower-cases host and drops the scheme's default port, per
// RFC 9110 Section 4.2.3.
func normalizeHost(scheme, host string) string {
	host = strings.ToLower(host)
	switch {
	case strings.EqualFold(scheme, "http"):
		host = strings.TrimSuffix(host, ":80")
	case strings.EqualFold(scheme, "https"):
		host = strings.TrimSuffix(host, ":443")
	}
	return host
}

// partitionOf returns a keyed hash of the Authorization field values: stable
// for one user, unguessable without the secret, and no credential in clear.
func (c *Cache) partitionOf(auth []string) string {
	mac := c.hmacPool.Get().(hash.Hash)
	mac.Reset()
	for _, v := range auth {
		mac.Write([]byte(v))
		mac.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	out := hex.EncodeToString(mac.Sum(sum[:0])[:16])
	c.hmacPool.Put(mac)
	return out
}

// lookup returns the entry stored under key with its derived meta, or nil. A
// backend error or a corrupt entry is reported and becomes a miss.
func (c *Cache) lookup(ctx context.Context, key string) (*Entry, *entryMeta) {
	e, err := c.backend.Get(ctx, key)
	if err != nil {
		c.report("get", key, err)
		return nil, nil
	}
	if e == nil {
		return nil, nil
	}
	if e.Key != key || e.Header == nil || e.StatusCode < 100 || e.StatusCode > 999 {
		c.report("get", key, errCorruptEntry)
		c.remove(ctx, key)
		return nil, nil
	}
	m := e.meta
	if m == nil || m.shared != c.shared {
		m = deriveMeta(e, c.shared)
	}
	return e, m
}

// touch marks key as recently used; a failure only costs recency.
func (c *Cache) touch(ctx context.Context, key string) {
	if err := c.backend.MoveToEnd(ctx, key); err != nil {
		c.report("move", key, err)
	}
}

// store stores e under key, replacing what was there, then evicts the least
// recently used entries until the Cache is within its limits.
func (c *Cache) store(ctx context.Context, key string, e *Entry) {
	var failed bool
	defer c.recovered("store", &failed)
	size := e.Size()
	if size > c.maxBytes {
		return
	}
	if e.meta == nil {
		e.meta = deriveMeta(e, c.shared)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old, err := c.backend.Pop(ctx, key)
	if err != nil {
		c.report("pop", key, err)
		return
	}
	if old != nil {
		c.bytes -= old.Size()
	}
	if err := c.backend.Set(ctx, key, e); err != nil {
		c.report("set", key, err)
		return
	}
	c.bytes += size
	c.stores.Add(1)
	c.evict(ctx)
}

// evict pops the oldest entries while the Cache is over a limit. c.mu is held.
func (c *Cache) evict(ctx context.Context) {
	for {
		n, err := c.backend.Len(ctx)
		if err != nil {
			c.report("len", "", err)
			return
		}
		if n <= c.maxEntries && c.bytes <= c.maxBytes {
			return
		}
		key, old, err := c.backend.PopOldest(ctx)
		if err != nil {
			c.report("pop oldest", key, err)
			return
		}
		if old == nil { // empty: whatever we counted is gone
			c.bytes = 0
			return
		}
		c.bytes -= old.Size()
		c.evictions.Add(1)
	}
}

// remove deletes the entry stored under key, if any.
func (c *Cache) remove(ctx context.Context, key string) {
	var failed bool
	defer c.recovered("remove", &failed)
	c.mu.Lock()
	defer c.mu.Unlock()
	old, err := c.backend.Pop(ctx, key)
	if err != nil {
		c.report("pop", key, err)
		return
	}
	if old != nil {
		c.bytes -= old.Size()
	}
}

// invalidate removes the stored responses for the target URI of an unsafe
// request that succeeded, and for same-origin Location and Content-Location,
// per [RFC 9111 Section 4.4].
//
// [RFC 9111 Section 4.4]: https://www.rfc-editor.org/rfc/rfc9111#section-4.4
func (c *Cache) invalidate(req *http.Request, resp *http.Response) {
	ctx := context.WithoutCancel(req.Context())
	targets := []*url.URL{req.URL}
	for _, field := range []string{"Location", "Content-Location"} {
		ref := resp.Header.Get(field)
		if ref == "" {
			continue
		}
		u, err := req.URL.Parse(ref)
		if err != nil || !sameOrigin(u, req.URL) {
			continue
		}
		targets = append(targets, u)
	}
	host := req.Host
	for _, u := range targets {
		if u != req.URL {
			host = "" // u.Host, already checked to be the same origin
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			c.remove(ctx, c.keyFor(method, u, host, req.Header))
		}
	}
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		normalizeHost(a.Scheme, a.Host) == normalizeHost(b.Scheme, b.Host)
}

// report counts a failure the Cache recovered from and logs it.
func (c *Cache) report(op, key string, err error) {
	c.errors.Add(1)
	c.logger.Warn("acache: cache failure, using the origin", "op", op, "key", key, "err", err)
}

// recovered turns a panic in cache code into a reported failure. Use it as
// `defer c.recovered("op", &ok)`.
func (c *Cache) recovered(op string, failed *bool) {
	if r := recover(); r != nil {
		c.report(op, "", fmt.Errorf("panic: %v", r))
		*failed = true
	}
}

// decision is what the Cache makes of a request before anything is sent.
type decision struct {
	key    string
	reqCC  cacheControl
	bypass bool   // neither serve from nor store into the cache
	fwd    string // why the request goes forward, for Cache-Status
	detail string

	hit   bool
	entry *Entry
	meta  *entryMeta
	age   time.Duration
}

// decide looks req up and says whether a stored response can answer it. A
// failure anywhere in the cache makes it a bypass: the request goes to the
// origin as if there were no cache.
func (c *Cache) decide(req *http.Request) (d decision) {
	failed := false
	defer func() {
		if failed {
			d = decision{bypass: true, fwd: FwdBypass, detail: "cache error"}
		}
	}()
	defer c.recovered("lookup", &failed)

	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return decision{bypass: true, fwd: FwdMethod}
	}
	for _, field := range bypassedRequestFields {
		if _, ok := req.Header[field]; ok {
			return decision{bypass: true, fwd: FwdBypass, detail: field}
		}
	}
	if len(req.Header["Cache-Control"]) > 0 {
		d.reqCC = parseRequestCacheControl(req.Header)
	} else if pragmaNoCache(req.Header) {
		d.reqCC.noCache = true // RFC 9111 Section 5.4
	}
	d.key = c.key(req)
	ctx := req.Context()
	e, m := c.lookup(ctx, d.key)
	switch {
	case e == nil:
		d.fwd = FwdURIMiss
		return d
	case !varyMatches(m.varyNames, e.VaryHeader, req.Header):
		d.fwd = FwdVaryMiss
		return d
	}
	d.age = currentAge(m, c.now())
	if !servable(m, d.reqCC, d.age, c.shared) {
		d.fwd = FwdRequest
		if m.lifetime <= d.age || m.cc.noCache {
			d.fwd = FwdStale
		}
		return d
	}
	c.touch(ctx, d.key)
	d.hit, d.entry, d.meta = true, e, m
	return d
}

// bypassedRequestFields make a request go to the origin untouched: the cache
// does not yet answer range or conditional requests itself, and must not store
// a partial or 304 response as if it were the full one.
var bypassedRequestFields = []string{
	"Range", "If-Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since",
}

// pragmaNoCache reports a Pragma: no-cache request field (RFC 9111 Section 5.4).
func pragmaNoCache(h http.Header) bool {
	for _, line := range h["Pragma"] {
		for member := range strings.SplitSeq(line, ",") {
			if strings.EqualFold(strings.TrimSpace(member), "no-cache") {
				return true
			}
		}
	}
	return false
}

// admission is what the Cache makes of the origin's response: the entry to
// store once the body is complete, if any, and the Cache-Status to report.
type admission struct {
	entry  *Entry
	status CacheStatus
}

// admit applies the storage rules of RFC 9111 Section 3 to resp, the origin's
// answer to req, and invalidates what an unsafe request changed
// (Section 4.4). A failure in it only means nothing is stored.
func (c *Cache) admit(req *http.Request, d *decision, resp *http.Response, requestTime, responseTime time.Time) (a admission) {
	a.status = CacheStatus{Cache: c.name, Fwd: d.fwd, FwdStatus: resp.StatusCode, Detail: d.detail}
	failed := false
	defer func() {
		if failed {
			a = admission{status: CacheStatus{Cache: c.name, Fwd: d.fwd, FwdStatus: resp.StatusCode, Detail: "cache error"}}
		}
	}()
	defer c.recovered("store", &failed)

	if !safeMethod(req.Method) && resp.StatusCode < 400 {
		c.invalidate(req, resp)
	}
	if d.bypass {
		return a
	}
	cc := parseResponseCacheControl(resp.Header)
	if ok, reason := storable(req, d.reqCC, resp, cc, c.shared); !ok {
		a.status.Detail = reason
		return a
	}
	switch {
	case unframed(req, resp) && !c.storeUnframed:
		a.status.Detail = "unframed body"
		return a
	case resp.ContentLength > c.maxBodySize:
		a.status.Detail = "too large"
		return a
	}
	e := &Entry{
		Key:          d.key,
		StatusCode:   resp.StatusCode,
		Proto:        resp.Proto,
		Header:       storedHeader(resp.Header, cc, c.shared),
		RequestTime:  requestTime,
		ResponseTime: responseTime,
	}
	if e.Proto == "" {
		e.Proto = "HTTP/1.1"
	}
	m := deriveMeta(e, c.shared)
	e.VaryHeader = varyHeader(req.Header, m.varyNames)
	ttl := m.lifetime - currentAge(m, responseTime)
	if ttl <= 0 && !hasValidator(e.Header) {
		a.status.Detail = "stale on arrival"
		return a
	}
	e.meta = m
	a.entry = e
	a.status.Stored = true
	a.status.TTL = ttl
	return a
}

// safeMethod reports the methods RFC 9110 Section 9.2.1 defines as safe.
func safeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// hasValidator reports whether a stored response can be revalidated
// (RFC 9111 Section 4.3.1).
func hasValidator(h http.Header) bool {
	return len(h["Etag"]) > 0 || len(h["Last-Modified"]) > 0
}

// unframed reports an HTTP/1 response body that ends when the connection
// closes (neither Content-Length nor chunked): a truncated one looks complete
// (RFC 9112 Section 6.3). A body Go decompressed is checked by gzip itself.
func unframed(req *http.Request, resp *http.Response) bool {
	if resp.ProtoMajor != 1 || resp.ContentLength >= 0 || resp.Uncompressed ||
		req.Method == http.MethodHead || resp.Body == nil || resp.Body == http.NoBody {
		return false
	}
	for _, coding := range resp.TransferEncoding {
		if strings.EqualFold(coding, "chunked") {
			return false
		}
	}
	return true
}
