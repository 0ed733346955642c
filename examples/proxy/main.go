// Command proxy is a caching reverse proxy: a shared HTTP cache in front of
// one origin, built from [httputil.ReverseProxy] and an acache Transport in
// shared mode. Put it in front of a slow API and the responses the API marks
// cacheable are answered from memory, without writing any code:
//
//	go run ./examples/proxy -origin https://api.example.com -host localhost -listen :8080
//
// and ask http://localhost:8080/ what you would ask the API; in production,
// -host names the host clients reach the proxy by.
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
// The proxy answers only for the host names given with -host (repeated or
// comma-separated; compared without case, on any port): a request naming
// another host, the stats endpoint included, gets 421 Misdirected Request
// and reaches neither the cache nor the origin. -any-host answers for every
// name instead; one of the two is required. The origin always sees its own
// Host, and the client's host in X-Forwarded-Host, which is part of the
// cache key: a page the origin built from one host's name is never served
// for another, so a request with a forged Host cannot poison what other
// clients get (see hosts.go).
//
// Run it with -h for the flags: one for each limit of the cache, and for the
// timeouts. -read-timeout (default 1m) bounds the reading of a whole
// request; -write-timeout (default 30s) bounds each write to the client, and
// is renewed at every write, so that a client that stops reading is cut off
// while a long download that keeps moving is not. SIGINT or SIGTERM stops it
// gracefully: it stops accepting connections, lets the requests in flight
// finish within -shutdown-timeout, closes upgraded (WebSocket) connections,
// and then closes the cache.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// main runs the proxy until SIGINT or SIGTERM, and exits with status 1 if
// it cannot start or does not stop cleanly.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		stop()
		os.Exit(1)
	}
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
	proxy := newHandler(cfg, transport, logger)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers.Add(1)
			defer handlers.Done()
			proxy.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.readTimeout,
		// No WriteTimeout: it would bound whole responses, long downloads
		// included; newHandler bounds each write instead (-write-timeout).
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("proxy listening",
		"addr", ln.Addr().String(),
		"origin", cfg.origin.String(),
		"hosts", cfg.hostsForLog(),
		"max_entries", cfg.maxEntries,
		"max_bytes", cfg.maxBytes,
		"max_body", cfg.maxBody,
		"stale_on_error", cfg.staleOnError,
		"read_timeout", cfg.readTimeout,
		"write_timeout", cfg.writeTimeout)
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
