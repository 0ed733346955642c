package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/acachecontrol/acache"
)

// TestMain fails the run if a goroutine outlives the tests: run must stop
// its server, its cache and its connections when its context is done.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// origin is a loopback origin that counts the requests for each path and
// remembers the last request's header and Host.
type origin struct {
	*httptest.Server

	slowStarted chan struct{} // closed when the first request for /slow arrives

	mu         sync.Mutex
	hits       map[string]int
	lastHeader map[string]http.Header
	lastHost   map[string]string
}

func newOrigin(t *testing.T) *origin {
	o := &origin{
		slowStarted: make(chan struct{}),
		hits:        map[string]int{},
		lastHeader:  map[string]http.Header{},
		lastHost:    map[string]string{},
	}
	var slowOnce sync.Once
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hits[r.URL.Path]++
		n := o.hits[r.URL.Path]
		o.lastHeader[r.URL.Path] = r.Header.Clone()
		o.lastHost[r.URL.Path] = r.Host
		o.mu.Unlock()

		h := w.Header()
		switch r.URL.Path {
		case "/public":
			h.Set("Cache-Control", "public, max-age=60")
		case "/private":
			h.Set("Cache-Control", "private, max-age=60")
		case "/cookie":
			h.Set("Cache-Control", "public, max-age=60")
			h.Set("Set-Cookie", "session=alice-secret")
		case "/hop":
			h.Set("Cache-Control", "public, max-age=60")
			h.Set("Connection", "X-Secret")
			h.Set("X-Secret", "1")
			h.Set("Keep-Alive", "timeout=5")
		case "/big":
			h.Set("Cache-Control", "public, max-age=60")
			io.WriteString(w, strings.Repeat("x", 100))
			return
		case "/flaky": // fine once, then failing
			if n > 1 {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			h.Set("Cache-Control", "public, max-age=0") // stored, stale at once
			h.Set("ETag", `"v1"`)                       // for which a validator is needed
		case "/page": // links built from X-Forwarded-Host, as many origins do
			h.Set("Cache-Control", "public, max-age=60")
			io.WriteString(w, `<script src="https://`+r.Header.Get("X-Forwarded-Host")+`/app.js"></script>`)
			return
		case "/etag": // stored, stale at once, revalidated with If-None-Match
			h.Set("Cache-Control", "public, max-age=0")
			h.Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case "/slow":
			slowOnce.Do(func() { close(o.slowStarted) })
			time.Sleep(200 * time.Millisecond)
		default:
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "body of "+r.URL.Path)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *origin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

func (o *origin) header(path string) (http.Header, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastHeader[path], o.lastHost[path]
}

// proxy is a run of the command under test.
type proxy struct {
	addr   string // host:port it listens on
	url    string // http://addr
	cancel context.CancelFunc
	done   chan error // receives what run returned

	stopOnce sync.Once
	stopped  bool // by the test, which checks what run returned
	err      error
}

// startProxy runs the command in a goroutine with args after
// -listen 127.0.0.1:0, as main would, and waits until it listens. Unless args
// say -host or -any-host, the proxy answers for 127.0.0.1, the host of its
// url. The proxy is stopped at the end of the test, which fails if run then
// returns an error.
func startProxy(t *testing.T, args ...string) *proxy {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &proxy{cancel: cancel, done: make(chan error, 1)}
	addrs := make(chan string, 1)
	if !slices.Contains(args, "-host") && !slices.Contains(args, "-any-host") {
		args = append([]string{"-host", "127.0.0.1"}, args...)
	}
	args = append([]string{"-listen", "127.0.0.1:0", "-log-level", "debug"}, args...)
	go func() {
		p.done <- run(ctx, args, t.Output(), func(addr string) { addrs <- addr })
	}()
	select {
	case p.addr = <-addrs:
	case err := <-p.done:
		cancel()
		t.Fatalf("run(%q) = %v before listening", args, err)
	}
	p.url = "http://" + p.addr
	t.Cleanup(func() {
		if p.stopped {
			return
		}
		if err := p.stop(); err != nil {
			t.Errorf("run returned %v after its context was cancelled; want nil", err)
		}
	})
	return p
}

// stop cancels the proxy's context, as SIGINT would, and returns what run
// returned.
func (p *proxy) stop() error {
	p.stopOnce.Do(func() {
		p.cancel()
		p.err = <-p.done
		p.stopped = true
	})
	return p.err
}

// newClient returns a plain client, without a cache of its own, whose idle
// connections are closed at the end of the test.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// get sends a GET with header through client and returns the response with
// its body read.
func get(t *testing.T, client *http.Client, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp, string(body)
}

func cacheStatus(t *testing.T, resp *http.Response) acache.CacheStatus {
	t.Helper()
	s, ok := acache.CacheStatusOf(resp)
	if !ok {
		t.Fatalf("GET %s: no Cache-Status in %q", resp.Request.URL, resp.Header)
	}
	return s
}

func TestSecondRequestIsAHit(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL, "-name", "edge")
	client := newClient(t)

	resp1, body1 := get(t, client, p.url+"/public", nil)
	if s := cacheStatus(t, resp1); s.Hit || !s.Stored || s.Cache != "edge" {
		t.Errorf("first GET: Cache-Status %q; want edge's, a stored miss", resp1.Header.Get("Cache-Status"))
	}
	resp2, body2 := get(t, client, p.url+"/public", nil)
	if s := cacheStatus(t, resp2); !s.Hit || s.Cache != "edge" {
		t.Errorf("second GET: Cache-Status %q; want edge's hit", resp2.Header.Get("Cache-Status"))
	}
	if resp2.StatusCode != http.StatusOK || body2 != body1 {
		t.Errorf("second GET = %d %q; want 200 %q, as the first", resp2.StatusCode, body2, body1)
	}
	if n := o.count("/public"); n != 1 {
		t.Errorf("origin got %d requests for /public; want 1, the second one a hit", n)
	}
}

func TestPrivateIsNotServedFromTheSharedCache(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL)
	client := newClient(t)

	for i := range 2 {
		resp, _ := get(t, client, p.url+"/private", nil)
		if s := cacheStatus(t, resp); s.Hit || s.Stored {
			t.Errorf("GET %d: Cache-Status %q; want a miss, not stored", i+1, resp.Header.Get("Cache-Status"))
		}
	}
	if n := o.count("/private"); n != 2 {
		t.Errorf("origin got %d requests for /private; want 2: a shared cache must not reuse a private response", n)
	}
}

func TestSetCookieIsNotReplayed(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL)
	client := newClient(t)

	resp1, _ := get(t, client, p.url+"/cookie", nil)
	if got := resp1.Header.Get("Set-Cookie"); got != "session=alice-secret" {
		t.Errorf("first GET: Set-Cookie %q; want the origin's, for the client that fetched it", got)
	}
	resp2, _ := get(t, client, p.url+"/cookie", nil)
	if s := cacheStatus(t, resp2); !s.Hit {
		t.Errorf("second GET: Cache-Status %q; want a hit (the response is public)", resp2.Header.Get("Cache-Status"))
	}
	if got := resp2.Header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("second GET, from the cache: Set-Cookie %q; want none: another client's session", got)
	}
}

func TestHopByHopFields(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL)
	client := newClient(t)

	// Precondition: the origin does send the fields the proxy must drop.
	direct, _ := get(t, client, o.URL+"/hop", nil)
	if direct.Header.Get("X-Secret") == "" || direct.Header.Get("Keep-Alive") == "" {
		t.Fatalf("origin sends %q; want X-Secret and Keep-Alive", direct.Header)
	}

	hop := http.Header{
		"Connection":          {"X-Hop"},
		"X-Hop":               {"1"},
		"Keep-Alive":          {"timeout=5"},
		"Proxy-Authorization": {"Basic cHJveHk6c2VjcmV0"},
	}
	// Precondition: the client does send them.
	get(t, client, o.URL+"/hop", hop)
	if seen, _ := o.header("/hop"); seen.Get("X-Hop") == "" || seen.Get("Connection") == "" {
		t.Fatalf("the origin, asked directly, got %q; want Connection and X-Hop", seen)
	}
	for i, want := range []bool{false, true} { // a miss, then a hit
		resp, _ := get(t, client, p.url+"/hop", hop)
		if s := cacheStatus(t, resp); s.Hit != want {
			t.Errorf("GET %d: Cache-Status %q; want hit %v", i+1, resp.Header.Get("Cache-Status"), want)
		}
		for _, name := range []string{"X-Secret", "Keep-Alive", "Connection"} {
			if got := resp.Header.Values(name); len(got) != 0 {
				t.Errorf("GET %d: the client got %s: %q; want it removed by the proxy", i+1, name, got)
			}
		}
	}

	seen, host := o.header("/hop")
	for _, name := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization", "Connection"} {
		if got := seen.Values(name); len(got) != 0 {
			t.Errorf("the origin got %s: %q; want it removed by the proxy", name, got)
		}
	}
	originURL, err := url.Parse(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	if host != originURL.Host {
		t.Errorf("the origin got Host %q; want its own, %q", host, originURL.Host)
	}
	if got := seen.Get("X-Forwarded-Host"); got != p.addr {
		t.Errorf("the origin got X-Forwarded-Host %q; want the proxy's address %q", got, p.addr)
	}
	if got := seen.Get("X-Forwarded-For"); got != "127.0.0.1" {
		t.Errorf("the origin got X-Forwarded-For %q; want 127.0.0.1", got)
	}
}

// TestUpgradePassesThrough checks the one hop-by-hop exchange the proxy
// forwards: a protocol switch the client asks for, here to a line echo, as
// WebSocket does.
func TestUpgradePassesThrough(t *testing.T) {
	t.Parallel()
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("origin: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo: " + line)
			brw.Flush()
		}
	}))
	t.Cleanup(o.Close)
	p := startProxy(t, "-origin", o.URL, "-host", "proxy")

	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /echo HTTP/1.1\r\nHost: proxy\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "echo" {
		t.Fatalf("upgrade through the proxy = %d %q; want 101 with Upgrade: echo", resp.StatusCode, resp.Header)
	}
	io.WriteString(conn, "hello\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo: hello\n" {
		t.Errorf("after the switch: read %q, %v; want the origin's echo", line, err)
	}

	// A shutdown ends the tunnel, still open, rather than wait for it.
	if err := p.stop(); err != nil {
		t.Errorf("run returned %v with a tunnel open; want nil", err)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("the tunnel after shutdown: read %q, %v; want it closed", rest, err)
	}
}

func TestStatsEndpoint(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL)
	client := newClient(t)

	get(t, client, p.url+"/public", nil)
	get(t, client, p.url+"/public", nil)

	resp, body := get(t, client, p.url+statsPath, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s = %d, Content-Type %q; want 200 application/json", statsPath, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var stats acache.Stats
	if err := json.Unmarshal([]byte(body), &stats); err != nil {
		t.Fatalf("GET %s: %v in %q", statsPath, err, body)
	}
	if stats.Hits < 1 || stats.Stores < 1 || stats.Misses < 1 {
		t.Errorf("GET %s = %+v; want at least one hit, one miss and one store", statsPath, stats)
	}

	post, err := client.Post(p.url+statsPath, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s = %d; want 405", statsPath, post.StatusCode)
	}
	if resp, _ := get(t, client, p.url+ownPrefix+"other", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %sother = %d; want 404", ownPrefix, resp.StatusCode)
	}
	if n := o.count(statsPath) + o.count(ownPrefix+"other"); n != 0 {
		t.Errorf("the origin got %d requests under %s; want none forwarded", n, ownPrefix)
	}
}

// TestLimitFlags checks that the flags reach the cache: a body larger than
// -max-body streams through and is not stored.
func TestLimitFlags(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL, "-max-body", "10")
	client := newClient(t)

	for i := range 2 {
		resp, body := get(t, client, p.url+"/big", nil)
		if len(body) != 100 {
			t.Errorf("GET %d: %d bytes; want all 100", i+1, len(body))
		}
		if s := cacheStatus(t, resp); s.Hit {
			t.Errorf("GET %d: Cache-Status %q; want a miss: 100 bytes > -max-body 10", i+1, resp.Header.Get("Cache-Status"))
		}
	}
	if n := o.count("/big"); n != 2 {
		t.Errorf("origin got %d requests for /big; want 2", n)
	}
}

func TestStaleOnErrorFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args       []string
		wantStatus int
	}{
		{nil, http.StatusServiceUnavailable},
		{[]string{"-stale-on-error"}, http.StatusOK},
	} {
		t.Run(strings.Join(append([]string{"flags"}, tc.args...), " "), func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t)
			p := startProxy(t, append([]string{"-origin", o.URL}, tc.args...)...)
			client := newClient(t)

			if resp, _ := get(t, client, p.url+"/flaky", nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("first GET = %d; want 200", resp.StatusCode)
			}
			resp, body := get(t, client, p.url+"/flaky", nil) // stale; the origin fails
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("second GET, origin down = %d %q (Cache-Status %q); want %d",
					resp.StatusCode, body, resp.Header.Get("Cache-Status"), tc.wantStatus)
			}
		})
	}
}

// TestGracefulShutdown cancels run's context, as SIGINT or SIGTERM does in
// main, while a request is in flight: the request completes and run returns
// nil.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL)
	client := newClient(t)

	type result struct {
		resp *http.Response
		body string
		err  error
	}
	results := make(chan result, 1)
	go func() {
		resp, err := client.Get(p.url + "/slow")
		if err != nil {
			results <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		results <- result{resp, string(body), err}
	}()

	<-o.slowStarted // the request is at the origin, which takes 200 ms
	if err := p.stop(); err != nil {
		t.Errorf("run returned %v after its context was cancelled; want nil", err)
	}
	r := <-results
	if r.err != nil || r.resp.StatusCode != http.StatusOK || r.body != "body of /slow" {
		t.Fatalf("the request in flight at shutdown: err %v, body %q; want 200 %q", r.err, r.body, "body of /slow")
	}
	if _, err := client.Get(p.url + "/public"); err == nil {
		t.Errorf("GET after shutdown succeeded; want the listener closed")
	}
}

// TestShutdownTimeout cancels run's context while a request is in flight
// that cannot finish within -shutdown-timeout: run gives up on it and says so.
func TestShutdownTimeout(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	p := startProxy(t, "-origin", o.URL, "-shutdown-timeout", "1ns")
	client := newClient(t)

	failed := make(chan error, 1)
	go func() {
		resp, err := client.Get(p.url + "/slow")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		failed <- err
	}()
	<-o.slowStarted
	if err := p.stop(); err == nil || !strings.Contains(err.Error(), "in flight") {
		t.Errorf("run returned %v with a request in flight past the shutdown timeout; want an error saying so", err)
	}
	if err := <-failed; err == nil {
		t.Errorf("the request in flight past the shutdown timeout succeeded; want it cut off")
	}
}

// TestBadFlags checks that run refuses each misconfiguration, before it
// listens, with an error that names what is wrong.
func TestBadFlags(t *testing.T) {
	t.Parallel()
	valid := func(more ...string) []string {
		return slices.Concat([]string{"-origin", "http://api.example.com", "-host", "www.example.com"}, more)
	}
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{[]string{}, "-origin is required"},
		{[]string{"-host", "a.example", "-origin", ""}, "-origin is required"},
		{[]string{"-host", "a.example", "-origin", "api.example.com"}, "scheme"},
		{[]string{"-host", "a.example", "-origin", "ftp://api.example.com"}, "scheme"},
		{[]string{"-host", "a.example", "-origin", "http://"}, "no host"},
		{[]string{"-host", "a.example", "-origin", "://api.example.com"}, "-origin"},
		{[]string{"-host", "a.example", "-origin", "http://user:pass@api.example.com"}, "credentials"},
		{[]string{"-origin", "http://api.example.com"}, "-host is required"},
		{valid("-any-host"), "exclude each other"},
		{[]string{"-origin", "http://api.example.com", "-host", ""}, "empty host name"},
		{[]string{"-origin", "http://api.example.com", "-host", "a.example,"}, "empty host name"},
		{[]string{"-origin", "http://api.example.com", "-host", "a.example:8080"}, "without a port"},
		{[]string{"-origin", "http://api.example.com", "-host", "https://a.example"}, "not a host name"},
		{[]string{"-origin", "http://api.example.com", "-host", "a.example/x"}, "not a host name"},
		{[]string{"-origin", "http://api.example.com", "-host", "*.example.com"}, "wildcards"},
		{valid("-max-entries", "-1"), "-max-entries"},
		{valid("-max-bytes", "0"), "-max-bytes"},
		{valid("-collapse-wait", "0s"), "-collapse-wait"},
		{valid("-read-timeout", "-1s"), "-read-timeout"},
		{valid("-write-timeout", "-1s"), "-write-timeout"},
		{valid("-log-level", "loud"), "-log-level"},
		{valid("-log-format", "xml"), "-log-format"},
		{valid("-no-such-flag"), "no-such-flag"},
		{valid("extra"), "unexpected arguments"},
		{valid("-listen", "127.0.0.1:-1"), "listen"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a run that got past its flags stops at once
		ready := func(string) { t.Errorf("run(%q) started listening; want an error", tc.args) }
		if err := run(ctx, tc.args, io.Discard, ready); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v; want an error about %s", tc.args, err, tc.want)
		}
	}
}

// TestGoodFlags is TestBadFlags's control: the same run with valid flags
// starts, and returns nil once its context is done.
func TestGoodFlags(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"-origin", "https://api.example.com/v1", "-listen", "127.0.0.1:0",
			"-host", "www.example.com, Example.com", "-host", "[::1]",
			"-max-entries", "5", "-max-bytes", "1000", "-max-body", "100",
			"-backend-timeout", "2s", "-collapse-wait", "1s", "-stale-on-error",
			"-name", "edge", "-log-level", "warn", "-log-format", "json",
			"-read-timeout", "5s", "-write-timeout", "0", "-shutdown-timeout", "1s"},
		{"-origin", "https://api.example.com", "-listen", "127.0.0.1:0", "-any-host",
			"-read-timeout", "0", "-write-timeout", "1m"},
	} {
		listened := false
		if err := run(ctx, args, io.Discard, func(string) { listened = true }); err != nil || !listened {
			t.Errorf("run(%q) = %v, listened %v; want nil after listening", args, err, listened)
		}
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"-h"}, &out, nil); err != nil {
		t.Errorf("run(-h) = %v; want nil", err)
	}
	for _, flag := range []string{"-origin", "-host", "-any-host", "-read-timeout", "-write-timeout"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("run(-h) printed %q; want the usage of %s", out.String(), flag)
		}
	}
}
