package acache

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"time"
)

// Option configures a [Cache] created by [NewCache]. Options are applied by
// NewCache alone: a Cache in use cannot be reconfigured, so that no request
// sees its limits or mode change under it. The zero Option does nothing.
type Option struct {
	apply func(*config)
}

// WithMaxEntries sets the most entries the Cache keeps; n <= 0 means
// the default, 10,000.
func WithMaxEntries(n int) Option {
	return Option{func(c *config) {
		if n > 0 {
			c.maxEntries = n
		}
	}}
}

// WithMaxBytes sets the most bytes (as counted by [Entry.Size]) the Cache
// keeps; n <= 0 means the default, 64 MiB.
func WithMaxBytes(n int64) Option {
	return Option{func(c *config) {
		if n > 0 {
			c.maxBytes = n
		}
	}}
}

// WithMaxBodySize sets the largest response body the Cache stores; larger
// bodies stream through to the caller and are not stored. The Cache never
// buffers more than n bytes of a body. n <= 0 means the default, 4 MiB.
func WithMaxBodySize(n int64) Option {
	return Option{func(c *config) {
		if n > 0 {
			c.maxBodySize = n
		}
	}}
}

// WithShared makes the Cache a shared cache as defined by
// [RFC 9111 Section 1]: it honours s-maxage and proxy-revalidate, does not
// store responses marked private, and stores responses to requests with
// Authorization only when the response allows it (Section 3.5). Without it the
// Cache is a private cache, the right choice for a client acting for one user.
//
// [RFC 9111 Section 1]: https://www.rfc-editor.org/rfc/rfc9111#section-1
func WithShared() Option {
	return Option{func(c *config) { c.shared = true }}
}

// WithClock sets the function the Cache reads the time from; nil means
// [time.Now]. Tests use it to move time forward.
func WithClock(now func() time.Time) Option {
	return Option{func(c *config) {
		if now != nil {
			c.now = now
		}
	}}
}

// WithLogger sets where the Cache reports failures it recovered from (backend
// errors, corrupt entries, panics); nil discards them, the default.
func WithLogger(l *slog.Logger) Option {
	return Option{func(c *config) {
		if l != nil {
			c.logger = l
		}
	}}
}

// WithName sets the cache name in the Cache-Status field of responses
// ([RFC 9211 Section 2]); the default is "acache".
//
// [RFC 9211 Section 2]: https://www.rfc-editor.org/rfc/rfc9211#section-2
func WithName(name string) Option {
	return Option{func(c *config) {
		if name != "" {
			c.name = name
		}
	}}
}

// WithUnframedBodies lets the Cache store HTTP/1 responses whose body has
// neither Content-Length nor chunked framing. Such a body ends when the
// connection closes, so a truncated body looks complete; by default they are
// not stored.
func WithUnframedBodies() Option {
	return Option{func(c *config) { c.storeUnframed = true }}
}

// WithPartitionSecret sets the key of the HMAC that turns a request's
// Authorization field into the partition part of its cache key, so that a
// Transport acting for many users never serves one user's response to another.
// By default the secret is random per Cache; set it to share entries of
// authenticated requests between processes through a persistent backend.
func WithPartitionSecret(secret []byte) Option {
	return Option{func(c *config) {
		if len(secret) > 0 {
			c.secret = append([]byte(nil), secret...)
		}
	}}
}

// WithTargetedField makes the Cache obey the directives of the response
// header field name (for example "Acache-Cache-Control") instead of
// Cache-Control whenever a response has it, per [RFC 9213]. Fields given in
// several calls take precedence in the order given. A shared Cache also obeys
// CDN-Cache-Control, after these.
//
// [RFC 9213]: https://www.rfc-editor.org/rfc/rfc9213
func WithTargetedField(name string) Option {
	return Option{func(c *config) {
		if name != "" {
			c.targets = append(c.targets, http.CanonicalHeaderKey(name))
		}
	}}
}

// WithBackendTimeout sets how long the Cache waits for its backend: for a
// lookup, and for a store with the evictions it causes, which the caller's
// last Read of a body waits for. A backend that has not answered by then
// costs a miss or a store, never the request: the caller goes on (never
// later than its own context allows), and the operation finishes in the
// background under the same deadline, passed to the backend in its context.
// d <= 0 means the default, one second. The in-memory LRU ([NewLRU]) never blocks, so
// it is called directly, without deadlines.
func WithBackendTimeout(d time.Duration) Option {
	return Option{func(c *config) {
		if d > 0 {
			c.backendTimeout = d
		}
	}}
}

// WithBackendObserver makes the Cache tell observe of each call it makes to
// its backend: the operation, as [Stats].Backend names it ("get", "set",
// "pop", "pop oldest", "len", "size", "move", "commit", "listed", "lease",
// ...), how long it took, and the error it returned, if any (a timeout
// included). It is what a latency histogram per operation needs, which
// Stats does not keep. observe is never called while the Cache holds a
// lock, and a panic in it is reported, not passed on; it runs on the
// goroutine of the call, so it should be quick. The in-memory LRU
// ([NewLRU]) is called directly, untimed: observe is not called for it.
func WithBackendObserver(observe func(op string, d time.Duration, err error)) Option {
	return Option{func(c *config) {
		c.backendObserver = observe
	}}
}

// WithStaleOnError makes the Cache serve a stored response, however stale,
// when the origin cannot be reached or answers 500, 502, 503 or 504, as
// [RFC 9111 Section 4.2.4] allows a cache disconnected from the origin to.
// It never does past must-revalidate or no-cache, nor in a shared cache past
// proxy-revalidate or s-maxage, nor past a request's max-stale. Without it,
// only the stale-if-error directive of RFC 5861 does this, within its
// window; by default the caller gets the origin's error.
//
// [RFC 9111 Section 4.2.4]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.4
func WithStaleOnError() Option {
	return Option{func(c *config) { c.serveStale = true }}
}

// WithCollapseWait sets how long a request waits for a request for the same
// response already in flight to the origin, before it goes there itself:
// concurrent requests for one URL are collapsed into one origin request, and
// answered from it ([RFC 9211 Section 2.6]): its body as it arrives, when the
// Cache fills it, or what it stores. A request's own context still ends its
// wait at once. d <= 0 means the default, five seconds.
//
// [RFC 9211 Section 2.6]: https://www.rfc-editor.org/rfc/rfc9211#section-2.6
func WithCollapseWait(d time.Duration) Option {
	return Option{func(c *config) {
		if d > 0 {
			c.collapseWait = d
		}
	}}
}

// WithPartitionBy keeps apart, in addition to users with different
// Authorization fields, the requests for which partition returns different
// values: a tenant header, a cookie, a value in the request's context. A
// response stored for a request is then served only to requests with the
// same value (and the same Authorization), as if they were different users
// (RFC 9111 Section 3.5 lets a cache be this strict). An empty value adds no
// partition. The value is hashed with the partition secret
// ([WithPartitionSecret]) into the key; it is never stored in clear.
//
// partition gets the request as the cache reads it, and must not modify it.
// A partition that panics makes the request go to the origin as if there
// were no cache; the panic is reported.
//
// Invalidation and [Cache.Purge] still reach the responses of every
// partition: an unsafe request to a URL removes every tenant's copy.
func WithPartitionBy(partition func(req *http.Request) string) Option {
	return Option{func(c *config) { c.partitionBy = partition }}
}

// newConfig returns the configuration that opts set over the defaults.
func newConfig(opts []Option) config {
	cfg := config{
		maxEntries:     defaultMaxEntries,
		maxBytes:       defaultMaxBytes,
		maxBodySize:    defaultMaxBodySize,
		now:            time.Now,
		logger:         slog.New(slog.DiscardHandler),
		name:           "acache",
		backendTimeout: defaultBackendTimeout,
		collapseWait:   defaultCollapseWait,
		secret:         make([]byte, 32),
	}
	rand.Read(cfg.secret) // never fails, per its documentation
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(&cfg)
		}
	}
	cfg.maxBodySize = min(cfg.maxBodySize, cfg.maxBytes)
	if cfg.shared {
		cfg.targets = append(cfg.targets, "Cdn-Cache-Control")
	}
	cfg.hitPrefix = cacheIdentifier(cfg.name) + "; hit; ttl="
	cfg.derivation = &derivation{shared: cfg.shared, targets: cfg.targets, policy: cfg.freshness}
	cfg.silent = cfg.logger.Handler() == slog.DiscardHandler
	return cfg
}
