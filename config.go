package acache

import (
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
	storeUnframed bool
	serveStale    bool          // serve stale while the origin fails (RFC 9111 Section 4.2.4)
	collapseWait  time.Duration // how long a request waits for a twin in flight
	// backendTimeout bounds each backend call, and a request's backend
	// calls together.
	backendTimeout time.Duration
	// backendObserver, when set, is told of each backend call
	// (WithBackendObserver).
	backendObserver func(op string, d time.Duration, err error)
	targets         []string                                          // targeted Cache-Control fields, by precedence (RFC 9213)
	partitionBy     func(*http.Request) string                        // WithPartitionBy
	secret          []byte                                            // the partition secret
	freshness       *freshnessPolicy                                  // rules.go; nil: RFC 9111 alone
	rule            func(req *http.Request, resp *http.Response) Rule // WithRule
	derivation      *derivation                                       // shared, targets and freshness, as derived entries record them
	hitPrefix       string                                            // name + "; hit; ttl="
}

// The defaults of the options; each option's documentation says its own.
const (
	defaultMaxEntries     = 10_000          // WithMaxEntries
	defaultMaxBytes       = 64 << 20        // WithMaxBytes
	defaultMaxBodySize    = 4 << 20         // WithMaxBodySize
	defaultCollapseWait   = 5 * time.Second // WithCollapseWait
	defaultBackendTimeout = time.Second     // WithBackendTimeout
)
