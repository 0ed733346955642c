package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/acachecontrol/acache"
)

// ownPrefix is where the proxy's own endpoints live; nothing under it is
// forwarded to the origin.
const ownPrefix = "/_acache/"

// statsPath is where the proxy serves the cache's Stats as JSON.
const statsPath = ownPrefix + "stats"

// newHandler returns the proxy's handler: 421 Misdirected Request for a host
// it does not answer for, the cache's own endpoints under ownPrefix, and
// everything else forwarded to the origin through transport; each write to
// the client within cfg.writeTimeout.
func newHandler(cfg *config, transport *acache.Transport, logger *slog.Logger) http.Handler {
	origin := cfg.origin
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			// SetURL points the request at the origin. The client's host
			// stays in Host, canonical, for the cache to key on (see
			// hosts.go); forwardedHost, under the cache, sends it to the
			// origin as X-Forwarded-Host, with the origin's own Host.
			r.SetURL(origin)
			r.Out.Host = canonicalHost(origin.Scheme, r.In.Host)
			// X-Forwarded-For and -Proto, from this connection only:
			// ReverseProxy has already removed those the client sent.
			// X-Forwarded-Host is forwardedHost's to set, from the
			// Host the cache keys on, and no one else's.
			r.SetXForwarded()
			r.Out.Header.Del("X-Forwarded-Host")
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
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cfg.answersFor(r.Host) {
			// Nothing is looked up or forwarded for a host the proxy does
			// not serve, its own endpoints included.
			logger.Debug("misdirected request", "host", r.Host, "method", r.Method, "path", r.URL.Path)
			http.Error(w, "misdirected request: this proxy does not serve that host", http.StatusMisdirectedRequest)
			return
		}
		if !strings.HasPrefix(r.URL.Path, ownPrefix) {
			proxy.ServeHTTP(w, r)
			return
		}
		serveOwn(w, r, transport)
	})
	return withWriteDeadline(h, cfg.writeTimeout)
}

// serveOwn serves the proxy's own endpoints, under ownPrefix: statsPath, and
// 404 for any other.
func serveOwn(w http.ResponseWriter, r *http.Request, transport *acache.Transport) {
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
}
