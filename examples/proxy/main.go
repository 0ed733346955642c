// Command proxy is a caching reverse proxy: a shared HTTP cache in front of
// one origin, built from [httputil.ReverseProxy] and an acache Transport in
// shared mode. Put it in front of a slow API and the responses the API marks
// cacheable are answered from memory, without writing any code:
//
//	go run ./examples/proxy -origin https://api.example.com -listen :8080
//
// Every request is forwarded to the origin, its path and query appended to
// the origin's, unless the cache holds a response it may serve; each response
// carries a Cache-Status field saying which (RFC 9211). As a shared cache it
// follows the rules of RFC 9111 for caches that serve many users: s-maxage
// wins over max-age, responses marked private are never stored, responses to
// requests with Authorization are stored only when the origin allows it, and
// Set-Cookie is never replayed. Paths under /_acache/ are the proxy's own and
// are never forwarded: GET /_acache/stats returns the cache's counters as
// JSON.
//
// Run it with -h for the flags: one for each limit of the cache, and for the
// timeouts. SIGINT or SIGTERM stops it gracefully: it stops accepting
// connections, lets the requests in flight finish within -shutdown-timeout,
// closes upgraded (WebSocket) connections, and then closes the cache.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/acachecontrol/acache"
)

// ownPrefix is where the proxy's own endpoints live; nothing under it is
// forwarded to the origin.
const ownPrefix = "/_acache/"

// statsPath is where the proxy serves the cache's Stats as JSON.
const statsPath = ownPrefix + "stats"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		stop()
		os.Exit(1)
	}
}

// config holds the parsed flags.
type config struct {
	origin          *url.URL
	listen          string
	maxEntries      int
	maxBytes        int64
	maxBody         int64
	backendTimeout  time.Duration
	collapseWait    time.Duration
	staleOnError    bool
	name            string
	logLevel        slog.Level
	logFormat       string
	shutdownTimeout time.Duration
}

// parseFlags parses args into a config; the flag package writes its usage and
// errors to output.
func parseFlags(args []string, output io.Writer) (*config, error) {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(output)
	var (
		c         config
		origin    string
		logLevel  string
		logFormat string
	)
	fs.StringVar(&origin, "origin", "", "`URL` of the origin to cache, e.g. https://api.example.com (required)")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "`address` to listen on")
	fs.IntVar(&c.maxEntries, "max-entries", acache.DefaultMaxEntries, "most responses the cache keeps")
	fs.Int64Var(&c.maxBytes, "max-bytes", acache.DefaultMaxBytes, "most `bytes` the cache keeps, headers and bodies")
	fs.Int64Var(&c.maxBody, "max-body", acache.DefaultMaxBodySize, "largest body in `bytes` the cache stores; larger ones stream through uncached")
	fs.DurationVar(&c.backendTimeout, "backend-timeout", acache.DefaultBackendTimeout, "how long a request waits for the cache's backend before going to the origin")
	fs.DurationVar(&c.collapseWait, "collapse-wait", acache.DefaultCollapseWait, "how long a request waits for an identical request in flight to the origin")
	fs.BoolVar(&c.staleOnError, "stale-on-error", false, "serve a stale response, however old, when the origin fails (RFC 9111 4.2.4)")
	fs.StringVar(&c.name, "name", "acache", "the cache's `name` in the Cache-Status field")
	fs.StringVar(&logLevel, "log-level", "info", "`level` of the logs: debug (one line per request), info, warn or error")
	fs.StringVar(&logFormat, "log-format", "text", "`format` of the logs: text or json")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long requests in flight may take to finish on SIGINT or SIGTERM")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	if origin == "" {
		return nil, errors.New("-origin is required")
	}
	u, err := url.Parse(origin)
	if err != nil {
		return nil, fmt.Errorf("-origin: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("-origin %q: the scheme must be http or https", origin)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("-origin %q: no host", origin)
	}
	if u.User != nil {
		// Credentials in the URL would be sent with every request, and the
		// shared cache would serve what they fetched to everyone.
		return nil, fmt.Errorf("-origin %q: credentials in the URL are not supported", origin)
	}
	c.origin = u

	// acache reads a limit <= 0 as its default; here it is a typo.
	if c.maxEntries <= 0 || c.maxBytes <= 0 || c.maxBody <= 0 {
		return nil, errors.New("-max-entries, -max-bytes and -max-body must be positive")
	}
	if c.backendTimeout <= 0 || c.collapseWait <= 0 || c.shutdownTimeout <= 0 {
		return nil, errors.New("-backend-timeout, -collapse-wait and -shutdown-timeout must be positive")
	}
	if err := c.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	c.logFormat = strings.ToLower(logFormat)
	if c.logFormat != "text" && c.logFormat != "json" {
		return nil, fmt.Errorf("-log-format %q: want text or json", logFormat)
	}
	return &c, nil
}

// newLogger returns the logger of the proxy and of its cache.
func (c *config) newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newTransport returns the cache: an acache Transport in shared mode with the
// configured limits, around an http.Transport tuned for talking to one
// origin.
func (c *config) newTransport(logger *slog.Logger) *acache.Transport {
	inner := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Every request goes to one host: keep as many idle connections
		// to it as http.DefaultTransport keeps to all hosts together.
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		// Forward Accept-Encoding as the client sent it instead of asking
		// for gzip and decompressing behind its back: the client gets the
		// origin's bytes, and the cache can store them (a body Go
		// decompressed cannot be proven complete, so acache would not).
		DisableCompression: true,
	}

	opts := []acache.Option{
		acache.WithShared(),
		acache.WithMaxEntries(c.maxEntries),
		acache.WithMaxBytes(c.maxBytes),
		acache.WithMaxBodySize(c.maxBody),
		acache.WithBackendTimeout(c.backendTimeout),
		acache.WithCollapseWait(c.collapseWait),
		acache.WithName(c.name),
		acache.WithLogger(logger),
	}
	if c.staleOnError {
		opts = append(opts, acache.WithStaleOnError())
	}
	t := acache.NewTransport(acache.NewCache(nil, opts...))
	t.Transport = inner
	return t
}

// newHandler returns the proxy's handler: the cache's own endpoints under
// ownPrefix, and everything else forwarded to the origin through transport.
func newHandler(origin *url.URL, transport *acache.Transport, logger *slog.Logger) http.Handler {
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			// SetURL points the request at the origin and sets its Host to
			// the origin's, rather than keeping the Host the client sent.
			// The cache keys responses by the host contacted and, when the
			// Host field names another, that one too: with the inbound Host
			// kept, one origin's responses would be stored once per name
			// clients reach the proxy by, and an origin that serves
			// several virtual hosts would be asked for the proxy's name.
			// The client's Host goes along in X-Forwarded-Host.
			r.SetURL(origin)
			// X-Forwarded-For, -Host and -Proto, from this connection only:
			// ReverseProxy has already removed those the client sent.
			r.SetXForwarded()
		},
		// Hop-by-hop fields are not ReverseProxy's business to forward, and
		// it does not: it removes Connection, Keep-Alive, Proxy-*, TE,
		// Trailer, Transfer-Encoding, Upgrade and the fields Connection
		// names, from the request before the cache sees it and from the
		// response before the client does (RFC 9110 Section 7.6.1).
		// main_test.go checks it both ways. A protocol switch the client
		// asks for (Upgrade, as WebSocket does) is the one exception it
		// forwards, and the cache passes the 101 through unstored.
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request != nil && logger.Enabled(resp.Request.Context(), slog.LevelDebug) {
				logger.Debug("proxied",
					"method", resp.Request.Method,
					"url", resp.Request.URL.String(),
					"status", resp.StatusCode,
					"cache_status", resp.Header.Get("Cache-Status"))
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			level := slog.LevelWarn
			if r.Context().Err() != nil {
				level = slog.LevelDebug // the client went away
			}
			logger.Log(r.Context(), level, "origin request failed",
				"method", r.Method, "path", r.URL.Path, "err", err)
			w.WriteHeader(http.StatusBadGateway)
		},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, ownPrefix) {
			proxy.ServeHTTP(w, r)
			return
		}
		if r.URL.Path != statsPath {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := json.Marshal(transport.Cache.Stats())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(append(body, '\n'))
	})
}

// run runs the proxy with the flags in args until ctx is done, then shuts it
// down gracefully and returns nil if every request in flight finished within
// the shutdown timeout. Logs go to stdout. Once the proxy listens, run calls
// ready, if not nil, with the address it listens on: with -listen
// 127.0.0.1:0, the port the system chose.
func run(ctx context.Context, args []string, stdout io.Writer, ready func(addr string)) error {
	cfg, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := cfg.newLogger(stdout)
	transport := cfg.newTransport(logger)
	defer transport.Close() // after the server's shutdown: stops the cache's background refreshes

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	// Requests in flight keep running when ctx is done, until the shutdown
	// timeout cancels this context, and with it their requests to the origin.
	base, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	// Shutdown does not wait for handlers that outlive their connection
	// (cut off by Close, or tunnelling an upgraded one): run does, so that
	// none of them is still using the cache when it closes.
	var handlers sync.WaitGroup
	proxy := newHandler(cfg.origin, transport, logger)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers.Add(1)
			defer handlers.Done()
			proxy.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("proxy listening",
		"addr", ln.Addr().String(),
		"origin", cfg.origin.String(),
		"max_entries", cfg.maxEntries,
		"max_bytes", cfg.maxBytes,
		"max_body", cfg.maxBody,
		"stale_on_error", cfg.staleOnError)
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err // never http.ErrServerClosed: only Shutdown below closes it
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("shutdown: requests still in flight after %v: %w", cfg.shutdownTimeout, err)
	}
	cancelRequests() // what is left: upgraded connections, or requests past the timeout
	handlers.Wait()
	<-served // http.ErrServerClosed, returned as soon as Shutdown starts
	logger.Info("stopped", "stats", transport.Cache.Stats())
	return err
}
