package acache

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// This file holds what the Cache makes of the origin's response: stored or
// refused (RFC 9111 Section 3), the stored response freshened by a 304 or a
// HEAD (Sections 3.2, 4.3.4, 4.3.5), and what an unsafe request invalidates
// (Section 4.4).

// admission is what the Cache makes of the origin's response: the entry to
// store once the body is complete, if any, and the Cache-Status to report.
type admission struct {
	entry  *Entry
	status CacheStatus
}

// admit applies the storage rules of RFC 9111 Section 3 to resp, the origin's
// answer to req, and invalidates what an unsafe request changed
// (Section 4.4). A failure in it only means nothing is stored.
func (c *Cache) admit(d *decision, resp *http.Response, times exchangeTimes) (a admission) {
	req := d.req
	a.status = CacheStatus{Cache: c.name, Fwd: d.Fwd, FwdStatus: resp.StatusCode, Detail: d.Reason.String()}
	failed := false
	defer func() {
		if failed {
			a = admission{status: CacheStatus{Cache: c.name, Fwd: d.Fwd, FwdStatus: resp.StatusCode, Detail: policy.ReasonCacheError.String()}}
		}
	}()
	defer c.recovered("store", &failed)
	if c.disabled.Load() != nil {
		return a // nothing to store into, nothing to invalidate
	}

	if !policy.SafeMethod(req.Method) && resp.StatusCode < 400 {
		c.invalidate(req, d.budget, resp)
		d.invalidated = c.invalidations.seen() // its own response is newer than what it invalidated
	}
	if d.bypass {
		get, ok := c.postAsGET(d, resp)
		if !ok {
			return a
		}
		d, req = &get, get.req
	}
	if resp.StatusCode == http.StatusNotModified && d.entry != nil {
		// A 304 meant for the caller's own validators still tells us the
		// stored response is current (RFC 9111 Section 4.3.4).
		if policy.Matches304(resp.Header, d.entry.Header, times.response) {
			c.freshen(req, d, resp.Header, times) // a refusal is the caller's 304 all the same
		}
		return a
	}
	if req.Method == http.MethodHead && resp.StatusCode == http.StatusOK {
		c.freshenFromHEAD(req, d.budget, resp, times)
	}
	e, age, refused := c.entryFor(d, resp, times)
	if refused != 0 {
		a.status.Detail = refused.String()
		c.notStored(refused)
		if refused&policy.RefuseAddedBelow != 0 {
			c.addedBelowOnce.Do(func() {
				c.logger.Warn("acache: responses are not cached: "+addedBelowWords, "url", req.URL.Redacted())
			})
		}
		return a
	}
	a.entry = e
	a.status.Stored = true
	a.status.TTL = policy.TTL(e.meta.Lifetime, age)
	return a
}

// entryFor returns the entry that stores resp, the origin's answer to d's
// request, with its age, or every reason it is not stored: the rules of
// RFC 9111 Section 3 (refusalsOf), a rule of the Cache's (WithRule), the
// breaker, a response stale on arrival with nothing to revalidate it with,
// or larger than the whole cache.
func (c *Cache) entryFor(d *decision, resp *http.Response, times exchangeTimes) (*Entry, time.Duration, policy.Refusal) {
	cc := c.responseCacheControl(resp.Header)
	rule := c.ruleFor(d.req, resp)
	refused := c.refusalsOf(d, resp, cc)
	if c.breaker != nil && c.breaker.open() {
		refused |= policy.RefuseBackendUnavailable // known now: Cache-Status says no "stored"
	}
	switch rule.Store {
	case StoreNever:
		refused |= policy.RefuseRule
	case StoreAlways:
		refused &^= policy.Overridable // and nothing else: see StoreAlways
	}
	if refused != 0 {
		return nil, 0, refused
	}
	e := c.newEntry(d, resp, cc, times, min(max(rule.FreshFor, 0), policy.MaxAge))
	age := policy.CurrentAge(&e.meta.Facts, e.ResponseTime, times.response)
	switch left := e.meta.Lifetime - age; {
	case left <= 0 && !policy.HasValidator(e.Header) && !policy.StaleUsable(&e.meta.Facts, -left, c.shared):
		// Stale on arrival, nothing to revalidate it with, and no window
		// in which it may be served stale (a CDN's max-age=60,
		// stale-while-revalidate=600 with Age: 75 has one).
		return nil, 0, policy.RefuseStaleOnArrival
	case e.Size()+max(0, resp.ContentLength) > c.maxBytes:
		return nil, 0, policy.RefuseTooLarge // for the whole cache: never stored
	}
	return e, age, 0
}

// postAsGET returns, for a response to POST that RFC 9110 Section 9.3.3 lets
// a cache reuse for a later GET, the decision of that GET: one with explicit
// freshness (RFC 9111 Section 4.2.1) and a Content-Location that names the
// POST's target URI. The response is then stored under the key of the GET,
// after the POST invalidated what was stored there (Section 4.4); every rule
// of RFC 9111 Section 3 still applies, as to a GET.
func (c *Cache) postAsGET(d *decision, resp *http.Response) (decision, bool) {
	req := d.req
	if req == nil || req.Method != http.MethodPost || d.fields.invalid {
		return decision{}, false
	}
	location := resp.Header.Get("Content-Location")
	cc := c.responseCacheControl(resp.Header)
	_, expires := resp.Header["Expires"]
	if location == "" || !(cc.MaxAge.Set || c.shared && cc.SMaxAge.Set || expires && !cc.Targeted) {
		return decision{}, false
	}
	u, err := req.URL.Parse(location)
	if err != nil || !sameOrigin(u, req.URL) {
		return decision{}, false
	}
	target := c.keyFor(http.MethodGet, req.URL, req.Host, "")
	if target == "" || c.keyFor(http.MethodGet, u, req.Host, "") != target {
		return decision{}, false
	}
	view := *req
	view.Method = http.MethodGet
	get := decision{req: &view, fields: d.fields, now: d.now, Verdict: d.Verdict, invalidated: d.invalidated}
	get.key = c.key(&view)
	if len(req.Header["Cache-Control"]) > 0 {
		get.reqCC = httpsyntax.ParseRequestCacheControl(req.Header)
	}
	return get, get.key != ""
}

// refusalsOf returns every reason resp, the origin's answer to d's request,
// is not stored, or the empty set if it may be: the rules of RFC 9111
// Section 3, and what the cache cannot prove of the body.
func (c *Cache) refusalsOf(d *decision, resp *http.Response, cc httpsyntax.CacheControl) policy.Refusal {
	req := d.req
	r := policy.Storable(req, d.reqCC, resp, cc, c.shared)
	if credentialsAddedBelow(req, resp.Request) && !cc.Public && !cc.MustRevalidate && !cc.SMaxAge.Set {
		// The request the origin answered carried credentials the cache
		// never saw (an auth transport inside the cache): the response may
		// be that user's alone, and the key has no partition for it. Only
		// what RFC 9111 Section 3.5 lets any cache reuse is stored.
		r |= policy.RefuseAddedBelow
	}
	if unframed(req, resp) && !c.storeUnframed {
		r |= policy.RefuseUnframed
	}
	if resp.ContentLength > c.maxBodySize {
		r |= policy.RefuseTooLarge
	}
	return r
}

// newEntry returns the entry that stores resp, without its body, with what
// the Cache derives from it, and the freshness lifetime a rule gave it (zero
// for none).
func (c *Cache) newEntry(d *decision, resp *http.Response, cc httpsyntax.CacheControl, times exchangeTimes, freshFor time.Duration) *Entry {
	e := &Entry{
		FreshFor:     freshFor,
		Key:          d.key,
		StatusCode:   resp.StatusCode,
		Proto:        resp.Proto,
		Header:       policy.StoredHeader(resp.Header, cc, c.shared),
		RequestTime:  times.request,
		ResponseTime: times.response,
		Uncompressed: resp.Uncompressed,
	}
	if e.Proto == "" {
		e.Proto = "HTTP/1.1"
	}
	policy.EnsureDate(e.Header, times.response)
	m := deriveMeta(e, c.derivation) // the entry carries it: not for the memo
	e.VaryHeader = c.storedVaryHeader(d.req.Header, m.VaryNames)
	if m.CC.Private && !c.shared {
		// RFC 9111 Section 5.2.2.7: intended for a single user. A private
		// cache may store it, but several clients may share this one: it is
		// served only to requests with the same credentials.
		e.Credentials = c.credentialsOf(d.req.Header)
	}
	e.meta = m
	return e
}

// revalidated freshens d.entry with a 304 the origin sent to the cache's own
// conditional request and returns the decision that serves the freshened
// entry, with its Cache-Status member. ok is false when the 304 does not
// select the stored response (RFC 9111 Section 4.3.4) or freshening failed.
func (c *Cache) revalidated(d *decision, resp304 http.Header, times exchangeTimes) (fresh decision, status CacheStatus, ok bool) {
	failed := false
	defer func() {
		if failed {
			fresh, status, ok = decision{}, CacheStatus{}, false
		}
	}()
	defer c.recovered("revalidate", &failed)
	// A 304 with no validator of its own answers the validators the cache
	// took from this very entry, so it selects it; one with validators must
	// match it (RFC 9111 Section 4.3.4).
	if policy.HasValidator(resp304) && !policy.Matches304(resp304, d.entry.Header, times.response) {
		return decision{}, CacheStatus{}, false
	}
	e, refused := c.freshen(d.req, d, resp304, times)
	fresh = *d
	fresh.entry, fresh.meta = e, e.meta
	fresh.now = times.response
	fresh.age = policy.CurrentAge(&e.meta.Facts, e.ResponseTime, times.response)
	fresh.ttl = policy.TTL(e.meta.Lifetime, fresh.age)
	status = CacheStatus{Cache: c.name, Fwd: d.Fwd, FwdStatus: http.StatusNotModified,
		Stored: true, TTL: fresh.ttl, Detail: d.Reason.String()}
	if refused != 0 {
		// The caller still gets the freshened response; it is not stored.
		status.Stored, status.TTL, status.Detail = false, 0, refused.String()
	}
	return fresh, status, true
}

// freshen stores d.entry again with the header fields of a 304 or HEAD
// response and the times of that exchange, per [RFC 9111 Section 4.3.4]: the
// body stays, and the entry's age starts again from the new response. It
// returns the freshened entry, and why it was not stored, if it was not.
//
// The update may say that the response is no longer one this cache may
// store: no-store, or private in a shared cache (Sections 5.2.2.5 and
// 5.2.2.7), or any other directive that refuses it (Section 3). The entry is
// then removed rather than extended: what the origin now says of the
// response holds for the stored copy too. A request's no-store only keeps
// the update from being stored (Section 5.2.1.5).
//
// [RFC 9111 Section 4.3.4]: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.4
func (c *Cache) freshen(req *http.Request, d *decision, update http.Header, times exchangeTimes) (*Entry, policy.Refusal) {
	fresh := *d.entry
	fresh.Header = policy.UpdatedHeader(d.entry.Header, update, times.response)
	fresh.Variants = nil
	fresh.RequestTime, fresh.ResponseTime = times.request, times.response
	fresh.meta = deriveMeta(&fresh, c.derivation)
	if fresh.meta.CC.Private && !c.shared && fresh.Credentials == "" {
		fresh.Credentials = c.credentialsOf(req.Header) // a 304 made it private
	}
	if refused := c.freshenedRefusals(req, d, &fresh); refused != 0 {
		if refused&^policy.RefuseRequestNoStore != 0 {
			c.remove(req.Context(), d.budget, d.entryKey)
		}
		c.notStored(refused)
		return &fresh, refused
	}
	c.save(req.Context(), d.budget, d.entryKey, &fresh, d.seen)
	return &fresh, 0
}

// freshenedRefusals returns why e, a stored response freshened by a 304 or
// HEAD response to req, may not be stored: the refusals of RFC 9111 Section 3
// that its updated header fields and the request give, with what a rule
// (WithRule), asked about the freshened response, overrides.
func (c *Cache) freshenedRefusals(req *http.Request, d *decision, e *Entry) policy.Refusal {
	const fromFields = policy.RefuseRequestNoStore | policy.RefuseMustUnderstand | policy.RefuseNoStore | policy.RefusePrivate |
		policy.RefuseAuthorization | policy.RefuseVaryStar
	resp := &http.Response{StatusCode: e.StatusCode, Proto: e.Proto, Header: e.Header, Request: req}
	refused := policy.Storable(req, d.reqCC, resp, e.meta.CC, c.shared) & fromFields
	if refused&policy.Overridable != 0 && c.ruleFor(req, resp).Store == StoreAlways {
		refused &^= policy.Overridable
	}
	return refused
}

// freshenFromHEAD updates a stored GET response with the header fields of a
// HEAD response for the same URL, per [RFC 9111 Section 4.3.5], when the HEAD
// response selects it as a 304 would (Section 4.3.4). When the two disagree
// on a validator or on Content-Length, the stored response is out of date and
// is removed; a HEAD response without validators leaves a stored response
// that has them alone.
//
// [RFC 9111 Section 4.3.5]: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.5
func (c *Cache) freshenFromHEAD(req *http.Request, b *budget, resp *http.Response, times exchangeTimes) {
	key := c.keyFor(http.MethodGet, req.URL, req.Host, c.partition(req))
	e, _ := c.lookup(req.Context(), b, key, nil)
	if e == nil {
		return
	}
	v, m := c.selectVariant(e, req.Header)
	if v == nil {
		return
	}
	length, complete := resp.Header.Get("Content-Length"), int64(len(v.Body))
	if have, ok := incompleteOf(v); ok {
		complete = have.Size // the HEAD response describes the whole
	}
	switch {
	case length != "" && length != strconv.FormatInt(complete, 10):
		c.remove(req.Context(), b, key)
	case policy.Matches304(resp.Header, v.Header, times.response):
		c.freshen(req, &decision{key: key, entry: v, meta: m, entryKey: key, budget: b, seen: lookedUp{key: key, entry: e}}, resp.Header, times)
	case policy.HasValidator(resp.Header):
		c.remove(req.Context(), b, key)
	}
}

// unframed reports a response body whose end cannot be proven to be the end
// the origin meant: an HTTP/1 body delimited by the connection closing
// (neither Content-Length nor chunked, RFC 9112 Section 6.3), where a
// truncated body looks complete. When Go's transport has decompressed a
// gzip body it removes Content-Length, so resp.Close tells the two apart: a
// body without length or chunking always closes the connection. gzip itself
// cannot tell: a stream cut at a member boundary decodes as a clean end.
func unframed(req *http.Request, resp *http.Response) bool {
	if resp.ProtoMajor != 1 || resp.ContentLength >= 0 ||
		req.Method == http.MethodHead || resp.Body == nil || resp.Body == http.NoBody {
		return false
	}
	for _, coding := range resp.TransferEncoding {
		if strings.EqualFold(coding, "chunked") {
			return false
		}
	}
	return !resp.Uncompressed || resp.Close
}

// responseCacheControl returns the directives that govern a response in this
// Cache: those of the first targeted field it has (RFC 9213), else those of
// Cache-Control.
func (c *Cache) responseCacheControl(h http.Header) httpsyntax.CacheControl {
	return policy.ResponseDirectives(h, c.targets)
}

// invalidate removes the stored responses for the target URI of an unsafe
// request that succeeded, and for same-origin Location and Content-Location,
// per [RFC 9111 Section 4.4].
//
// [RFC 9111 Section 4.4]: https://www.rfc-editor.org/rfc/rfc9111#section-4.4
func (c *Cache) invalidate(req *http.Request, b *budget, resp *http.Response) {
	ctx := req.Context()
	targets := []*url.URL{req.URL}
	for _, field := range []string{"Location", "Content-Location"} {
		ref := resp.Header.Get(field)
		if ref == "" {
			continue
		}
		u, err := req.URL.Parse(ref)
		if err != nil || !sameOrigin(u, req.URL) {
			continue
		}
		targets = append(targets, u)
	}
	host := req.Host
	var keys []string
	for _, u := range targets {
		if u != req.URL {
			host = "" // u.Host, already checked to be the same origin
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			key := c.keyFor(method, u, host, "")
			c.invalidations.mark(key) // before: a store that ends after it sees it
			keys = append(keys, key)
		}
	}
	c.remove(ctx, b, keys...)
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		normalizeHost(a.Scheme, a.Host) == normalizeHost(b.Scheme, b.Host)
}

// ruleFor returns what the Cache's rule ([WithRule]) decides for resp, the
// origin's answer to req, or the zero Rule when it has none.
func (c *Cache) ruleFor(req *http.Request, resp *http.Response) Rule {
	if c.rule == nil {
		return Rule{}
	}
	return c.rule(req, resp)
}

// fillsGap reports whether resp, the origin's answer to fillRequest, is the
// missing part of the stored response: a 206 of exactly the range asked for,
// with the stored strong validator, the same content coding, and the bytes
// as the origin sent them.
func fillsGap(p *partialPlan, stored http.Header, resp *http.Response) bool {
	if resp.StatusCode != http.StatusPartialContent || resp.Uncompressed {
		return false
	}
	got, ok := httpsyntax.ContentRange(resp.Header)
	want := httpsyntax.Span{Range: httpsyntax.ByteRange{First: p.have.Range.Last + 1, Last: p.want.Last}, Size: p.have.Size}
	if !ok || got != want || resp.ContentLength >= 0 && resp.ContentLength != want.Length() {
		return false
	}
	tag, strong := httpsyntax.StrongETag(resp.Header)
	return strong && httpsyntax.StrongMatch(tag, p.etag) && sameCoding(stored, resp.Header)
}
