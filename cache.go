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
	"slices"
	"strconv"
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
// A Cache is safe for concurrent use by multiple goroutines, and may serve
// several Transports. The zero value is not usable: create one with
// [NewCache] (a Transport whose Cache field is nil makes its own).
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
	hmacPool      sync.Pool // of *partitionHasher keyed with the partition secret
	hitPrefix     string    // name + "; hit; ttl="
	targets       []string  // targeted Cache-Control fields, by precedence (RFC 9213)

	// mu serialises stores, invalidations and evictions so that bytes stays
	// the sum of the sizes of the entries this Cache stored. Hits do not take it.
	mu    sync.Mutex
	bytes int64

	hits, misses, stores, evictions, errors atomic.Int64
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
	if c.shared {
		c.targets = append(c.targets, "Cdn-Cache-Control")
	}
	c.hitPrefix = c.name + "; hit; ttl="
	return c
}

func (c *Cache) setPartitionSecret(secret []byte) {
	secret = append([]byte(nil), secret...)
	c.hmacPool = sync.Pool{New: func() any { return &partitionHasher{mac: hmac.New(sha256.New, secret)} }}
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
		partition = c.partitionOf(auth)
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

// partitionHasher computes partitions without allocating: the HMAC and the
// buffers it writes into travel together through the pool.
type partitionHasher struct {
	mac hash.Hash
	in  []byte // the field values, each followed by a NUL
	sum [sha256.Size]byte
	out [len(" auth=") + 32]byte
}

// partitionOf returns the partition part of a key for the Authorization field
// values auth: " auth=" and a keyed hash of them, stable for one user,
// unguessable without the secret, and no credential in clear.
func (c *Cache) partitionOf(auth []string) string {
	p := c.hmacPool.Get().(*partitionHasher)
	defer c.hmacPool.Put(p)
	p.in = p.in[:0]
	for _, v := range auth {
		p.in = append(append(p.in, v...), 0)
	}
	p.mac.Reset()
	p.mac.Write(p.in)
	sum := p.mac.Sum(p.sum[:0])
	n := copy(p.out[:], " auth=")
	hex.Encode(p.out[n:], sum[:16])
	return string(p.out[:])
}

// lookup returns the entry stored under key, or nil. A backend error or a
// corrupt entry is reported and becomes a miss.
func (c *Cache) lookup(ctx context.Context, key string) *Entry {
	e, err := c.backend.Get(ctx, key)
	if err != nil {
		c.report("get", key, err)
		return nil
	}
	if e == nil {
		return nil
	}
	if e.Key != key || e.Header == nil || e.StatusCode < 100 || e.StatusCode > 999 {
		c.report("get", key, errCorruptEntry)
		c.remove(ctx, key)
		return nil
	}
	return e
}

// metaOf returns what the Cache derives from e: computed when e was stored,
// or now for an entry a backend decoded.
func (c *Cache) metaOf(e *Entry) *entryMeta {
	if m := e.meta; m != nil && m.shared == c.shared {
		return m
	}
	return deriveMeta(e, c.shared, c.targets)
}

// responseCacheControl returns the directives that govern a response in this
// Cache: those of the first targeted field it has (RFC 9213), else those of
// Cache-Control.
func (c *Cache) responseCacheControl(h http.Header) cacheControl {
	return responseDirectives(h, c.targets)
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
		e.meta = c.metaOf(e)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.popLocked(ctx, key)
	if !ok {
		return
	}
	if old != nil {
		e.Variants = c.keptVariants(e, old)
		if size = e.Size(); size > c.maxBytes {
			e.Variants, size = nil, e.Size()
		}
	}
	if err := c.backend.Set(ctx, key, e); err != nil {
		c.report("set", key, err)
		return
	}
	c.bytes += size
	c.stores.Add(1)
	c.evict(ctx)
}

// maxVariants bounds how many responses with different Vary selections the
// Cache keeps for one URL.
const maxVariants = 8

// keptVariants returns the variants of old, the entry e replaces, that e does
// not replace (RFC 9111 Section 4.1): those that vary on the same request
// fields as e with other values. A response whose Vary differs from e's is
// dropped: the origin has changed what it varies on.
func (c *Cache) keptVariants(e, old *Entry) []*Entry {
	names := c.metaOf(e).varyNames
	if len(names) == 0 {
		return nil
	}
	var kept []*Entry
	for i := -1; i < len(old.Variants) && len(kept) < maxVariants-1; i++ {
		v := old
		if i >= 0 {
			v = old.Variants[i]
		}
		if v == nil || v.Key != e.Key {
			continue
		}
		vNames := c.metaOf(v).varyNames
		if slices.Equal(vNames, names) && !varyMatches(names, v.VaryHeader, e.VaryHeader) {
			if len(v.Variants) > 0 {
				flat := *v
				flat.Variants = nil
				v = &flat
			}
			kept = append(kept, v)
		}
	}
	return kept
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
	c.popLocked(ctx, key)
}

// popLocked removes the entry stored under key and its bytes from the count.
// ok is false if the backend failed. c.mu is held.
func (c *Cache) popLocked(ctx context.Context, key string) (old *Entry, ok bool) {
	old, err := c.backend.Pop(ctx, key)
	if err != nil {
		c.report("pop", key, err)
		return nil, false
	}
	if old != nil {
		c.bytes -= old.Size()
	}
	return old, true
}

// invalidate removes the stored responses for the target URI of an unsafe
// request that succeeded, and for same-origin Location and Content-Location,
// per [RFC 9111 Section 4.4].
//
// [RFC 9111 Section 4.4]: https://www.rfc-editor.org/rfc/rfc9111#section-4.4
func (c *Cache) invalidate(req *http.Request, resp *http.Response) {
	ctx := contextWithoutCancel(req)
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

// contextWithoutCancel returns req's context without its cancellation: a
// store that starts while the caller's request is live must finish even if
// the caller moves on.
func contextWithoutCancel(req *http.Request) context.Context {
	return context.WithoutCancel(req.Context())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

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
