package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// getFor sends a GET for url through client with host in the Host field, and
// returns the response with its body read.
func getFor(t *testing.T, client *http.Client, url, host string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s, Host %s: %v", url, host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s, Host %s: reading the body: %v", url, host, err)
	}
	return resp, string(body)
}

// rawRequest sends request, as written, on a new connection to addr, and
// returns the response's status code.
func rawRequest(t *testing.T, addr, request string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", request, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// link is the script the origin's /page loads, built from the
// X-Forwarded-Host it got.
func link(host string) string { return `src="https://` + host + `/app.js"` }

// TestHostPoisoning replays the attack of issue 18: an origin that builds its
// links from X-Forwarded-Host, a public page, and a client that sends
// Host: evil.example. In neither mode may a page fetched for one host be
// served for another: with -host the forged host is refused (421) before
// reaching the origin; with -any-host it gets a copy of its own. In both,
// each host the proxy answers for has its own copy, and the origin always
// sees its own Host.
func TestHostPoisoning(t *testing.T) {
	t.Parallel()
	type step struct {
		host   string // the client's Host
		status int
		hit    bool
		link   string // the host the page must link to, or "" for none
	}
	for _, tc := range []struct {
		name       string
		flags      []string
		steps      []step
		originHits int
	}{{
		name:  "-host",
		flags: []string{"-host", "good.example,other.example"},
		steps: []step{
			{"evil.example", http.StatusMisdirectedRequest, false, ""},
			{"good.example", http.StatusOK, false, "good.example"},
			{"evil.example", http.StatusMisdirectedRequest, false, ""},
			{"other.example", http.StatusOK, false, "other.example"}, // its own copy
			{"GOOD.Example", http.StatusOK, true, "good.example"},    // case does not matter
			{"other.example", http.StatusOK, true, "other.example"},
			{"good.example:8080", http.StatusOK, false, "good.example:8080"}, // any port, its own copy
		},
		originHits: 3,
	}, {
		name:  "-any-host",
		flags: []string{"-any-host"},
		steps: []step{
			{"evil.example", http.StatusOK, false, "evil.example"}, // the attacker's own copy
			{"good.example", http.StatusOK, false, "good.example"},
			{"good.example", http.StatusOK, true, "good.example"},
			{"Good.Example:80", http.StatusOK, true, "good.example"}, // the same host, canonical
			{"evil.example", http.StatusOK, true, "evil.example"},
		},
		originHits: 2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t)
			p := startProxy(t, append([]string{"-origin", o.URL}, tc.flags...)...)
			client := newClient(t)

			for i, s := range tc.steps {
				resp, body := getFor(t, client, p.url+"/page", s.host)
				if resp.StatusCode != s.status {
					t.Fatalf("GET %d, Host %s = %d %q; want %d", i+1, s.host, resp.StatusCode, body, s.status)
				}
				if s.status != http.StatusOK {
					if strings.Contains(body, "evil.example") {
						t.Errorf("GET %d, Host %s: the 421 says %q; want nothing from the origin", i+1, s.host, body)
					}
					continue
				}
				if !strings.Contains(body, link(s.link)) {
					t.Errorf("GET %d, Host %s: page %q; want it to load the script from %s: a page fetched for another host was served",
						i+1, s.host, body, s.link)
				}
				if st := cacheStatus(t, resp); st.Hit != s.hit {
					t.Errorf("GET %d, Host %s: Cache-Status %q; want hit %v", i+1, s.host, resp.Header.Get("Cache-Status"), s.hit)
				}
			}
			if n := o.count("/page"); n != tc.originHits {
				t.Errorf("the origin got %d requests for /page; want %d, one per host the proxy serves", n, tc.originHits)
			}
			originURL, err := url.Parse(o.URL)
			if err != nil {
				t.Fatal(err)
			}
			if _, host := o.header("/page"); host != originURL.Host {
				t.Errorf("the origin got Host %q; want its own, %q", host, originURL.Host)
			}
		})
	}
}

// TestMisdirectedRequestIsNotForwarded checks that, with -host, a request
// for a host the proxy does not serve gets 421 whatever its form, and reaches
// neither the origin nor the proxy's own endpoints; and that the listed
// names are accepted without regard to case or port.
func TestMisdirectedRequestIsNotForwarded(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL, "-host", "good.example", "-host", "[::1]")
	client := newClient(t)

	for _, tc := range []struct {
		name    string
		request string
		want    int
	}{
		{"unknown host", "GET /public HTTP/1.1\r\nHost: evil.example\r\n\r\n", http.StatusMisdirectedRequest},
		{"unknown host, stats", "GET " + statsPath + " HTTP/1.1\r\nHost: evil.example\r\n\r\n", http.StatusMisdirectedRequest},
		{"unknown host, POST", "POST /public HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 1\r\n\r\nx", http.StatusMisdirectedRequest},
		{"a suffix of a listed name", "GET /public HTTP/1.1\r\nHost: evil-good.example\r\n\r\n", http.StatusMisdirectedRequest},
		{"a listed name as a subdomain", "GET /public HTTP/1.1\r\nHost: good.example.evil.example\r\n\r\n", http.StatusMisdirectedRequest},
		{"the proxy's address", "GET /public HTTP/1.1\r\nHost: " + p.addr + "\r\n\r\n", http.StatusMisdirectedRequest},
		{"no host, HTTP/1.0", "GET /public HTTP/1.0\r\n\r\n", http.StatusMisdirectedRequest},
		// RFC 9112 Section 3.2.2: the target's authority wins over Host.
		{"absolute form naming another host", "GET http://evil.example/public HTTP/1.1\r\nHost: good.example\r\n\r\n", http.StatusMisdirectedRequest},
		{"listed name", "GET /public HTTP/1.1\r\nHost: good.example\r\n\r\n", http.StatusOK},
		{"listed name, other case and a port", "GET /public HTTP/1.1\r\nHost: GOOD.example:9999\r\n\r\n", http.StatusOK},
		{"listed IPv6 address", "GET /public HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", http.StatusOK},
		{"absolute form naming a listed host", "GET http://good.example/public HTTP/1.1\r\nHost: evil.example\r\n\r\n", http.StatusOK},
	} {
		before := o.count("/public")
		if got := rawRequest(t, p.addr, tc.request); got != tc.want {
			t.Errorf("%s: %q = %d; want %d", tc.name, tc.request, got, tc.want)
		}
		if tc.want == http.StatusMisdirectedRequest && o.count("/public") != before {
			t.Errorf("%s: %q reached the origin; want it refused before", tc.name, tc.request)
		}
	}

	resp, body := getFor(t, client, p.url+statsPath, "good.example")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"Misses"`) {
		t.Errorf("GET %s, Host good.example = %d %q; want the stats", statsPath, resp.StatusCode, body)
	}
}

// TestForwardedHostMatchesTheKey checks what the origin is told on every
// request the cache sends, revalidations included: its own Host, and as
// X-Forwarded-Host the client's host in the canonical form the cache key
// holds.
func TestForwardedHostMatchesTheKey(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL, "-any-host")
	client := newClient(t)
	originURL, err := url.Parse(o.URL)
	if err != nil {
		t.Fatal(err)
	}

	for row, tc := range []struct{ host, want string }{
		{"Good.Example", "good.example"},
		{"good.example:80", "good.example"}, // the origin's scheme's default port
		{"good.example:8080", "good.example:8080"},
		{originURL.Host, originURL.Host}, // the origin's own name: no separate host in the key
	} {
		target := fmt.Sprintf("%s/etag?row=%d", p.url, row) // a URI of its own
		for i, want := range []string{"", `"v1"`} {         // a miss, then a revalidation
			resp, _ := getFor(t, client, target, tc.host)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %d, Host %s = %d; want 200", i+1, tc.host, resp.StatusCode)
			}
			seen, host := o.header("/etag")
			if got := seen.Get("If-None-Match"); got != want {
				t.Fatalf("GET %d, Host %s: the origin got If-None-Match %q; want %q", i+1, tc.host, got, want)
			}
			if got := seen.Get("X-Forwarded-Host"); got != tc.want || host != originURL.Host {
				t.Errorf("GET %d, Host %s: the origin got Host %q, X-Forwarded-Host %q; want %q and %q",
					i+1, tc.host, host, got, originURL.Host, tc.want)
			}
		}
	}
}

// TestManyHostsDoNotEvictOthers checks that -any-host keys by host without
// partitions: a URI keeps at most 256 partitions, and clients inventing more
// host names than that must not push a real host's copy out.
func TestManyHostsDoNotEvictOthers(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL, "-any-host")
	client := newClient(t)

	getFor(t, client, p.url+"/public", "www.example")
	for i := range 300 {
		getFor(t, client, p.url+"/public", fmt.Sprintf("h%d.evil.example", i))
	}
	resp, _ := getFor(t, client, p.url+"/public", "www.example")
	if st := cacheStatus(t, resp); !st.Hit {
		t.Errorf("GET for www.example after 300 other hosts: Cache-Status %q; want a hit", resp.Header.Get("Cache-Status"))
	}
	if n := o.count("/public"); n != 301 {
		t.Errorf("the origin got %d requests for /public; want 301, one per host", n)
	}
}
