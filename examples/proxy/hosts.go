package main

// Virtual hosts: which Host values the proxy answers for, and how the host a
// client asked for reaches the cache key and the origin.
//
// Origins commonly build absolute links from X-Forwarded-Host. A shared
// cache that forwards the client's host there but keys responses only on the
// origin's lets one request with "Host: evil.example" store a page that
// loads scripts from evil.example, and serve it to every later client (web
// cache poisoning). The proxy closes that hole twice over:
//
//   - It answers only for the host names given with -host, and a request for
//     any other gets 421 Misdirected Request ([RFC 9110 Section 15.5.20])
//     before anything is looked up or forwarded. -any-host lifts the check,
//     explicitly.
//   - In both modes, the host forwarded as X-Forwarded-Host is part of the
//     cache key: a response is only ever served for the host it was fetched
//     for, whichever host names the proxy accepts.
//
// The key takes the host through acache's own rule (RFC 9111 Section 2, as
// acache reads it): when a request's Host field names another host than its
// URL, the key holds both. The Rewrite in newHandler therefore points the
// URL at the origin and leaves the client's host, canonical, in Host;
// forwardedHost, the transport under the cache, moves it to
// X-Forwarded-Host and sends the origin its own Host. The host is a part of
// the URI's key, not a partition (WithPartitionBy): a URI keeps at most 256
// partitions, and clients inventing 257 host names would push real users'
// responses out; as keys of their own they compete only in the cache's LRU,
// as any other URI does.
//
// [RFC 9110 Section 15.5.20]: https://www.rfc-editor.org/rfc/rfc9110#section-15.5.20

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// hostList is the value of the -host flag: the host names the proxy answers
// for, lower-case and without ports, from a repeated flag, a comma-separated
// list, or both.
type hostList []string

// String returns the names, comma-separated.
func (l *hostList) String() string { return strings.Join(*l, ",") }

// Set adds the comma-separated host names in value, or reports the first
// that is not a host name.
func (l *hostList) Set(value string) error {
	for name := range strings.SplitSeq(value, ",") {
		host, err := parseHostName(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		*l = append(*l, host)
	}
	return nil
}

// parseHostName returns s, a host name or IP address as given to -host,
// lower-case and without the brackets of an IPv6 literal, or an error if s
// is anything else: empty, a URL, a wildcard, or a name with a port (the
// proxy answers for a name on every port, see [hostList.accepts]).
func parseHostName(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty host name")
	}
	if strings.Contains(s, "*") {
		return "", fmt.Errorf("%q: wildcards are not supported; list each host name", s)
	}
	u, err := url.Parse("http://" + s)
	if err != nil || u.Host != s || u.Hostname() == "" {
		return "", fmt.Errorf("%q is not a host name (want one like www.example.com, without scheme or path)", s)
	}
	if u.Port() != "" {
		return "", fmt.Errorf("%q: give the host name without a port; the proxy answers for it on any port", s)
	}
	return strings.ToLower(u.Hostname()), nil
}

// accepts reports whether l lists the host name of host, the Host of a
// request ([http.Request.Host]), compared without case and without the port.
//
// The port is ignored because the proxy cannot know which ones are right:
// the port in Host is the one the client connected to, which behind a load
// balancer or a port mapping is not the one the proxy listens on. Ignoring it
// cannot mix sites up: the host forwarded to the origin, port included, is
// part of the cache key (see [canonicalHost]), so a client naming an odd
// port gets, and poisons, only its own copy. An empty host (an HTTP/1.0
// request without Host) is never accepted.
func (l hostList) accepts(host string) bool {
	if host == "" {
		return false
	}
	return slices.Contains(l, strings.ToLower((&url.URL{Host: host}).Hostname()))
}

// canonicalHost returns host, a Host field value, in the form acache's cache
// key holds it when the URL's scheme is scheme: lower-case, without the
// scheme's default port. The proxy forwards this form as X-Forwarded-Host, so
// that two requests share a cache key exactly when the origin sees the same
// host in them.
func canonicalHost(scheme, host string) string {
	host = strings.ToLower(host)
	switch scheme {
	case "http":
		return strings.TrimSuffix(host, ":80")
	case "https":
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

// forwardedHost is the transport under the cache, between it and the
// connection to the origin. The cache sees each request with its URL at the
// origin and the client's host in its Host field, and keys the response by
// both; forwardedHost sends the origin its own Host instead, and the
// client's host as X-Forwarded-Host.
//
// That is what keeps the key honest: the request the origin answers carries,
// as X-Forwarded-Host, the very host the key names, taken from the same
// field, on every request the cache sends (misses, revalidations, background
// refreshes, each a clone of the client's request), so no response fetched
// for one host can be stored under another's key. A request whose Host is
// the origin's own (or empty) has no separate host in its key, and the
// origin is told its own host.
//
// forwardedHost is safe for concurrent use; it never modifies the request it
// is given.
type forwardedHost struct {
	// next sends the request to the origin.
	next http.RoundTripper
}

// RoundTrip sends a clone of req to the origin with req.Host in
// X-Forwarded-Host and the Host of req.URL.
func (t *forwardedHost) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.Host
	if host == "" {
		host = canonicalHost(req.URL.Scheme, req.URL.Host)
	}
	out := req.Clone(req.Context()) // shares req.Body, which next closes
	out.Host = ""                   // the Host of out.URL: the origin's
	out.Header.Set("X-Forwarded-Host", host)
	return t.next.RoundTrip(out)
}

// CloseIdleConnections closes the idle connections of the transport below,
// if it has such a method, so that closing the cache closes them.
func (t *forwardedHost) CloseIdleConnections() {
	if closer, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		closer.CloseIdleConnections()
	}
}
