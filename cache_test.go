package acache

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func wantAge(age string) func(*testing.T, *http.Response) {
	return func(t *testing.T, resp *http.Response) {
		assert.Equal(t, []string{age}, resp.Header["Age"], "served Age")
	}
}

func TestRFC9111(t *testing.T) {
	t.Parallel()
	const minute = time.Minute
	runRFCCases(t, []rfcCase{
		// Section 3: storing responses.
		{name: "3 no-store response is not stored", header: hdr("Cache-Control", "max-age=60, no-store"),
			probes: []probe{{}, {}}},
		{name: "3 request no-store is not stored", header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{{header: hdr("Cache-Control", "no-store")}, {}, {hit: true}}},
		{name: "3 private is stored by a private cache", header: hdr("Cache-Control", "private, max-age=60"),
			probes: []probe{{}, {hit: true}}},
		{name: "3 private is not stored by a shared cache", shared: true, header: hdr("Cache-Control", "private, max-age=60"),
			probes: []probe{{}, {}}},
		{name: "3 status not cacheable by default needs explicit freshness", status: 201,
			header: hdr("Last-Modified", at(-100*minute)), probes: []probe{{}, {}}},
		{name: "3 any final status with explicit freshness is stored", status: 500,
			header: hdr("Cache-Control", "max-age=60"), probes: []probe{{}, {hit: true, status: 500}}},
		{name: "3 404 is heuristically cacheable", status: 404,
			header: hdr("Last-Modified", at(-100*minute)), probes: []probe{{}, {hit: true, status: 404}}},
		{name: "3.3 206 is not stored as complete", status: 206,
			header: hdr("Cache-Control", "max-age=60", "Content-Range", "bytes 0-3/10"), probes: []probe{{}, {}}},
		{name: "3 POST response is not stored", header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{{method: "POST"}, {method: "POST"}}},
		{name: "3 response without freshness or validator is not stored",
			probes: []probe{{}, {}}},
		{name: "3.5 Authorization does not forbid storing in a private cache", header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{
				{header: hdr("Authorization", "Bearer alice")},
				{header: hdr("Authorization", "Bearer alice"), hit: true},
				{header: hdr("Authorization", "Bearer bob")},
				{},
			}},
		{name: "3.5 Authorization forbids storing in a shared cache", shared: true, header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{{header: hdr("Authorization", "Bearer a")}, {header: hdr("Authorization", "Bearer a")}}},
		{name: "3.5 public allows storing with Authorization in a shared cache", shared: true,
			header: hdr("Cache-Control", "public, max-age=60"),
			probes: []probe{{header: hdr("Authorization", "Bearer a")}, {header: hdr("Authorization", "Bearer a"), hit: true}}},

		// Section 4.2.1: freshness lifetime.
		{name: "4.2.1 max-age", header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{{}, {after: 59 * time.Second, hit: true}, {after: time.Second}}},
		{name: "4.2.1 max-age=0 beats a future Expires", header: hdr("Cache-Control", "max-age=0", "Expires", at(time.Hour), "ETag", `"v1"`),
			probes: []probe{{}, {}}},
		{name: "4.2.1 max-age beats a past Expires", header: hdr("Cache-Control", "max-age=60", "Expires", at(-time.Hour)),
			probes: []probe{{}, {after: 30 * time.Second, hit: true}}},
		{name: "4.2.1 Expires minus Date", header: hdr("Expires", at(90*time.Second)),
			probes: []probe{{}, {after: 89 * time.Second, hit: true}, {after: time.Second}}},
		{name: "4.2.1 Expires minus Date, less the apparent age",
			header: hdr("Date", at(-30*time.Second), "Expires", at(90*time.Second)),
			probes: []probe{{}, {after: 89 * time.Second, hit: true, check: wantAge("119")}, {after: time.Second}}},
		{name: "4.2.1 invalid Expires means already expired", header: hdr("Expires", "0", "ETag", `"v"`),
			probes: []probe{{}, {}}},
		{name: "4.2.1 Expires on two lines with different values is invalid",
			header: hdr("Expires", at(time.Hour), "Expires", at(2*time.Hour), "ETag", `"v"`), probes: []probe{{}, {}}},
		{name: "4.2.1 invalid max-age means stale, even beside a valid Expires",
			header: hdr("Cache-Control", "max-age=abc", "Expires", at(time.Hour), "ETag", `"v"`), probes: []probe{{}, {}}},
		{name: "4.2.1 s-maxage is ignored by a private cache", header: hdr("Cache-Control", "s-maxage=3600, max-age=60"),
			probes: []probe{{}, {after: 2 * minute}}},
		{name: "4.2.1 s-maxage overrides max-age in a shared cache", shared: true, header: hdr("Cache-Control", "s-maxage=3600, max-age=60"),
			probes: []probe{{}, {after: 2 * minute, hit: true}}},

		// Section 4.2.2: heuristic freshness.
		{name: "4.2.2 heuristic is 10% of the time since Last-Modified", header: hdr("Last-Modified", at(-100*minute)),
			probes: []probe{{}, {after: 9 * minute, hit: true}, {after: minute + time.Second}}},
		{name: "4.2.2 heuristic is bounded", header: hdr("Last-Modified", at(-365*24*time.Hour)),
			probes: []probe{{}, {after: 23 * time.Hour, hit: true}, {after: 2 * time.Hour}}},
		{name: "4.2.2 Last-Modified in the future gives no heuristic", header: hdr("Last-Modified", at(time.Hour), "Cache-Control", "public"),
			probes: []probe{{}, {}}},
		{name: "4.2.2 public allows a heuristic for any status", status: 201, header: hdr("Last-Modified", at(-100*minute), "Cache-Control", "public"),
			probes: []probe{{}, {after: 9 * minute, hit: true}}},
		{name: "4.2.2 no heuristic when explicit freshness is present", header: hdr("Last-Modified", at(-100*minute), "Cache-Control", "max-age=5"),
			probes: []probe{{}, {after: 6 * time.Second}}},
		{name: "4.2.2 no heuristic for a status that is not heuristically cacheable", status: 302,
			header: hdr("Last-Modified", at(-100*minute), "Location", "/elsewhere"), probes: []probe{{}, {}}},

		// Section 4.2.3: age.
		{name: "4.2.3 Age from upstream shortens freshness", header: hdr("Cache-Control", "max-age=60", "Age", "50"),
			probes: []probe{{}, {after: 9 * time.Second, hit: true, check: wantAge("59")}, {after: time.Second}}},
		{name: "4.2.3 apparent age from an old Date", header: hdr("Cache-Control", "max-age=60", "Date", at(-50*time.Second)),
			probes: []probe{{}, {after: 9 * time.Second, hit: true, check: wantAge("59")}, {after: time.Second}}},
		{name: "4.2.3 a Date in the future does not extend freshness", header: hdr("Cache-Control", "max-age=60", "Date", at(time.Hour)),
			probes: []probe{{}, {after: 59 * time.Second, hit: true, check: wantAge("59")}, {after: time.Second}}},
		{name: "4.2.3 missing Date uses the response time", header: hdr("Cache-Control", "max-age=60", "Date", ""),
			probes: []probe{{}, {after: 59 * time.Second, hit: true, check: func(t *testing.T, resp *http.Response) {
				assert.Equal(t, at(0), resp.Header.Get("Date"), "6.6.1 a cache adds the Date it received the response at")
			}}, {after: time.Second}}},

		// Section 5.1: Age.
		{name: "5.1 a hit carries its current Age", header: hdr("Cache-Control", "max-age=600"),
			probes: []probe{{}, {after: 125 * time.Second, hit: true, check: wantAge("125")}}},
		{name: "5.1 Age of 2^31 or more makes the response stale", header: hdr("Cache-Control", "max-age=60", "Age", "2147483648", "ETag", `"e"`),
			probes: []probe{{}, {}}},
		{name: "5.1 an invalid Age is ignored", header: hdr("Cache-Control", "max-age=60", "Age", "-5"),
			probes: []probe{{}, {after: 30 * time.Second, hit: true, check: wantAge("30")}}},
		{name: "5.1 the first of several Age values counts", header: hdr("Cache-Control", "max-age=60", "Age", "10, 50"),
			probes: []probe{{}, {after: 45 * time.Second, hit: true, check: wantAge("55")}, {after: 5 * time.Second}}},

		// Section 5.2: Cache-Control.
		{name: "5.2 no-store on a second field line is seen", header: hdr("Cache-Control", "max-age=60", "Cache-Control", "no-store"),
			probes: []probe{{}, {}}},
		{name: "5.2 directive names are case-insensitive", header: hdr("Cache-Control", "MAX-AGE=60"),
			probes: []probe{{}, {hit: true}}},
		{name: "5.2 a quoted string is not a directive", header: hdr("Cache-Control", `foo="max-age=3600"`, "Expires", at(time.Minute)),
			probes: []probe{{}, {after: 2 * minute}}},
		{name: "5.2.1.1 request max-age", header: hdr("Cache-Control", "max-age=600"),
			probes: []probe{{}, {after: 20 * time.Second, header: hdr("Cache-Control", "max-age=10")}, {after: 5 * time.Second, header: hdr("Cache-Control", "max-age=10"), hit: true}}},
		{name: "5.2.1.2 request max-stale accepts a stale response", header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{{}, {after: 90 * time.Second, header: hdr("Cache-Control", "max-stale=60"), hit: true}, {header: hdr("Cache-Control", "max-stale=10")}}},
		{name: "5.2.1.2 max-stale does not override must-revalidate", header: hdr("Cache-Control", "max-age=60, must-revalidate"),
			probes: []probe{{}, {after: 90 * time.Second, header: hdr("Cache-Control", "max-stale")}}},
		{name: "5.2.1.3 request min-fresh", header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{{}, {after: 30 * time.Second, header: hdr("Cache-Control", "min-fresh=20"), hit: true}, {after: 15 * time.Second, header: hdr("Cache-Control", "min-fresh=20")}}},
		{name: "5.2.1.4 request no-cache goes to the origin", header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{{}, {header: hdr("Cache-Control", "no-cache")}, {hit: true}}},
		{name: "5.4 Pragma no-cache without Cache-Control goes to the origin", header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{{}, {header: hdr("Pragma", "no-cache")}, {header: hdr("Pragma", "no-cache", "Cache-Control", "max-age=60"), hit: true}}},
		{name: "5.2.1.7 only-if-cached with nothing stored is 504", header: hdr("Cache-Control", "max-age=60"),
			probes: []probe{{header: hdr("Cache-Control", "only-if-cached"), status: 504, noSend: true}, {}, {header: hdr("Cache-Control", "only-if-cached"), hit: true, status: 200}}},
		{name: "5.2.2.4 no-cache response is not served without validation", header: hdr("Cache-Control", "max-age=60, no-cache"),
			probes: []probe{{}, {}}},

		// Bad input: dates and fields in odd forms.
		{name: "5.3 Expires in the obsolete RFC 850 form is understood", header: hdr("Expires", "Tuesday, 24-Nov-26 12:01:30 GMT"),
			probes: []probe{{}, {after: 89 * time.Second, hit: true}, {after: time.Second}}},
		{name: "5.3 Expires in asctime form is understood", header: hdr("Expires", "Tue Nov 24 12:01:30 2026"),
			probes: []probe{{}, {after: 89 * time.Second, hit: true}, {after: time.Second}}},
		{name: "5.3 Expires with a zone other than GMT means expired", header: hdr("Expires", "Tue, 24 Nov 2026 12:01:30 UTC", "ETag", `"e"`),
			probes: []probe{{}, {}}},
		{name: "5.3 Expires with a one-digit hour means expired", header: hdr("Expires", "Wed, 25 Nov 2026 9:01:30 GMT", "ETag", `"e"`),
			probes: []probe{{}, {}}},
		{name: "5.3 Expires with a double space means expired", header: hdr("Expires", "Wed, 25 Nov 2026  09:01:30 GMT", "ETag", `"e"`),
			probes: []probe{{}, {}}},
		{name: "6.6.1 an invalid Date is replaced by the response time", header: hdr("Cache-Control", "max-age=60", "Date", "yesterday"),
			probes: []probe{{}, {after: 59 * time.Second, hit: true, check: wantAge("59")}, {after: time.Second}}},
		{name: "4.2.2 an invalid Last-Modified gives no heuristic", header: hdr("Last-Modified", "Tue, 24 Nov 2026  9:00:00 GMT"),
			probes: []probe{{}, {}}},
		{name: "5.2 conflicting max-age values take the most restrictive", header: hdr("Cache-Control", "max-age=600", "Cache-Control", "max-age=30"),
			probes: []probe{{}, {after: 29 * time.Second, hit: true}, {after: 2 * time.Second}}},
		{name: "5.2 a malformed directive does not hide no-store", header: hdr("Cache-Control", `max-age=60, foo="bar, no-cache=", no-store`),
			probes: []probe{{}, {}}},
		{name: "4.1 Vary with only empty members varies on nothing", header: hdr("Cache-Control", "max-age=60", "Vary", " , ,"),
			probes: []probe{{}, {header: hdr("Accept", "x"), hit: true}}},
		{name: "4.1 Vary naming a field requests do not carry matches its absence", header: hdr("Cache-Control", "max-age=60", "Vary", "X-Never-Sent"),
			probes: []probe{{}, {hit: true}, {header: hdr("X-Never-Sent", "1")}}},
		{name: "4.1 Vary on Cookie keeps users apart", header: hdr("Cache-Control", "max-age=60", "Vary", "Cookie"),
			probes: []probe{{header: hdr("Cookie", "u=1")}, {header: hdr("Cookie", "u=2")}, {header: hdr("Cookie", "u=1"), hit: true}}},

		// Section 4.1: Vary.
		{name: "4.1 Vary matches the same request header value", header: hdr("Cache-Control", "max-age=60", "Vary", "Accept-Language"),
			probes: []probe{
				{header: hdr("Accept-Language", "en")},
				{header: hdr("Accept-Language", "en"), hit: true},
				{header: hdr("Accept-Language", "fr")},
				{},
			}},
		{name: "4.1 Vary field names are case-insensitive and values normalised", header: hdr("Cache-Control", "max-age=60", "Vary", "accept-encoding, X-Foo"),
			probes: []probe{
				{header: hdr("Accept-Encoding", "gzip, br", "X-Foo", "1")},
				{header: hdr("Accept-Encoding", "gzip,br", "X-Foo", "1"), hit: true},
				{header: hdr("Accept-Encoding", "gzip", "Accept-Encoding", "br", "X-Foo", "1"), hit: true},
			}},
		{name: "4.1 an absent header does not match an empty one", header: hdr("Cache-Control", "max-age=60", "Vary", "X-Foo"),
			probes: []probe{{}, {header: hdr("X-Foo", "")}}},
		{name: "4.1 Vary star never matches", header: hdr("Cache-Control", "max-age=60", "Vary", "Accept, *"),
			probes: []probe{{}, {}}},
		{name: "4.1 Vary star on its own field line never matches", header: hdr("Cache-Control", "max-age=60", "Vary", "Accept", "Vary", " * "),
			probes: []probe{{}, {}}},
	})
}

func TestRFC9111_4_4_Invalidation(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET":
			w.Header().Set("Cache-Control", "max-age=600")
			fmt.Fprint(w, r.URL.Path)
		case r.URL.Path == "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.Header().Set("Location", "/moved")
			w.Header().Set("Content-Location", "http://other.example/moved-too")
			w.WriteHeader(http.StatusCreated)
		}
	})
	tr := newTestTransport(clock)
	for _, path := range []string{"/a", "/moved", "/fail"} {
		fetch(t, tr, "GET", o.URL+path, nil)
	}
	hit := func(path string) bool {
		resp, _ := fetch(t, tr, "GET", o.URL+path, nil)
		return isHit(resp)
	}
	require.True(t, hit("/a"))

	fetch(t, tr, "POST", o.URL+"/fail", nil)
	assert.True(t, hit("/fail"), "4.4 an error response does not invalidate")

	fetch(t, tr, "POST", o.URL+"/a", nil)
	assert.False(t, hit("/a"), "4.4 a successful POST invalidates the target URI")
	assert.False(t, hit("/moved"), "4.4 and the same-origin Location")

	fetch(t, tr, "DELETE", o.URL+"/a", nil)
	assert.False(t, hit("/a"), "4.4 DELETE invalidates too")
	fetch(t, tr, "FROB", o.URL+"/a", nil)
	assert.False(t, hit("/a"), "4.4 an unknown method invalidates too")
}

// rawOrigin serves one canned HTTP/1.1 response per connection, for header
// fields net/http's server would rewrite.
func rawOrigin(t *testing.T, response string) (url string, hits *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	hits = &atomic.Int64{}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					if _, err := http.ReadRequest(r); err != nil {
						return
					}
					hits.Add(1)
					if _, err := io.WriteString(conn, response); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/", hits
}

func TestRFC9111_3_1_HopByHopFieldsAreNotStored(t *testing.T) {
	t.Parallel()
	url, hits := rawOrigin(t, "HTTP/1.1 200 OK\r\n"+
		"Cache-Control: max-age=60\r\n"+
		"Connection: X-Private-Hop\r\n"+
		"X-Private-Hop: secret\r\n"+
		"Keep-Alive: timeout=5\r\n"+
		"Proxy-Authenticate: Basic\r\n"+
		"X-Kept: yes\r\n"+
		"Content-Length: 2\r\n\r\nok")
	tr := newTestTransport(newTestClock())
	fetch(t, tr, "GET", url, nil)
	resp, body := fetch(t, tr, "GET", url, nil)
	require.True(t, isHit(resp))
	assert.Equal(t, "ok", body)
	assert.Equal(t, "yes", resp.Header.Get("X-Kept"))
	for _, name := range []string{"Connection", "X-Private-Hop", "Keep-Alive", "Proxy-Authenticate"} {
		assert.Empty(t, resp.Header.Values(name), "%s must not be stored", name)
	}
	assert.EqualValues(t, 1, hits.Load())
}

func TestCacheKey(t *testing.T) {
	t.Parallel()
	c := NewCache(nil)
	key := func(method, url, host string, kv ...string) string {
		req, err := http.NewRequest(method, url, nil)
		require.NoError(t, err)
		if host != "" {
			req.Host = host
		}
		for i := 0; i < len(kv); i += 2 {
			req.Header.Add(kv[i], kv[i+1])
		}
		return c.key(req)
	}
	base := key("GET", "http://example.com/a?x=1", "")
	assert.Equal(t, "GET http://example.com/a?x=1", base)
	assert.Equal(t, base, key("GET", "http://EXAMPLE.com:80/a?x=1#frag", ""), "fragment, default port and host case are not part of the key")
	assert.NotEqual(t, base, key("HEAD", "http://example.com/a?x=1", ""))
	assert.NotEqual(t, base, key("GET", "https://example.com/a?x=1", ""))
	assert.NotEqual(t, base, key("GET", "http://example.com/a?x=2", ""))
	assert.NotEqual(t, base, key("GET", "http://example.com/a?x=1", "other.example"), "the effective host is req.Host")
	assert.Equal(t, "GET http://example.com/", key("GET", "http://example.com", ""))

	alice := key("GET", "http://example.com/a?x=1", "", "Authorization", "Bearer alice")
	assert.NotEqual(t, base, alice)
	assert.Equal(t, alice, key("GET", "http://example.com/a?x=1", "", "Authorization", "Bearer alice"), "the same user gets the same key")
	assert.NotEqual(t, alice, key("GET", "http://example.com/a?x=1", "", "Authorization", "Bearer bob"))
	assert.NotContains(t, alice, "alice", "no credential in clear")

	other := NewCache(nil)
	req, _ := http.NewRequest("GET", "http://example.com/a?x=1", nil)
	req.Header.Set("Authorization", "Bearer alice")
	assert.NotEqual(t, alice, other.key(req), "the partition is keyed per Cache by default")
	s1 := NewCache(nil, WithPartitionSecret([]byte("s")))
	s2 := NewCache(nil, WithPartitionSecret([]byte("s")))
	assert.Equal(t, s1.key(req), s2.key(req), "a shared secret gives stable partitions")

	t.Run("2 the contacted host and the Host field are both keyed", func(t *testing.T) {
		poisoned := key("GET", "http://attacker.example/index", "victim.example")
		assert.NotEqual(t, key("GET", "http://victim.example/index", ""), poisoned,
			"a response from attacker.example would be stored under victim.example's key")
		assert.NotEqual(t, key("GET", "http://attacker.example/index", ""), poisoned)
		assert.Equal(t, key("GET", "http://victim.example/index", ""), key("GET", "http://victim.example/index", "VICTIM.example:80"),
			"a Host field naming the URL's own host changes nothing")
	})
	t.Run("2 a URL with bytes no request line carries has no key", func(t *testing.T) {
		for _, raw := range []string{"x auth=00", "x\x00auth=00", "a\tb", "a\x7fb"} {
			u := &url.URL{Scheme: "http", Host: "example.com", Path: "/a", RawQuery: raw}
			assert.Empty(t, c.keyFor("GET", u, "", ""), "query %q", raw)
		}
		assert.Empty(t, c.keyFor("GET", &url.URL{Scheme: "http", Path: "/a"}, "", ""), "no host")
		assert.Empty(t, c.keyFor("GE T", &url.URL{Scheme: "http", Host: "h", Path: "/a"}, "", ""), "a method that is not a token")
		assert.Empty(t, c.keyFor("GET", &url.URL{Scheme: "http", Host: "h/b", Path: "/a"}, "", ""), "a host with a slash")
		assert.Empty(t, c.keyFor("GET", &url.URL{Scheme: "ht/tp", Host: "h", Path: "/a"}, "", ""), "a scheme with a slash")
	})
}

// keyParts are the parts of a request that its cache key must tell apart,
// normalised as the key normalises them.
type keyParts struct {
	method, scheme, host, path, query, vhost string
	auth                                     []string
}

func keyPartsOf(method string, u *url.URL, host string, auth []string) keyParts {
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		scheme = "http"
	}
	p := keyParts{method: method, scheme: scheme, host: normalizeHost(scheme, u.Host), path: u.EscapedPath(), auth: auth}
	if p.path == "" {
		p.path = "/"
	}
	if u.ForceQuery || u.RawQuery != "" {
		p.query = "?" + u.RawQuery
	}
	if host != "" && normalizeHost(scheme, host) != p.host {
		p.vhost = normalizeHost(scheme, host)
	}
	return p
}

// FuzzCacheKey checks that the key is injective: two requests share a key
// only when they agree on every part the key is made of, so that no request
// can spell another's key (another user's partition, another host).
func FuzzCacheKey(f *testing.F) {
	f.Add("GET", "http", "example.com", "/p", "x", "", "Bearer alice", "GET", "http", "example.com", "/p", "x auth=0f", "", "")
	f.Add("GET", "http", "attacker.example", "/i", "", "victim.example", "", "GET", "http", "victim.example", "/i", "", "", "")
	f.Add("GET", "https", "EXAMPLE.com:443", "", "", "", "", "GET", "https", "example.com", "/", "", "", "")
	f.Add("GET", "http", "h", "/a", "q\x00host=x", "", "", "GET", "http", "h", "/a", "q", "x", "")
	f.Add("GET", "http", "a/b", "/c", "", "", "", "GET", "http", "a", "/b/c", "", "", "")
	f.Add("GET", "a:", "x", "/", "", "", "", "GET", "a", ":x", "/", "", "", "")
	c := NewCache(nil, WithPartitionSecret([]byte("fuzz")))
	f.Fuzz(func(t *testing.T, m1, s1, h1, p1, q1, v1, a1, m2, s2, h2, p2, q2, v2, a2 string) {
		build := func(method, scheme, host, path, query, vhost, auth string) (string, keyParts) {
			u := &url.URL{Scheme: scheme, Host: host, Path: path, RawQuery: query}
			var values []string
			partition := ""
			if auth != "" {
				values = []string{auth}
				partition = c.partitionOf(values, "")
			}
			return c.keyFor(method, u, vhost, partition), keyPartsOf(method, u, vhost, values)
		}
		k1, parts1 := build(m1, s1, h1, p1, q1, v1, a1)
		k2, parts2 := build(m2, s2, h2, p2, q2, v2, a2)
		if k1 == "" || k1 != k2 {
			return
		}
		if !reflect.DeepEqual(parts1, parts2) {
			t.Fatalf("two requests share the key %q:\n%+v\n%+v", k1, parts1, parts2)
		}
	})
}

func TestTransportBoundedLRU(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, strings.Repeat("b", 1000))
	})
	const n = 8
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"entries", []Option{WithMaxEntries(n)}},
		{"bytes", []Option{WithMaxBytes(n * 1600)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend := newLRU()
			c := NewCache(backend, append(tc.opts, WithClock(clock.Now))...)
			tr := NewTransport(c)
			for i := range 10 * n {
				fetch(t, tr, "GET", fmt.Sprintf("%s/%d", o.URL, i), nil)
			}
			count, _ := backend.Len(context.Background())
			assert.LessOrEqual(t, count, n)
			assert.Positive(t, count)
			assert.LessOrEqual(t, c.Stats().Bytes, c.maxBytes)
			var sum int64
			for key, e := range lruEntries(backend) {
				sum += e.Size()
				_ = key
			}
			assert.Equal(t, sum, c.Stats().Bytes, "the byte count matches what is stored")
			resp, _ := fetch(t, tr, "GET", fmt.Sprintf("%s/%d", o.URL, 10*n-1), nil)
			assert.True(t, isHit(resp), "the most recently stored entry survives")
			resp, _ = fetch(t, tr, "GET", o.URL+"/0", nil)
			assert.False(t, isHit(resp), "the oldest entry was evicted")
		})
	}
}

// lruEntries drains a copy of what an LRU holds, oldest first.
func lruEntries(l *lru) map[string]*Entry {
	out := map[string]*Entry{}
	ctx := context.Background()
	var keys []string
	var entries []*Entry
	for {
		k, e, _ := l.PopOldest(ctx)
		if e == nil {
			break
		}
		keys = append(keys, k)
		entries = append(entries, e)
		out[k] = e
	}
	for i, k := range keys {
		l.Set(ctx, k, entries[i])
	}
	return out
}

// panickingSetBackend is an LRU whose Set and Commit panic.
type panickingSetBackend struct{ *lru }

func (panickingSetBackend) Set(context.Context, string, *Entry) error { panic("disk on fire") }

func (panickingSetBackend) Commit(context.Context, *Commit) (CommitResult, error) {
	panic("disk on fire")
}

func TestTransportPanicWhileStoringDoesNotReachTheCaller(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.Method == "GET" {
			fmt.Fprint(w, "intact")
		}
	})
	c := NewCache(panickingSetBackend{newLRU()}, WithClock(clock.Now))
	tr := NewTransport(c)
	for _, method := range []string{"GET", "HEAD"} {
		resp, body := fetch(t, tr, method, o.URL, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		if method == "GET" {
			assert.Equal(t, "intact", body, "the caller reads the whole body although storing it panicked")
		}
	}
	assert.EqualValues(t, 2, c.Stats().Errors)
}

func TestTransportHitsKeepEntriesFromEviction(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, r.URL.Path)
	})
	tr := newTestTransport(clock, WithMaxEntries(3))
	for _, path := range []string{"/a", "/b", "/c", "/a", "/d"} {
		fetch(t, tr, "GET", o.URL+path, nil)
	}
	resp, _ := fetch(t, tr, "GET", o.URL+"/a", nil)
	assert.True(t, isHit(resp), "/a was used after /b, so /b is evicted first")
	resp, _ = fetch(t, tr, "GET", o.URL+"/b", nil)
	assert.False(t, isHit(resp), "the least recently used entry is the one evicted")
}

// indexBackends are the two ways a URI's partitions are indexed: by the LRU
// as a Committer, and by the Cache over a plain backend, in an entry under
// the URI's key (stub: 1, when the URI has no response of its own).
var indexBackends = []struct {
	name string
	of   func(*lru) Backend
	stub int
}{
	{"committer", func(l *lru) Backend { return l }, 0},
	{"plain", func(l *lru) Backend { return plainLRU{l, l} }, 1},
}

// plainLRU is an LRU as a Backend and a Sizer alone, without its Committer
// methods: the Cache then keeps the partition index itself.
type plainLRU struct {
	Backend
	Sizer
}

// orphanPartitions returns the partition keys stored in lru that the index
// at their URI does not list, whether the Cache keeps it (in the entry under
// the URI's key, over a plain backend) or the LRU does (as a Committer):
// responses an invalidation could not reach.
func orphanPartitions(t *testing.T, lru *lru) []string {
	t.Helper()
	var keys []string
	lru.mu.Lock()
	for n := lru.root.next; n != nil && n != &lru.root; n = n.next {
		keys = append(keys, n.key)
	}
	lru.mu.Unlock()
	var orphans []string
	for _, key := range keys {
		uri, partitioned := splitPartition(key)
		if !partitioned {
			continue
		}
		index, err := lru.Get(t.Context(), uri)
		require.NoError(t, err)
		listed, err := lru.Listed(t.Context(), uri)
		require.NoError(t, err)
		if (index == nil || !slices.Contains(index.Partitions, key)) && !slices.Contains(listed, key) {
			orphans = append(orphans, key)
		}
	}
	return orphans
}

func TestRFC9111_4_4_InvalidationReachesEveryUser(t *testing.T) {
	t.Parallel()
	for _, b := range indexBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				fmt.Fprintf(w, "%s for %q", r.Method, r.Header.Get("Authorization"))
			})
			lru := newLRU()
			backend := b.of(lru)
			tr := NewTransport(NewCache(backend, WithClock(clock.Now)))
			users := []http.Header{nil, {"Authorization": {"Bearer alice"}}, {"Authorization": {"Bearer bob"}}}
			for _, h := range users {
				fetch(t, tr, "GET", origin.URL+"/r", h)
				resp, _ := fetch(t, tr, "GET", origin.URL+"/r", h)
				require.True(t, isHit(resp), "stored for %v", h)
			}
			assert.Empty(t, orphanPartitions(t, lru))

			resp, _ := fetch(t, tr, "POST", origin.URL+"/r", http.Header{"Authorization": {"Bearer carol"}})
			require.Equal(t, http.StatusOK, resp.StatusCode)
			for _, h := range users {
				resp, _ := fetch(t, tr, "GET", origin.URL+"/r", h)
				assert.False(t, isHit(resp), "after carol's POST, %v still got the stored response (RFC 9111 Section 4.4 invalidates the target URI)", h)
			}
			n, _ := lru.Len(t.Context())
			assert.Equal(t, 3, n, "the three responses stored again, the URI's own listing the two users'")
		})
	}
}

func TestCacheEvictingAURIIndexEvictsThePartitionsItLists(t *testing.T) {
	t.Parallel()
	for _, b := range indexBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				fmt.Fprint(w, "body")
			})
			lru := newLRU()
			backend := b.of(lru)
			tr := NewTransport(NewCache(backend, WithClock(clock.Now), WithMaxEntries(3)))
			alice := http.Header{"Authorization": {"Bearer alice"}}
			fetch(t, tr, "GET", origin.URL+"/a", alice) // the index of /a, then alice's response
			fetch(t, tr, "GET", origin.URL+"/b", nil)
			fetch(t, tr, "GET", origin.URL+"/c", nil) // evicts the oldest: the index of /a
			assert.Empty(t, orphanPartitions(t, lru), "alice's response outlived the index that lets an invalidation reach it")
			n, _ := lru.Len(t.Context())
			assert.LessOrEqual(t, n, 3)

			// Hits keep a URI's index as recent as the responses it lists.
			fetch(t, tr, "GET", origin.URL+"/a", alice)
			for range 3 {
				fetch(t, tr, "GET", origin.URL+"/a", alice)
				clock.Advance(time.Second)
			}
			assert.Empty(t, orphanPartitions(t, lru))
		})
	}
}

func TestCachePartitionsPerURIAreBounded(t *testing.T) {
	t.Parallel()
	for _, b := range indexBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				fmt.Fprint(w, "body")
			})
			lru := newLRU()
			backend := b.of(lru)
			tr := NewTransport(NewCache(backend, WithClock(clock.Now)))
			for i := range maxPartitions + 5 {
				fetch(t, tr, "GET", origin.URL+"/shared", http.Header{"Authorization": {fmt.Sprint("Bearer user-", i)}})
			}
			n, _ := lru.Len(t.Context())
			assert.Equal(t, maxPartitions+b.stub, n, "the %d most recent users' responses, and the index when the Cache keeps it", maxPartitions)
			assert.Empty(t, orphanPartitions(t, lru))
			resp, _ := fetch(t, tr, "GET", origin.URL+"/shared", http.Header{"Authorization": {"Bearer user-0"}})
			assert.False(t, isHit(resp), "the first user's response was dropped to keep the index bounded")
		})
	}
}

// TestByteLimitHoldsForTheWholeStore: a Cache over a backend that counts its
// own bytes (Sizer) bounds what others stored there too: another Cache on
// the same backend, as processes sharing a disk or Redis store do, and
// entries an earlier run left behind.
func TestByteLimitHoldsForTheWholeStore(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, strings.Repeat("b", 1000))
	})
	const limit = 8 * 1600
	t.Run("two Caches share one backend", func(t *testing.T) {
		backend := newLRU()
		a := NewTransport(NewCache(backend, WithMaxBytes(limit), WithClock(clock.Now)))
		b := NewTransport(NewCache(backend, WithMaxBytes(limit), WithClock(clock.Now)))
		for i := range 40 {
			tr := a
			if i%2 == 1 {
				tr = b
			}
			fetch(t, tr, "GET", fmt.Sprintf("%s/%d", o.URL, i), nil)
			_, stored, _ := backend.Size(context.Background())
			require.LessOrEqual(t, stored, int64(limit), "after request %d", i)
		}
		resp, _ := fetch(t, a, "GET", o.URL+"/39", nil)
		assert.True(t, isHit(resp), "a serves what b stored")
		resp, _ = fetch(t, b, "GET", o.URL+"/0", nil)
		assert.False(t, isHit(resp), "the oldest entry, stored by a, was evicted for b's")
	})
	t.Run("entries left by an earlier run", func(t *testing.T) {
		backend := newLRU()
		earlier := NewTransport(NewCache(backend, WithMaxBytes(100*limit), WithClock(clock.Now)))
		for i := range 40 {
			fetch(t, earlier, "GET", fmt.Sprintf("%s/old/%d", o.URL, i), nil)
		}
		c := NewCache(backend, WithMaxBytes(limit), WithClock(clock.Now))
		fetch(t, NewTransport(c), "GET", o.URL+"/new", nil)
		_, stored, _ := backend.Size(context.Background())
		assert.LessOrEqual(t, stored, int64(limit))
		assert.Equal(t, stored, c.Stats().Bytes, "Stats reports the whole store")
		assert.GreaterOrEqual(t, c.Stats().Evictions, int64(32), "the old entries were evicted to fit")
	})
}

// Two users through one Transport, each identified by Authorization or by a
// Cookie: neither ever gets the other's private response, and a POST by one
// removes the other's copy too (RFC 9111 Sections 5.2.2.7 and 4.4).
func TestPrivateResponsesStayWithTheirUserAndAPOSTRemovesEveryCopy(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"Authorization", "Cookie"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "private, max-age=600")
				fmt.Fprintf(w, "account of %q", r.Header.Get(field))
			})
			tr := newTestTransport(clock)
			alice, bob := http.Header{field: {"alice"}}, http.Header{field: {"bob"}}
			for range 2 {
				for _, user := range []http.Header{alice, bob} {
					_, body := fetch(t, tr, "GET", origin.URL+"/account", user)
					assert.Equal(t, fmt.Sprintf("account of %q", user.Get(field)), body, "a user got another's private response")
				}
			}
			assert.Equal(t, int64(2), origin.hits.Load(), "each user's response was stored and served back to that user")

			resp, _ := fetch(t, tr, "POST", origin.URL+"/account", alice)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			resp, body := fetch(t, tr, "GET", origin.URL+"/account", bob)
			assert.False(t, isHit(resp), "bob's copy outlived alice's POST")
			assert.Equal(t, `account of "bob"`, body)
		})
	}
}

// TestRFC9111_3_5_SharedReuseAcrossUsers: a shared cache serves a response to
// a request with Authorization to other users when the response says any
// cache may reuse it (public, s-maxage, must-revalidate); a private cache
// keeps every user's apart.
func TestRFC9111_3_5_SharedReuseAcrossUsers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		shared       bool
		cacheControl string
		reused       bool // Bob gets what was fetched for Alice
	}{
		{"3.5 shared: public is reused for another user", true, "public, max-age=60", true},
		{"3.5 shared: s-maxage is reused for another user", true, "s-maxage=60", true},
		{"3.5 shared: must-revalidate is reused for another user", true, "must-revalidate, max-age=60", true},
		{"3.5 shared: max-age alone is not stored", true, "max-age=60", false},
		{"3.5 private: public stays with its user", false, "public, max-age=60", false},
		{"3.5 private: must-revalidate stays with its user", false, "must-revalidate, max-age=60", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", tc.cacheControl)
				fmt.Fprintf(w, "for %s", r.Header.Get("Authorization"))
			})
			var opts []Option
			if tc.shared {
				opts = append(opts, WithShared())
			}
			tr := newTestTransport(clock, opts...)
			fetch(t, tr, "GET", o.URL+"/doc", hdr("Authorization", "Bearer alice"))
			resp, body := fetch(t, tr, "GET", o.URL+"/doc", hdr("Authorization", "Bearer bob"))
			assert.Equal(t, tc.reused, isHit(resp), "hit for bob")
			if tc.reused {
				assert.Equal(t, "for Bearer alice", body, "the origin let any user reuse alice's response")
				assert.Equal(t, int64(1), o.hits.Load())
				resp, _ = fetch(t, tr, "GET", o.URL+"/doc", nil)
				assert.True(t, isHit(resp), "and a request without Authorization too")
			} else {
				assert.Equal(t, "for Bearer bob", body)
			}
		})
	}
}
