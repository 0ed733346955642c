package acache_test

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
)

// The model test drives random sequences of requests (users, cookies, header
// spellings, methods, request directives), origin changes, clock steps and
// backend faults through one Transport, and checks every response against
// what the origin would have answered that very request: never a response
// for another user, variant or URL, never a stale one without permission,
// never bytes the origin did not send, never a negative Age, and the store
// within its bounds after every step.

// modelPath is one resource of the model origin and the rules it is served
// with.
type modelPath struct {
	path     string
	status   int
	header   http.Header
	lifetime time.Duration // the freshness max-age gives it; -1 for never fresh
	mustRev  bool          // must-revalidate: no max-stale
	private  bool          // Cache-Control: private: tied to the user's credentials
	vary     bool          // Vary: Accept-Language
	neverHit bool          // no-cache or Vary: *: never served without the origin
	// neverHitShared: never served without the origin by a shared cache
	// (private, which no rule overrides).
	neverHitShared bool
	// ruled: the Cache's rule stores it with StoreAlways for lifetime,
	// over its no-store.
	ruled bool
	// noStore304: its 304s say no-store, which removes the stored
	// response instead of freshening it: a hit is fresh only from a 200.
	noStore304 bool
	// lyingParts: it answers a Range with a 206 whose body is longer than
	// its Content-Range, which the cache must never store or serve.
	lyingParts bool
}

var modelPaths = []modelPath{
	{path: "/fresh", status: 200, header: http.Header{"Cache-Control": {"max-age=60"}}, lifetime: 60 * time.Second},
	{path: "/vary", status: 200, header: http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"Accept-Language"}}, lifetime: 60 * time.Second, vary: true},
	{path: "/private", status: 200, header: http.Header{"Cache-Control": {"private, max-age=60"}}, lifetime: 60 * time.Second, private: true},
	{path: "/nocache", status: 200, header: http.Header{"Cache-Control": {"no-cache"}}, lifetime: -1, neverHit: true},
	{path: "/short", status: 200, header: http.Header{"Cache-Control": {"max-age=5"}}, lifetime: 5 * time.Second},
	{path: "/mustrev", status: 200, header: http.Header{"Cache-Control": {"max-age=10, must-revalidate"}}, lifetime: 10 * time.Second, mustRev: true},
	{path: "/star", status: 200, header: http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*"}}, lifetime: 60 * time.Second, neverHit: true},
	{path: "/cookie", status: 200, header: http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"s=new"}}, lifetime: 60 * time.Second},
	{path: "/missing", status: 404, header: http.Header{"Cache-Control": {"max-age=30"}}, lifetime: 30 * time.Second},
	{path: "/ruled", status: 200, header: http.Header{"Cache-Control": {"no-store"}}, lifetime: 20 * time.Second, ruled: true},
	{path: "/ruled-private", status: 200, header: http.Header{"Cache-Control": {"no-store, private"}}, lifetime: 20 * time.Second,
		ruled: true, private: true, neverHitShared: true},
	{path: "/no-store-304", status: 200, header: http.Header{"Cache-Control": {"max-age=5"}}, lifetime: 5 * time.Second, noStore304: true},
	{path: "/part", status: 200, header: http.Header{"Cache-Control": {"max-age=60"}, "Accept-Ranges": {"bytes"}}, lifetime: 60 * time.Second,
		lyingParts: true},
}

// modelRule is the Cache's rule in the model: StoreAlways, for the
// lifetime of the ruled paths.
func modelRule(req *http.Request, _ *http.Response) acache.Rule {
	i := slices.IndexFunc(modelPaths, func(p modelPath) bool { return p.path == req.URL.Path })
	if i < 0 || !modelPaths[i].ruled {
		return acache.Rule{}
	}
	return acache.Rule{Store: acache.StoreAlways, FreshFor: modelPaths[i].lifetime}
}

// wireValues returns the values of the field name in h as the wire carries
// them: names compared case-insensitively, lines in the order net/http
// writes them (sorted by the name as spelled).
func wireValues(h http.Header, name string) []string {
	var names []string
	for n := range h {
		if strings.EqualFold(n, name) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var values []string
	for _, n := range names {
		values = append(values, h[n]...)
	}
	return values
}

// modelOrigin answers as the resources of modelPaths, at a version per path
// that the test bumps, on a clock the test moves.
type modelOrigin struct {
	mu      sync.Mutex
	now     time.Time
	version map[string]int
	// contact is when the origin last sent or confirmed (304) each body: a
	// stored copy of it is at least now - contact old.
	contact map[string]time.Time
	// step is the step under way; contactStep the step at which each body
	// was last sent or confirmed, postStep the last step at which a POST
	// to each path succeeded, invalidating it for every user (RFC 9111
	// Section 4.4).
	step                  int
	contactStep, postStep map[string]int
	// trickle makes the origin send its bodies a few bytes at a time: a
	// slow origin.
	trickle bool
}

// trickleReader returns at most 3 bytes a Read: a slow origin.
type trickleReader struct{ r io.Reader }

func (t trickleReader) Read(p []byte) (int, error) { return t.r.Read(p[:min(len(p), 3)]) }

func (o *modelOrigin) Now() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.now
}

func (o *modelOrigin) advance(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.now = o.now.Add(d)
}

func (o *modelOrigin) bump(path string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.version[path]++
}

// fingerprint is the body the origin sends for req: everything the response
// was selected by, so that a response served to the wrong request shows.
func fingerprint(p modelPath, req *http.Request, version int) string {
	fp := fmt.Sprintf("%s|auth=%q|v%d", p.path, wireValues(req.Header, "Authorization"), version)
	if p.private {
		fp += fmt.Sprintf("|cookie=%q", wireValues(req.Header, "Cookie"))
	}
	if p.vary {
		fp += fmt.Sprintf("|lang=%q", wireValues(req.Header, "Accept-Language"))
	}
	return fp
}

func (o *modelOrigin) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	o.mu.Lock()
	now, version, trickle := o.now, o.version[req.URL.Path], o.trickle
	o.mu.Unlock()
	i := slices.IndexFunc(modelPaths, func(p modelPath) bool { return p.path == req.URL.Path })
	p := modelPaths[i]
	h := p.header.Clone()
	h.Set("Date", now.Format(http.TimeFormat))
	etag := fmt.Sprintf(`"v%d"`, version)
	h.Set("Etag", etag)
	resp := &http.Response{StatusCode: p.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: http.NoBody, Request: req}
	body := fingerprint(p, req, version)
	notModified := slices.Contains(wireValues(req.Header, "If-None-Match"), etag) && req.Method != http.MethodPost
	o.mu.Lock()
	if !(notModified && p.noStore304) { // such a 304 confirms nothing stored
		o.contact[body] = now
	}
	if req.Method == http.MethodPost {
		if p.status < 400 {
			o.postStep[p.path] = o.step
		}
	} else if !(notModified && p.noStore304) {
		o.contactStep[body] = o.step
	}
	o.mu.Unlock()
	if notModified {
		resp.StatusCode = http.StatusNotModified
		h.Del("Set-Cookie")
		if p.noStore304 {
			h.Set("Cache-Control", "no-store, max-age=60")
		}
		return resp, nil
	}
	if ranges := wireValues(req.Header, "Range"); p.lyingParts && len(ranges) == 1 && req.Method == http.MethodGet {
		var first, last int
		if _, err := fmt.Sscanf(ranges[0], "bytes=%d-%d", &first, &last); err == nil && last < len(body) {
			// A 206 of the range asked for, with more bytes than it says.
			resp.StatusCode = http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(body)))
			resp.ContentLength = -1
			resp.Body = io.NopCloser(strings.NewReader(body[first:last+1] + "!!junk!!"))
			return resp, nil
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	resp.ContentLength = int64(len(body))
	if req.Method != http.MethodHead {
		resp.Body = io.NopCloser(strings.NewReader(body))
		if trickle {
			resp.Body = io.NopCloser(trickleReader{strings.NewReader(body)})
		}
	}
	return resp, nil
}

// modelFaults are the backend faults a step can switch on, one at a time;
// each is one the Cache must survive without a wrong response.
var modelFaults = []func(f *acachetest.FaultyBackend){
	func(f *acachetest.FaultyBackend) {
		f.Inject(acachetest.OpGet, acachetest.Fault{Err: errors.New("get")})
	},
	func(f *acachetest.FaultyBackend) {
		f.Inject(acachetest.OpSet, acachetest.Fault{Err: errors.New("set")})
	},
	func(f *acachetest.FaultyBackend) {
		f.Inject(acachetest.OpGet, acachetest.Fault{Corrupt: func(_ string, e *acache.Entry) *acache.Entry {
			e.Body = e.Body[:len(e.Body)/2] // its Content-Length now lies
			return e
		}})
	},
	func(f *acachetest.FaultyBackend) { f.Inject(acachetest.OpMoveToEnd, acachetest.Fault{Panic: "move"}) },
	func(f *acachetest.FaultyBackend) {
		f.Inject(acachetest.OpPopOldest, acachetest.Fault{Err: errors.New("evict")})
	},
	func(f *acachetest.FaultyBackend) {
		f.Inject(acachetest.OpLen, acachetest.Fault{Err: errors.New("len")})
	},
}

const (
	modelMaxEntries = 10
	modelMaxBytes   = 8 << 10
)

// runModel runs the steps encoded in ops, four bytes a step, in one mode,
// and returns how many responses came from the cache.
func runModel(t *testing.T, ops []byte, shared bool) (hits int) {
	origin := &modelOrigin{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
		version: map[string]int{}, contact: map[string]time.Time{},
		contactStep: map[string]int{}, postStep: map[string]int{}}
	lru := acache.NewLRU()
	faulty := acachetest.NewFaultyBackend(lru)
	defer faulty.Release()
	opts := []acache.Option{acache.WithClock(origin.Now), acache.WithMaxEntries(modelMaxEntries), acache.WithMaxBytes(modelMaxBytes),
		acache.WithRule(modelRule)}
	if shared {
		opts = append(opts, acache.WithShared())
	}
	cache := acache.NewCache(faulty, opts...)
	tr := &acache.Transport{Transport: origin, Cache: cache}

	users := []string{"", "", "", "", "Bearer alice", "Bearer bob"}
	cookies := []string{"", "s=a", "s=b"}
	langs := [][]string{nil, {"en"}, {"fr"}, {""}}
	directives := []string{"", "", "", "", "", "", "max-age=0", "max-stale=30", "no-cache", "only-if-cached", "min-fresh=10", ""}
	for step := 0; len(ops) >= 4; step++ {
		op := ops[:4]
		ops = ops[4:]
		// Half the steps on /fresh, /vary, /private and /short, so that hits
		// happen; the rest spread over every path.
		p := modelPaths[int(op[1])%len(modelPaths)]
		if op[1]%2 == 0 {
			p = modelPaths[[]int{0, 1, 2, 4}[op[1]/2%4]]
		}
		if op[0] >= 240 {
			origin.bump(p.path) // the resource changes at the origin
		}
		// Steps that land on and beside the lifetimes (5, 10, 30, 60 s).
		origin.advance([]time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 4, 5, 6, 10, 29, 31}[op[0]%16] * time.Second)
		if op[3] >= 240 { // a backend fault during this step only
			modelFaults[int(op[3])%len(modelFaults)](faulty)
		}

		method := http.MethodGet
		switch op[1] / 16 % 8 {
		case 6:
			method = http.MethodHead
		case 7:
			method = http.MethodPost
		}
		req, _ := http.NewRequest(method, "http://origin.test"+p.path, nil)
		spell := func(name string) string {
			if op[2]/18%2 == 1 {
				return strings.ToLower(name) // the wire does not care
			}
			return name
		}
		if u := users[int(op[2])%len(users)]; u != "" {
			req.Header[spell("Authorization")] = []string{u}
		}
		if c := cookies[int(op[2])/3%4%len(cookies)]; c != "" {
			req.Header[spell("Cookie")] = []string{c}
		}
		if l := langs[int(op[3])%len(langs)]; l != nil {
			req.Header[spell("Accept-Language")] = l
		}
		directive := directives[int(op[3])/4%len(directives)]
		if directive != "" {
			req.Header[spell("Cache-Control")] = []string{directive}
		}
		if p.lyingParts {
			if r := []string{"bytes=0-9", "bytes=5-14", ""}[int(op[2])/7%3]; r != "" {
				req.Header[spell("Range")] = []string{r}
			}
		}

		origin.mu.Lock()
		origin.step = step
		origin.trickle = op[0]&1 == 1
		origin.mu.Unlock()
		resp, err := tr.RoundTrip(req)
		faulty.ClearAll()
		if err != nil {
			t.Fatalf("step %d: %s %s: %v (a cache failure reached the caller)", step, method, p.path, err)
		}
		// How the caller reads: all of it, at once or a byte at a time,
		// or it abandons the body half read or unread.
		reading := op[0] / 16 % 8 // 5: a byte at a time; 6: half; 7: unread
		if reading >= 6 {
			if reading == 6 {
				io.CopyN(io.Discard, resp.Body, resp.ContentLength/2)
			}
			resp.Body.Close()
			awaitModelFills(t, fmt.Sprintf("step %d", step), cache)
			checkModelBounds(t, fmt.Sprintf("step %d", step), cache, lru)
			continue
		}
		var body []byte
		if reading == 5 {
			body, err = io.ReadAll(iotest.OneByteReader(resp.Body))
		} else {
			body, err = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		if err != nil {
			t.Fatalf("step %d: %s %s: reading the body: %v", step, method, p.path, err)
		}
		status, _ := acache.CacheStatusOf(resp)
		what := fmt.Sprintf("step %d: %s %s (header %v) got %d %q, Cache-Status %q",
			step, method, p.path, req.Header, resp.StatusCode, body, resp.Header.Values("Cache-Status"))

		if resp.StatusCode == http.StatusGatewayTimeout {
			if directive != "only-if-cached" {
				t.Fatalf("%s: a 504 the request did not ask for", what)
			}
			continue
		}
		if age := resp.Header.Get("Age"); age != "" {
			if n, err := strconv.ParseInt(age, 10, 64); err != nil || n < 0 {
				t.Fatalf("%s: Age %q", what, age)
			}
		}
		if status.Hit {
			hits++
			checkModelHit(t, what, p, req, resp, string(body), method, directive, origin, shared)
		}
		if resp.StatusCode == http.StatusPartialContent {
			if status.Hit {
				checkModelPart(t, what, p, req, resp, string(body), origin, shared)
			}
			// Otherwise the origin's own 206, passed on: not the cache's bytes.
			checkModelBounds(t, fmt.Sprintf("step %d", step), cache, lru)
			continue
		}
		if method == http.MethodHead || resp.StatusCode == http.StatusNotModified {
			if len(body) != 0 {
				t.Fatalf("%s: a body on a HEAD or 304 response", what)
			}
		} else {
			checkModelBody(t, what, p, req, string(body), origin, shared)
			if status.Hit {
				checkModelNotInvalidated(t, what, p, string(body), origin, shared)
			}
		}
		checkModelBounds(t, fmt.Sprintf("step %d", step), cache, lru)
	}
	return hits
}

// checkModelHit fails the test if a response served without the origin was
// not allowed to be: stale without permission, never reusable, or carrying a
// stored Set-Cookie.
func checkModelHit(t *testing.T, what string, p modelPath, req *http.Request, resp *http.Response, body, method, directive string, origin *modelOrigin, shared bool) {
	t.Helper()
	if p.neverHit || p.neverHitShared && shared || method == http.MethodPost {
		t.Fatalf("%s: served from the cache, which must never answer it alone", what)
	}
	if len(resp.Header.Values("Set-Cookie")) > 0 {
		t.Fatalf("%s: a hit replayed Set-Cookie", what)
	}
	age, _ := strconv.ParseInt(resp.Header.Get("Age"), 10, 64)
	// The true age is at least the time since the origin last sent or
	// confirmed what this request gets: the Age served must not be less.
	origin.mu.Lock()
	var since time.Duration
	if at, _, ok := origin.lastContact(p, body, shared); ok {
		since = origin.now.Sub(at)
	}
	origin.mu.Unlock()
	if time.Duration(age)*time.Second < since {
		t.Fatalf("%s: Age %d s, but the origin last sent it %v ago", what, age, since)
	}
	ageD := max(time.Duration(age)*time.Second, since)
	allowed := p.lifetime
	switch directive {
	case "max-stale=30":
		if !p.mustRev {
			allowed += 30 * time.Second
		}
	case "max-age=0":
		allowed = 0
	case "no-cache":
		t.Fatalf("%s: a no-cache request was answered from the cache", what)
	case "min-fresh=10":
		allowed -= 10 * time.Second
	}
	// Fresh means lifetime > age (RFC 9111 Section 4.2); max-stale and
	// min-fresh are inclusive bounds (Sections 5.2.1.2, 5.2.1.3).
	fresh := ageD < allowed || (ageD == allowed && (directive == "max-age=0" || directive == "max-stale=30" || directive == "min-fresh=10"))
	if !fresh {
		t.Fatalf("%s: served at age %v past what it may be (%v)", what, ageD, allowed)
	}
}

// checkModelPart fails the test unless body, a 206 the cache served, holds
// exactly the bytes its Content-Range names of a body the origin sent for
// this request (RFC 9111 Section 3.3): never bytes a part carried past its
// range.
func checkModelPart(t *testing.T, what string, p modelPath, req *http.Request, resp *http.Response, body string, origin *modelOrigin, shared bool) {
	t.Helper()
	var first, last, size int
	if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &size); err != nil {
		t.Fatalf("%s: a 206 from the cache with Content-Range %q", what, resp.Header.Get("Content-Range"))
	}
	origin.mu.Lock()
	current := origin.version[p.path]
	origin.mu.Unlock()
	// A shared cache serves to any user what it stored for a request
	// without Authorization (RFC 9111 Section 3.5).
	anon := req.Clone(req.Context())
	for name := range anon.Header {
		if strings.EqualFold(name, "Authorization") {
			delete(anon.Header, name)
		}
	}
	candidates := func(v int) []string {
		if shared && !p.private {
			return []string{fingerprint(p, req, v), fingerprint(p, anon, v)}
		}
		return []string{fingerprint(p, req, v)}
	}
	for v := current; v >= 0; v-- {
		for _, whole := range candidates(v) {
			if size == len(whole) && last < len(whole) && body == whole[first:last+1] {
				return
			}
		}
	}
	t.Fatalf("%s: a 206 from the cache whose bytes the origin never placed there", what)
}

// checkModelNotInvalidated fails the test if a hit served a body the origin
// last sent before a POST to its path succeeded: that POST invalidated every
// stored response for the URI, whoever's (RFC 9111 Section 4.4).
func checkModelNotInvalidated(t *testing.T, what string, p modelPath, body string, origin *modelOrigin, shared bool) {
	t.Helper()
	origin.mu.Lock()
	defer origin.mu.Unlock()
	_, step, _ := origin.lastContact(p, body, shared)
	if posted, ok := origin.postStep[p.path]; ok && step <= posted {
		t.Fatalf("%s: a response stored before the POST at step %d that invalidated it", what, posted)
	}
}

// checkModelBody fails the test unless body is what the origin sent for
// exactly this request, at a version it has served.
func checkModelBody(t *testing.T, what string, p modelPath, req *http.Request, body string, origin *modelOrigin, shared bool) {
	t.Helper()
	origin.mu.Lock()
	current := origin.version[p.path]
	origin.mu.Unlock()
	// A shared cache serves to any user what it may store for any: a
	// response to a request without Authorization, and one to a request
	// with it that must-revalidate lets any cache reuse (RFC 9111 Section
	// 3.5). Neither holds another user's private answer.
	anyUser := shared && !p.private && (strings.Contains(body, "|auth=[]|") || p.mustRev)
	for v := current; v >= 0; v-- {
		want := fingerprint(p, req, v)
		if body == want || anyUser && withoutAuth(body) == withoutAuth(want) {
			return
		}
	}
	t.Fatalf("%s: not a body the origin sent for this request (want %q at some version ≤ %d)", what, fingerprint(p, req, current), current)
}

// lastContact returns when, and at which step, the origin last sent or
// confirmed (304) body, a response it served. In a shared cache, which
// reuses a response across users where RFC 9111 Section 3.5 allows it, a
// confirmation sent for another user's request counts too. The caller holds
// o.mu.
func (o *modelOrigin) lastContact(p modelPath, body string, shared bool) (at time.Time, step int, ok bool) {
	at, ok = o.contact[body]
	step = o.contactStep[body]
	if shared && !p.private {
		key := withoutAuth(body)
		for b, t := range o.contact {
			if withoutAuth(b) == key && (!ok || t.After(at)) {
				at, step, ok = t, o.contactStep[b], true
			}
		}
	}
	return at, step, ok
}

// withoutAuth returns a fingerprint without the Authorization it was sent for.
func withoutAuth(fingerprint string) string {
	start := strings.Index(fingerprint, "|auth=[")
	end := strings.Index(fingerprint, "]|v")
	if start < 0 || end < start {
		return fingerprint
	}
	return fingerprint[:start] + fingerprint[end+1:]
}

// awaitModelFills waits until no body is in flight: the fills of bodies
// their callers abandoned have ended (they go on without a reader).
func awaitModelFills(t *testing.T, when string, cache *acache.Cache) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); cache.Stats().InFlightBytes != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d bytes still in flight 10 s after their callers abandoned them", when, cache.Stats().InFlightBytes)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func checkModelBounds(t *testing.T, when string, cache *acache.Cache, lru acache.Backend) {
	t.Helper()
	s := cache.Stats()
	n, _ := lru.Len(t.Context())
	if n > modelMaxEntries || s.Bytes > modelMaxBytes || s.InFlightBytes != 0 {
		t.Fatalf("%s: %d entries, %d bytes, %d in flight: past the bounds (%d entries, %d bytes) or leaking reservations",
			when, n, s.Bytes, s.InFlightBytes, modelMaxEntries, modelMaxBytes)
	}
}

// TestTransportModel runs seeded random sequences in both modes.
func TestTransportModel(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	hits := 0
	for range 12 {
		ops := make([]byte, 600)
		for i := range ops {
			ops[i] = byte(rng.IntN(256))
		}
		hits += runModel(t, ops, false)
		hits += runModel(t, ops, true)
	}
	if hits < 100 {
		t.Fatalf("%d hits in 3,600 steps: the model no longer exercises the cache", hits)
	}
}

func FuzzTransportModel(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 8, 0, 2, 0, 8, 0, 1, 0})        // alice, then bob, on /fresh
	f.Add([]byte{0, 2, 0, 5, 0, 2, 3, 5, 0, 2, 0, 5})        // /private with two cookies
	f.Add([]byte{0, 1, 19, 1, 0, 1, 1, 2, 0, 1, 19, 1})      // /vary, header spellings
	f.Add([]byte{0, 4, 0, 0, 7, 4, 0, 0, 7, 4, 0, 8})        // /short ages past its lifetime; max-stale
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 227, 0, 0, 0, 0})      // a corrupt entry from the backend
	f.Add([]byte{0, 0, 0, 0, 240, 112, 0, 0, 0, 0, 0, 0})    // a POST invalidates, the origin changes
	f.Add([]byte{0, 5, 0, 0, 7, 5, 0, 8, 7, 5, 0, 16, 0, 0}) // must-revalidate with max-stale
	f.Fuzz(func(t *testing.T, ops []byte) {
		runModel(t, ops, false)
		runModel(t, ops, true)
	})
}
