package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acachecontrol/acache"
)

// Defaults of the timeout flags.
const (
	// defaultReadTimeout bounds the reading of a whole request, body
	// included: a minute is ample for the small bodies an API takes, and
	// stops a client that trickles one in from holding a connection (and
	// one to the origin) for ever. Requests with large uploads may need
	// more, or 0.
	defaultReadTimeout = time.Minute
	// defaultWriteTimeout bounds each write to the client, not the
	// response (see withWriteDeadline): a client that takes no byte for
	// half a minute has stalled, however long its download.
	defaultWriteTimeout = 30 * time.Second
)

// config holds the parsed flags.
type config struct {
	origin          *url.URL
	listen          string
	hosts           hostList // the host names the proxy answers for, unless anyHost
	anyHost         bool     // answer for every host
	maxEntries      int
	maxBytes        int64
	maxBody         int64
	backendTimeout  time.Duration
	collapseWait    time.Duration
	staleOnError    bool
	name            string
	logLevel        slog.Level
	logFormat       string
	readTimeout     time.Duration // 0: none
	writeTimeout    time.Duration // 0: none
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
	fs.Var(&c.hosts, "host", "host `names` the proxy answers for, comma-separated or repeated, any port; others get 421 (this or -any-host is required)")
	fs.BoolVar(&c.anyHost, "any-host", false, "answer for any host name, each with its own cached copies, instead of those of -host")
	fs.IntVar(&c.maxEntries, "max-entries", 10_000, "most responses the cache keeps")
	fs.Int64Var(&c.maxBytes, "max-bytes", 64<<20, "most `bytes` the cache keeps, headers and bodies")
	fs.Int64Var(&c.maxBody, "max-body", 4<<20, "largest body in `bytes` the cache stores; larger ones stream through uncached")
	fs.DurationVar(&c.backendTimeout, "backend-timeout", time.Second, "how long a request waits for the cache's backend before going to the origin")
	fs.DurationVar(&c.collapseWait, "collapse-wait", 5*time.Second, "how long a request waits for an identical request in flight to the origin")
	fs.BoolVar(&c.staleOnError, "stale-on-error", false, "serve a stale response, however old, when the origin fails (RFC 9111 4.2.4)")
	fs.StringVar(&c.name, "name", "acache", "the cache's `name` in the Cache-Status field")
	fs.StringVar(&logLevel, "log-level", "info", "`level` of the logs: debug (one line per request), info, warn or error")
	fs.StringVar(&logFormat, "log-format", "text", "`format` of the logs: text or json")
	fs.DurationVar(&c.readTimeout, "read-timeout", defaultReadTimeout, "how long a client may take to send a whole request, body included; 0 for no limit")
	fs.DurationVar(&c.writeTimeout, "write-timeout", defaultWriteTimeout, "how long one write to the client may take, renewed at each: a stalled client is cut off, a long download is not; 0 for no limit")
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

	// Fail closed: without -host, a proxy that answered for any host would
	// be open to cache poisoning through X-Forwarded-Host unless every
	// origin keyed on it; and a guessed default (the listen address, the
	// origin's name) would answer 421 to the names clients really use.
	switch {
	case len(c.hosts) == 0 && !c.anyHost:
		return nil, errors.New("-host is required: the host names clients reach the proxy by (e.g. -host www.example.com,example.com); " +
			"or -any-host to answer for any name, each cached apart")
	case len(c.hosts) > 0 && c.anyHost:
		return nil, errors.New("-host and -any-host exclude each other")
	}

	// acache reads a limit <= 0 as its default; here it is a typo.
	if c.maxEntries <= 0 || c.maxBytes <= 0 || c.maxBody <= 0 {
		return nil, errors.New("-max-entries, -max-bytes and -max-body must be positive")
	}
	if c.backendTimeout <= 0 || c.collapseWait <= 0 || c.shutdownTimeout <= 0 {
		return nil, errors.New("-backend-timeout, -collapse-wait and -shutdown-timeout must be positive")
	}
	if c.readTimeout < 0 || c.writeTimeout < 0 {
		return nil, errors.New("-read-timeout and -write-timeout must be positive, or 0 for no limit")
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

// answersFor reports whether the proxy serves a request whose Host
// ([http.Request.Host]) is host: any named host with -any-host, else one
// that -host lists (see [hostList.accepts]).
func (c *config) answersFor(host string) bool {
	if c.anyHost {
		return host != ""
	}
	return c.hosts.accepts(host)
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
// configured limits, around forwardedHost (which tells the origin the
// client's host) around an http.Transport tuned for talking to one origin.
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
	t.Transport = &forwardedHost{next: inner}
	return t
}

// hostsForLog returns the host names the proxy answers for, for its logs.
func (c *config) hostsForLog() string {
	if c.anyHost {
		return "any"
	}
	return c.hosts.String()
}
