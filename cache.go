package acache

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
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
// several Transports. The zero value is ready to use, as NewCache(nil): a
// private in-memory cache with the default limits. The read-only methods of
// a nil *Cache return zero values.
type Cache struct {
	// setupOnce runs setup: in NewCache, or at the first use of a zero Cache.
	setupOnce sync.Once
	// disabled holds why the backend can store nothing (ErrNilBackend), or
	// nil: every request then bypasses the Cache.
	disabled atomic.Pointer[error]
	// addedBelowOnce logs, once, that an auth transport inside the cache
	// keeps responses from being stored, and how to fix it.
	addedBelowOnce sync.Once

	// config is what the options set (options.go), read-only after setup.
	config

	backend  Backend
	lru      *LRU      // the backend, when it is the in-memory LRU
	peeker   Peeker    // the backend, when it answers some Gets from memory
	sizer    Sizer     // the backend, if it counts its own bytes
	hmacPool sync.Pool // of *partitionHasher keyed with the partition secret
	// hitMemberCache keeps the Cache-Status members of hits by ttl (serve.go).
	hitMemberCache [hitMembers]atomic.Pointer[string]

	// direct reports the in-memory LRU, which never blocks: it is called in
	// the caller's goroutine, without deadlines.
	direct bool
	// breaker skips any other backend after failures in a row (breaker.go);
	// nil for the LRU. backend is then the breakerBackend around it.
	breaker *breaker
	// jobs holds a token for each backend operation running off its
	// caller's goroutine (see detached).
	jobs chan struct{}
	// keys serialises stores and removals per key, so that usage counts
	// the entries the backend holds.
	keys keyLocks
	// usage counts the stored entries and the stores under way against
	// the limits; inFlight the bytes that bodies being read hold, reserved
	// against the same byte limit.
	usage    usage
	inFlight atomic.Int64
	// inFlight registers the requests in flight to the origin, which
	// requests for the same key wait for (collapse.go).
	flights flights
	// touches queues the recency updates of hits, sent in the background.
	touches touchQueue
	// background runs the refreshes of stale-while-revalidate.
	background backgroundWork
	// decoded remembers what was derived from entries a backend decoded;
	// derivations counts the derivations it did not spare.
	decoded     derivedMemo
	derivations atomic.Int64

	// hits is added to by every hit, from every core at once: it is striped.
	hits                                                   stripedCounter
	misses, stores, evictions, errors, refusals, collapsed atomic.Int64
	// observed holds the counters of Stats beyond these (stats.go).
	observed observations
}

// NewCache returns a Cache over backend, configured by opts. A nil backend
// means a new [LRU].
//
// A backend that is a nil pointer (a nil *LRU, or a *diskcache.Store that
// was never opened) cannot store anything: the Cache logs that at Error
// once, and every request then goes to the origin as if there were no
// cache, with the Cache-Status detail "nil backend".
func NewCache(backend Backend, opts ...Option) *Cache {
	c := new(Cache)
	c.setupOnce.Do(func() { c.setup(backend, opts) })
	return c
}

// ready makes a zero Cache one that NewCache(nil) returns, the first time it
// is used; for a Cache that NewCache made, it does nothing.
func (c *Cache) ready() {
	c.setupOnce.Do(func() { c.setup(nil, nil) })
}

// setup configures c over backend with opts, as NewCache describes.
func (c *Cache) setup(backend Backend, opts []Option) {
	if backend == nil {
		backend = NewLRU()
	}
	c.config = newConfig(opts)
	c.backend = backend
	c.jobs = make(chan struct{}, maxBackendJobs)
	c.lru, c.direct = backend.(*LRU)
	c.sizer, _ = backend.(Sizer)
	if !c.direct && !nilPointer(backend) {
		// Any backend but the in-memory LRU can fail: it is called behind
		// a circuit breaker, but for what it answers from memory (Peek).
		c.peeker, _ = backend.(Peeker)
		c.breaker = newBreaker()
		guarded := &breakerBackend{b: c.breaker, inner: backend}
		c.backend = guarded
		if c.sizer != nil {
			guarded.sizer, c.sizer = c.sizer, guarded
		}
	}
	c.background.slots = make(chan struct{}, maxBackgroundRefreshes)
	c.background.closing, c.background.stop = context.WithCancel(context.Background())
	c.setPartitionSecret(c.secret)
	if nilPointer(backend) {
		c.disable(fmt.Errorf("%w: NewCache was given a nil %T", ErrNilBackend, backend))
	}
}

// ErrNilBackend reports a Backend that can store nothing because it was made
// from nil: a nil pointer, or a backend over a nil client. A backend whose
// methods return errors wrapping it tells the Cache so; the Cache then logs
// it at Error once and sends every request to the origin, as if there were
// no cache (Cache-Status detail "nil backend").
var ErrNilBackend = errors.New("acache: nil backend")

// nilPointer reports a Backend that is a nil pointer (or another nil
// reference) inside a non-nil interface: calling its methods would panic.
func nilPointer(b Backend) bool {
	v := reflect.ValueOf(b)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// disable makes every request bypass the Cache from now on, because its
// backend can store nothing (err), and logs why at Error, once.
func (c *Cache) disable(err error) {
	if c.disabled.CompareAndSwap(nil, &err) {
		c.logger.Error("acache: the backend can store nothing; every request goes to the origin", "err", err)
	}
}

func (c *Cache) setPartitionSecret(secret []byte) {
	secret = append([]byte(nil), secret...)
	c.hmacPool = sync.Pool{New: func() any { return &partitionHasher{mac: hmac.New(sha256.New, secret)} }}
}

// key returns the cache key of req, or "" if req must not be served from or
// stored in the cache. See [Cache.keyFor].
func (c *Cache) key(req *http.Request) string {
	return c.keyFor(req.Method, req.URL, req.Host, c.partition(req))
}

// keyAndEntry returns the key of req, as key does, and over the in-memory
// LRU the entry stored under it, with the LRU's reference to it for the
// hit's touch: the key is then the one the LRU holds, and a hit allocates no
// key. entry is nil when there is none, or when the
// backend is another one (find then looks it up).
func (c *Cache) keyAndEntry(req *http.Request) (key string, entry *Entry, ref lruRef) {
	var buf [256]byte
	b := appendKey(buf[:0], req.Method, req.URL, req.Host, "")
	if b == nil {
		return "", nil, lruRef{}
	}
	b = c.appendPartition(b, req)
	if c.lru != nil {
		if key, entry, ref = c.lru.getBytes(b); entry != nil {
			return key, entry, ref
		}
	}
	return string(b), nil, lruRef{}
}

// partition returns the partition part of req's key: a keyed hash of its
// Authorization field and of what the Cache's partition function
// ([WithPartitionBy]) returns for it, or "" when both are empty.
//
// A shared cache leaves Authorization out: it stores a response to a request
// with Authorization only when the response says that any user may reuse it
// (public, s-maxage or must-revalidate, RFC 9111 Section 3.5), and then
// serves it to other users, as the origin allowed. A private cache keeps
// each user's responses apart.
func (c *Cache) partition(req *http.Request) string {
	if c.partitionBy == nil && (c.shared || len(req.Header["Authorization"]) == 0) {
		return "" // the common case, inlined
	}
	return c.partitionOfRequest(req)
}

// partitionOfRequest is partition when there may be one.
func (c *Cache) partitionOfRequest(req *http.Request) string {
	var buf [len(partitionTag) + 32]byte
	return string(c.appendPartition(buf[:0], req))
}

// appendPartition appends the partition part of req's key to dst (see
// partition), and returns the result.
func (c *Cache) appendPartition(dst []byte, req *http.Request) []byte {
	if c.partitionBy == nil && (c.shared || len(req.Header["Authorization"]) == 0) {
		return dst
	}
	var value string
	if c.partitionBy != nil {
		value = c.partitionBy(req)
	}
	auth := req.Header["Authorization"]
	if c.shared {
		auth = nil // Section 3.5: what a shared cache stores, any user may reuse
	}
	if len(auth) == 0 && value == "" {
		return dst
	}
	return c.appendPartitionOf(dst, auth, value)
}

// keyFor returns the cache key of a request with this method, URL, Host field
// and partition (see [Cache.partition]), per [RFC 9111 Section 2]:
//
//	METHOD SP scheme "://" host path ["?" query] [NUL "host=" vhost] [NUL "auth=" hmac]
//
// host is the host the URL names, which is the one contacted, lower-cased and
// without the scheme's default port. When the Host field names another host
// (a virtual host on an address, or an attempt to poison another site's
// entries), it is added as vhost, so a response is only ever found again
// under both. The partition is a keyed hash of the Authorization field, and
// of the Cache's own partition value, that keeps users apart.
//
// No part can spell another: the method is a token, the scheme a scheme, the
// hosts hold only the bytes of a host (no "/"), the path and query no byte
// below 0x21 and no DEL, and the tagged parts start with NUL. A request whose
// URL breaks these rules, or has no host, gets "": it is not cached.
//
// [RFC 9111 Section 2]: https://www.rfc-editor.org/rfc/rfc9111#section-2
func (c *Cache) keyFor(method string, u *url.URL, host, partition string) string {
	var buf [256]byte
	key := appendKey(buf[:0], method, u, host, partition)
	if key == nil {
		return ""
	}
	return string(key)
}

// appendKey appends to dst the key keyFor returns, and returns the result,
// or nil when there is none. With dst on the caller's stack, a key that is
// only looked up is never allocated.
func appendKey(dst []byte, method string, u *url.URL, host, partition string) []byte {
	scheme := u.Scheme
	switch scheme {
	case "http", "https": // the common case, with nothing to check
	case "":
		scheme = "http"
	default:
		if scheme = strings.ToLower(scheme); !validScheme(scheme) {
			return nil
		}
	}
	contacted := normalizeHost(scheme, u.Host)
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	mark := "" // "?" before the query
	if u.ForceQuery || u.RawQuery != "" {
		mark = "?"
	}
	if contacted == "" || !httpsyntax.ValidToken(method) || !httpsyntax.ValidHost(contacted) ||
		!keySafe(path) || !keySafe(u.RawQuery) {
		return nil
	}
	vhost := ""
	if host != "" && host != u.Host {
		if named := normalizeHost(scheme, host); named != contacted {
			if !httpsyntax.ValidHost(named) {
				return nil
			}
			vhost = named
		}
	}
	dst = append(append(append(dst, method...), ' '), scheme...)
	dst = append(append(append(dst, "://"...), contacted...), path...)
	dst = append(append(dst, mark...), u.RawQuery...)
	if vhost != "" {
		dst = append(append(dst, "\x00host="...), vhost...)
	}
	return append(dst, partition...)
}

// validScheme reports a URI scheme ([RFC 3986 Section 3.1]): a letter, then
// letters, digits, "+", "-" and ".".
//
// [RFC 3986 Section 3.1]: https://www.rfc-editor.org/rfc/rfc3986#section-3.1
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// keySafe reports whether s may stand in the URL part of a key: no control
// character, space or DEL, so no NUL that would start a tagged part.
func keySafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] == 0x7f {
			return false
		}
	}
	return true
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
	out [len(partitionTag) + 32]byte
}

// partitionTag starts the partition part of a key.
const partitionTag = "\x00auth="

// partitionOf returns the partition part of a key for the Authorization field
// values auth and the partition value of [WithPartitionBy]: partitionTag and
// a keyed hash of them, stable for one user, unguessable without the secret,
// and no credential in clear. Each field value ends with a NUL, and the
// partition value, when there is one, follows a 0x02 byte, which no valid
// field value holds: no two inputs hash the same bytes.
func (c *Cache) partitionOf(auth []string, value string) string {
	return string(c.appendPartitionOf(nil, auth, value))
}

// appendPartitionOf appends partitionOf(auth, value) to dst, and returns the
// result.
func (c *Cache) appendPartitionOf(dst []byte, auth []string, value string) []byte {
	p := c.hmacPool.Get().(*partitionHasher)
	defer c.hmacPool.Put(p)
	p.in = p.in[:0]
	for _, v := range auth {
		p.in = append(append(p.in, v...), 0)
	}
	if value != "" {
		p.in = append(append(p.in, 2), value...)
	}
	p.mac.Reset()
	p.mac.Write(p.in)
	sum := p.mac.Sum(p.sum[:0])
	n := copy(p.out[:], partitionTag)
	hex.Encode(p.out[n:], sum[:16])
	return append(dst, p.out[:]...)
}

// credentialsOf returns a keyed hash of the Authorization and Cookie fields
// of a request header h, which a response marked private is tied to in a
// private cache (see [Entry.Credentials]). The two lists are separated by a
// byte that no valid field value holds.
func (c *Cache) credentialsOf(h http.Header) string {
	p := c.hmacPool.Get().(*partitionHasher)
	defer c.hmacPool.Put(p)
	p.in = p.in[:0]
	for _, v := range h["Authorization"] {
		p.in = append(append(p.in, v...), 0)
	}
	p.in = append(p.in, 1)
	for _, v := range h["Cookie"] {
		p.in = append(append(p.in, v...), 0)
	}
	p.mac.Reset()
	p.mac.Write(p.in)
	return hex.EncodeToString(p.mac.Sum(p.sum[:0])[:16])
}

// credentialField reports the request fields that carry credentials
// (RFC 9110 Section 11.6.2, RFC 6265 Section 5.4, RFC 9110 Section 11.7.2).
// When a response varies on one (RFC 9111 Section 4.1), the entry keeps a
// keyed hash of its value, never the value: see varyDigest.
func credentialField(name string) bool {
	switch name {
	case "Authorization", "Cookie", "Proxy-Authorization":
		return true
	}
	return false
}

// varyDigestSize is the length of a varyDigest: 16 bytes of HMAC-SHA-256, in
// hex.
const varyDigestSize = 32

// varyDigest returns what an entry keeps of the values of the credential
// field name that its response varies on: a keyed hash, with the partition
// secret, of the values in the form varyMatches compares. It is stable for
// one secret (WithPartitionSecret) and tells nothing of the credentials
// without it.
func (c *Cache) varyDigest(name string, values []string) string {
	var out [varyDigestSize]byte
	c.appendVaryDigest(out[:0], name, values)
	return string(out[:])
}

// appendVaryDigest appends varyDigest(name, values) to dst.
func (c *Cache) appendVaryDigest(dst []byte, name string, values []string) []byte {
	p := c.hmacPool.Get().(*partitionHasher)
	defer c.hmacPool.Put(p)
	p.in = append(append(append(p.in[:0], "vary\x00"...), name...), 0)
	if len(values) == 1 && !strings.Contains(values[0], ",") {
		p.in = append(p.in, httpsyntax.TrimOWS(values[0])...) // normalizedList, without allocating
	} else {
		p.in = append(p.in, policy.NormalizedList(values)...)
	}
	p.mac.Reset()
	p.mac.Write(p.in)
	sum := p.mac.Sum(p.sum[:0])
	var hexed [varyDigestSize]byte
	hex.Encode(hexed[:], sum[:varyDigestSize/2])
	return append(dst, hexed[:]...)
}

// storedVaryHeader returns the request fields of req that the names of a
// response's Vary select, as the entry keeps them (RFC 9111 Section 4.1):
// as sent, but for credentials, kept as a keyed hash.
func (c *Cache) storedVaryHeader(req http.Header, names []string) http.Header {
	h := policy.VaryHeader(req, names)
	for name, values := range h {
		if credentialField(name) {
			h[name] = []string{c.varyDigest(name, values)}
		}
	}
	return h
}

// unmatchable reports a stored response that no request selects: a
// credential field of its VaryHeader has no value (see [Entry.UnmarshalBinary]
// for the encodings before version 3).
func unmatchable(e *Entry) bool {
	for name, values := range e.VaryHeader {
		if credentialField(name) && len(values) != 1 {
			return true
		}
	}
	return false
}

// variantMatches reports whether a request with header req selects a stored
// response whose Vary names names and whose entry keeps stored (see
// storedVaryHeader), as varyMatches compares them: a credential field by the
// keyed hash of the request's value.
func (c *Cache) variantMatches(names []string, stored, req http.Header) bool {
	for _, name := range names {
		storedValues, storedOK := stored[name]
		reqValues, reqOK := req[name]
		switch {
		case storedOK != reqOK:
			return false
		case !storedOK:
		case credentialField(name):
			var digest [varyDigestSize]byte
			if len(storedValues) != 1 || string(c.appendVaryDigest(digest[:0], name, reqValues)) != storedValues[0] {
				return false
			}
		case policy.SelectingValue(name, storedValues) != policy.SelectingValue(name, reqValues):
			return false
		}
	}
	return true
}

// lookup returns the entry stored under key, or nil. A backend error, a
// backend that does not answer within the backend timeout or before ctx is
// done, and an entry that fails validation are reported and become a miss;
// a bad entry is removed. got, when not nil, is what the LRU already
// returned for key (keyAndEntry), which it checks instead.
func (c *Cache) lookup(ctx context.Context, b *budget, key string, got *Entry) *Entry {
	e := got
	var err error
	switch {
	case got != nil:
	case c.direct:
		e, err = c.backend.Get(ctx, key)
	default:
		if c.peeker != nil {
			e = c.peeker.Peek(key) // from memory, on this goroutine
		}
		if e == nil {
			var ok bool
			if e, err, ok = detachedCall(c, ctx, "get", b, func(ctx context.Context) (*Entry, error) {
				return c.backend.Get(ctx, key)
			}); !ok {
				return nil
			}
		}
	}
	if err != nil {
		c.report("get", key, err)
		if errors.Is(err, ErrCorruptEntry) { // bytes that do not decode: drop them
			c.remove(ctx, b, key)
		}
		return nil
	}
	if e == nil {
		return nil
	}
	if e.Key != key {
		c.report("get", key, fmt.Errorf("%w: stored under %q", ErrCorruptEntry, e.Key))
		c.remove(ctx, b, key)
		return nil
	}
	if !c.derivedHere(e) {
		// Not an entry this Cache stored in this process: a backend decoded
		// it, or it was changed, or another Cache stored it. Trust nothing.
		if err := c.validEntry(e); err != nil {
			c.report("get", key, err)
			c.remove(ctx, b, key)
			return nil
		}
	}
	if e.StatusCode == 0 {
		return nil // an index of partitions, no response of its own
	}
	return e
}

// responseCacheControl returns the directives that govern a response in this
// Cache: those of the first targeted field it has (RFC 9213), else those of
// Cache-Control.
func (c *Cache) responseCacheControl(h http.Header) httpsyntax.CacheControl {
	return policy.ResponseDirectives(h, c.targets)
}

// touch marks key as recently used; a failure only costs recency. A hit
// does not wait for it on a backend other than the LRU: the key joins a
// queue that one goroutine sends to the backend (touch.go), so that a hit
// on a networked or disk backend costs one call (Get), not two.
//
// On the LRU, a hit takes none of its locks but one of its shards' (see
// [LRU]): the hit is buffered there, through ref when the lookup of the key
// gave one.
func (c *Cache) touch(key string, ref lruRef) {
	switch {
	case c.lru != nil && ref.node != nil:
		c.lru.touchRef(ref)
	case c.lru != nil:
		c.lru.touch(key)
	default:
		c.touches.add(c, key)
	}
}

// store stores e under key, replacing what was there, then evicts the least
// recently used entries until the Cache is within its limits. It waits for
// the backend for at most the backend timeout and never after ctx is done;
// the store goes on in the background after that, under its own deadlines.
func (c *Cache) store(ctx context.Context, b *budget, key string, e *Entry) {
	c.storeThen(ctx, b, key, e, nil)
}

// storeThen is store, and calls then (when not nil) once the store has
// ended, stored or not: after store returned, when the store outlasted the
// wait.
func (c *Cache) storeThen(ctx context.Context, b *budget, key string, e *Entry, then func()) {
	var once sync.Once
	finish := func() {
		if then != nil {
			once.Do(then)
		}
	}
	var failed bool
	defer func() {
		if failed {
			finish()
		}
	}()
	defer c.recovered("store", &failed)
	if e.Size() > c.maxBytes {
		finish()
		return
	}
	if e.meta == nil {
		e.meta = c.metaOf(e)
	}
	if c.direct {
		c.storeNow(ctx, key, e)
		finish()
		return
	}
	job := context.WithoutCancel(ctx)
	var started atomic.Bool
	ran := c.detached(ctx, "store", b, func() {
		started.Store(true)
		defer finish()
		c.storeNow(job, key, e)
	})
	if !ran && !started.Load() {
		finish() // not started (the budget spent, the breaker open): nothing to wait for
	}
}

// storeNow is store in the goroutine that runs it: each backend call under
// a deadline of its own. Room is made before the entry is set, so the Cache
// never holds more than its limits, even for a moment; when it cannot evict,
// it does not store.
func (c *Cache) storeNow(ctx context.Context, key string, e *Entry) {
	if uri, partitioned := splitPartition(key); partitioned {
		// Stores of every partition of a URI take the URI's lock first,
		// then their own: the index at the URI lists each of them.
		unlockURI := c.keys.lock(uri)
		defer unlockURI()
		if !c.listPartition(ctx, uri, key) {
			return
		}
	}
	unlock := c.keys.lock(key)
	defer unlock()
	old, ok := c.pop(ctx, key)
	if !ok {
		return
	}
	if old != nil {
		e.Partitions = old.Partitions // the index belongs to the key
		e.Variants = c.keptVariants(e, old)
		if e.Size() > c.maxBytes {
			e.Variants = nil
		}
	}
	if !c.put(ctx, key, e) {
		c.dropPartitions(ctx, e.Partitions) // unlisted, they could not be invalidated
	}
}

// put makes room for e and sets it under key, reporting whether it did.
func (c *Cache) put(ctx context.Context, key string, e *Entry) bool {
	size := e.Size()
	if size > c.maxBytes || !c.makeRoom(ctx, key, size) {
		return false
	}
	callCtx, cancel := c.callContext(ctx, "set")
	err := c.backend.Set(callCtx, key, e)
	cancel()
	c.usage.settle(size, err == nil)
	if err != nil {
		c.report("set", key, err)
		return false
	}
	c.stores.Add(1)
	return true
}

// maxPartitions bounds how many partitions (users) one URI keeps responses
// for; past it, the least recently listed one is removed.
const maxPartitions = 256

// listPartition records key, the key of a response stored under a partition
// of the URI key uri, in the index at uri ([Entry.Partitions]), so that an
// invalidation of the URI reaches it (RFC 9111 Section 4.4). The index is the
// entry stored for the URI itself, or a stub holding only the index. The
// caller holds uri's lock. It reports false, storing nothing, when the
// backend failed; what the index listed is then removed with it.
func (c *Cache) listPartition(ctx context.Context, uri, key string) bool {
	callCtx, cancel := c.callContext(ctx, "get")
	index, err := c.backend.Get(callCtx, uri)
	cancel()
	if err != nil {
		c.report("get", uri, err)
		return false
	}
	if index != nil && slices.Contains(index.Partitions, key) {
		c.touch(uri, lruRef{}) // recent, so that the store of key does not evict it
		return true
	}
	old, ok := c.pop(ctx, uri)
	if !ok {
		return false
	}
	next := &Entry{Key: uri} // a stub: no response of its own
	if old != nil && old.Key == uri {
		copied := *old
		next = &copied
	} else if old != nil {
		c.report("pop", uri, fmt.Errorf("%w: stored under %q", ErrCorruptEntry, old.Key))
	}
	next.Partitions = append(slices.Clip(next.Partitions), key)
	if over := len(next.Partitions) - maxPartitions; over > 0 {
		c.dropPartitions(ctx, next.Partitions[:over])
		next.Partitions = next.Partitions[over:]
	}
	if !c.put(ctx, uri, next) {
		c.dropPartitions(ctx, next.Partitions)
		return false
	}
	return true
}

// dropPartitions removes the responses stored under the partition keys
// keys. The caller holds the lock of their URI, which every store of a
// partition takes first.
func (c *Cache) dropPartitions(ctx context.Context, keys []string) {
	for _, key := range keys {
		c.pop(ctx, key)
	}
}

// splitPartition returns the URI key of a partition key, and whether key has
// a partition at all.
func splitPartition(key string) (uri string, partitioned bool) {
	if i := strings.Index(key, partitionTag); i >= 0 {
		return key[:i], true
	}
	return key, false
}

// maxVariants bounds how many responses with different Vary selections the
// Cache keeps for one URL.
const maxVariants = 8

// keptVariants returns the variants of old, the entry e replaces, that e does
// not replace (RFC 9111 Section 4.1): those that vary on the same request
// fields as e with other values. A response whose Vary differs from e's is
// dropped: the origin has changed what it varies on.
func (c *Cache) keptVariants(e, old *Entry) []*Entry {
	names := c.metaOf(e).VaryNames
	if len(names) == 0 && e.Credentials == "" {
		return nil
	}
	var kept []*Entry
	for v := range old.responses() {
		if len(kept) == maxVariants-1 {
			break
		}
		if v.Key != e.Key {
			continue
		}
		if unmatchable(v) {
			continue // an entry of an older encoding whose credentials were dropped
		}
		vNames := c.metaOf(v).VaryNames
		otherUser := v.Credentials != "" && e.Credentials != "" && v.Credentials != e.Credentials
		if slices.Equal(vNames, names) && (otherUser || !policy.VaryMatches(names, v.VaryHeader, e.VaryHeader)) {
			if len(v.Variants) > 0 || len(v.Partitions) > 0 {
				flat := *v // a variant has neither variants nor an index
				flat.Variants, flat.Partitions = nil, nil
				v = &flat
			}
			kept = append(kept, v)
		}
	}
	return kept
}

// makeRoom evicts the least recently used entries until one more entry of
// size bytes, to be stored under key, fits within the limits, counting the
// entries other stores are setting, and reserves its place. It reports
// false, reserving nothing, when the backend failed first, when the entry
// does not fit in an empty backend beside the stores under way, or when it
// evicted the index that lists key: the entry would land unlisted, out of
// reach of an invalidation of its URI (RFC 9111 Section 4.4).
func (c *Cache) makeRoom(ctx context.Context, key string, size int64) bool {
	for {
		n, ok := c.storedEntries(ctx)
		if !ok {
			return false
		}
		if c.usage.reserve(n, size, c.maxEntries, c.maxBytes) {
			return true
		}
		callCtx, cancel := c.callContext(ctx, "pop oldest")
		evicted, old, err := c.backend.PopOldest(callCtx)
		cancel()
		if err != nil {
			c.report("pop oldest", evicted, err)
			return false
		}
		if old == nil { // empty: whatever was counted of stored entries is gone
			c.usage.emptied()
			return c.usage.reserve(0, size, c.maxEntries, c.maxBytes)
		}
		c.usage.removed(old.Size())
		c.evictions.Add(1)
		// Evicting a URI's index evicts the responses it lists, which an
		// invalidation could no longer reach; the one being stored with
		// them. (A store of this URI by another Cache over the backend,
		// under way at this moment, may still land unlisted.)
		c.dropPartitions(ctx, old.Partitions)
		if slices.Contains(old.Partitions, key) {
			return false
		}
	}
}

// storedEntries returns the number of entries the backend holds. From a
// backend that counts its bytes ([Sizer]), it also takes their size, which
// covers what other Caches, processes and earlier runs stored. ok is false
// when the backend failed.
func (c *Cache) storedEntries(ctx context.Context) (n int, ok bool) {
	op := "len"
	if c.sizer != nil {
		op = "size"
	}
	callCtx, cancel := c.callContext(ctx, op)
	defer cancel()
	if c.sizer == nil {
		n, err := c.backend.Len(callCtx)
		if err != nil {
			c.report("len", "", err)
			return 0, false
		}
		return n, true
	}
	n, stored, err := c.sizer.Size(callCtx)
	if err != nil {
		c.report("size", "", err)
		return 0, false
	}
	c.usage.observed(stored)
	return n, true
}

// usage is what a Cache counts against its limits: the bytes of the entries
// it stored, and the places reserved by stores under way. Its mutex is held
// for arithmetic only, never across a backend call.
type usage struct {
	mu              sync.Mutex
	bytes           int64 // of the entries stored
	reservedBytes   int64 // of the entries being set
	reservedEntries int   // entries being set
}

// reserve reserves a place for an entry of size bytes if it fits beside n
// stored entries and the places already reserved.
func (u *usage) reserve(n int, size int64, maxEntries int, maxBytes int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n+u.reservedEntries+1 > maxEntries || u.bytes+u.reservedBytes+size > maxBytes {
		return false
	}
	u.reservedEntries++
	u.reservedBytes += size
	return true
}

// settle releases a reservation of size bytes, counting them as stored if
// the entry was set.
func (u *usage) settle(size int64, stored bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reservedEntries--
	u.reservedBytes -= size
	if stored {
		u.bytes += size
	}
}

// removed uncounts an entry of size bytes that left the backend. The count
// never goes below zero: a store whose Set reported an error may have landed
// all the same, uncounted.
func (u *usage) removed(size int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bytes = max(0, u.bytes-size)
}

// observed sets the bytes stored to what the backend reported ([Sizer]).
func (u *usage) observed(stored int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bytes = max(0, stored)
}

// emptied records that the backend holds no entry.
func (u *usage) emptied() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bytes = 0
}

// stored returns the bytes of the entries stored.
func (u *usage) stored() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.bytes
}

// reserveInFlight reserves n bytes for a body being read, against the byte
// limit that all bodies in flight share; it reports false when they would
// pass it.
func (c *Cache) reserveInFlight(n int64) bool {
	for {
		held := c.inFlight.Load()
		if held+n > c.maxBytes {
			return false
		}
		if c.inFlight.CompareAndSwap(held, held+n) {
			return true
		}
	}
}

// remove deletes the entry stored under key, if any, and the responses its
// index lists (for a URI key, those of every partition), waiting for the
// backend as store does.
func (c *Cache) remove(ctx context.Context, b *budget, key string) {
	var failed bool
	defer c.recovered("remove", &failed)
	if key == "" {
		return
	}
	removeNow := func(ctx context.Context) {
		unlock := c.keys.lock(key)
		defer unlock()
		if old, _ := c.pop(ctx, key); old != nil {
			c.dropPartitions(ctx, old.Partitions)
		}
	}
	if c.direct {
		removeNow(ctx)
		return
	}
	job := context.WithoutCancel(ctx)
	c.detached(ctx, "remove", b, func() { removeNow(job) })
}

// pop removes the entry stored under key and its bytes from the count. ok
// is false if the backend failed. The caller holds the key's lock.
func (c *Cache) pop(ctx context.Context, key string) (old *Entry, ok bool) {
	callCtx, cancel := c.callContext(ctx, "pop")
	defer cancel()
	old, err := c.backend.Pop(callCtx, key)
	if err != nil {
		c.report("pop", key, err)
		return nil, false
	}
	if old != nil {
		c.usage.removed(old.Size())
	}
	return old, true
}

// invalidate removes the stored responses for the target URI of an unsafe
// request that succeeded, and for same-origin Location and Content-Location,
// per [RFC 9111 Section 4.4].
//
// [RFC 9111 Section 4.4]: https://www.rfc-editor.org/rfc/rfc9111#section-4.4
func (c *Cache) invalidate(req *http.Request, b *budget, resp *http.Response) {
	ctx := req.Context()
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
			c.remove(ctx, b, c.keyFor(method, u, host, ""))
		}
	}
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		normalizeHost(a.Scheme, a.Host) == normalizeHost(b.Scheme, b.Host)
}
