package acache

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"time"
)

// config is how a Cache is configured: what its options set (options.go,
// rules.go), with the defaults in place, and what follows from them. It is
// written by newConfig only, and read-only afterwards.
type config struct {
	maxEntries    int
	maxBytes      int64
	maxBodySize   int64
	shared        bool
	now           func() time.Time
	logger        *slog.Logger
	silent        bool // logger discards everything: no record is ever built
	name          string
	xFromCache    bool
	storeUnframed bool
	serveStale    bool          // serve stale while the origin fails (RFC 9111 Section 4.2.4)
	collapseWait  time.Duration // how long a request waits for a twin in flight
	// backendTimeout bounds each backend call, and a request's backend
	// calls together.
	backendTimeout time.Duration
	targets        []string                   // targeted Cache-Control fields, by precedence (RFC 9213)
	partitionBy    func(*http.Request) string // WithPartitionBy
	secret         []byte                     // the partition secret
	freshness      *freshnessPolicy           // rules.go; nil: RFC 9111 alone
	derivation     *derivation                // shared, targets and freshness, as derived entries record them
	hitPrefix      string                     // name + "; hit; ttl="
}

// newConfig returns the configuration that opts set over the defaults.
func newConfig(opts []Option) config {
	cfg := config{
		maxEntries:     DefaultMaxEntries,
		maxBytes:       DefaultMaxBytes,
		maxBodySize:    DefaultMaxBodySize,
		now:            time.Now,
		logger:         slog.New(slog.DiscardHandler),
		name:           "acache",
		xFromCache:     true,
		backendTimeout: DefaultBackendTimeout,
		collapseWait:   DefaultCollapseWait,
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
