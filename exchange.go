package acache

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// This file holds what the Cache makes of one exchange: before the request is
// sent (decide), and when the origin's response arrives (admit, revalidated).

// decision is what the Cache makes of a request before anything is sent.
type decision struct {
	// req is the request as the cache reads it: the caller's request, or a
	// shallow copy of it whose header has canonical field names when the
	// caller's has others. It is never sent or returned.
	req *http.Request
	key string
	// ref is the LRU's reference to what it holds under key, when it is the
	// backend and holds something (see Cache.touch).
	ref lruRef
	policy.Verdict
	// bypass reports a request the cache neither serves from nor stores
	// into: it goes to the origin as if there were no cache.
	bypass bool
	reqCC  httpsyntax.CacheControl

	// entry and meta are the stored response selected for the request, if
	// any; entryKey is the key it is stored under (for a HEAD request, the
	// key of the GET response it was found under).
	entry    *Entry
	meta     *entryMeta
	entryKey string
	age      time.Duration
	ttl      time.Duration // freshness left: lifetime - age

	fields requestFields
	now    time.Time   // when the request was decided on
	ranges rangeResult // what a Range request gets from entry
	// part is what the request gets from entry when it is an incomplete
	// response (partial.go).
	part partialPlan
	// mode and freshFor are what the request's Control asks (control.go).
	mode     Mode
	freshFor time.Duration
	// budget is how long the request's backend calls may keep it waiting,
	// together; nil over the in-memory LRU.
	budget *budget
}

// rangeResult is what a Range request gets from a stored response.
type rangeResult struct {
	outcome httpsyntax.RangeOutcome
	r       httpsyntax.ByteRange
}

// decide looks req up and says what to do with it: the request as the
// cache reads it, the stored response found for it (find), and the verdict
// of the RFC rules on the two (decideVerdict). A failure anywhere in the
// cache makes it a bypass: the request goes to the origin as if there were
// no cache. The request's backend calls get a budget of their own
// (budgetFor).
func (c *Cache) decide(req *http.Request) decision {
	return c.decideWithin(req, nil)
}

// decideWithin is decide for a request that has spent part of its budget b
// already (nil: a new budget): a request that waited for its twin in
// flight and decides again (collapse.go).
func (c *Cache) decideWithin(req *http.Request, b *budget) (d decision) {
	ctl, _ := ControlOf(req.Context())
	// One defer, so that it stays open-coded (free on the hit path): it
	// turns a panic into a bypass, and gives every decision the mode.
	defer func(caller *http.Request) {
		if r := recover(); r != nil {
			c.report("lookup", "", fmt.Errorf("panic: %v", r))
			d = bypassing(caller, FwdBypass, "cache error")
		}
		d.mode = ctl.Mode // whatever the decision, bypasses included
	}(req)

	if c.disabled.Load() != nil {
		return bypassing(req, FwdBypass, "nil backend") // said once, at Error
	}
	req, d.fields = readableRequest(req)
	switch {
	case d.fields.invalid:
		// net/http refuses to send it; nothing stored may answer it.
		return bypassing(req, FwdBypass, "invalid request")
	case req.Method != http.MethodGet && req.Method != http.MethodHead:
		return bypassing(req, FwdMethod, "")
	case d.fields.forOrigin:
		// If-Match and If-Unmodified-Since are for the origin to evaluate
		// against the current representation (RFC 9111 Section 4.3.2).
		return bypassing(req, FwdBypass, "precondition")
	}
	d.req = req
	var stored *Entry // what the LRU holds under the key, if it is the backend
	if d.key, stored, d.ref = c.keyAndEntry(req); d.key == "" {
		return bypassing(req, FwdBypass, "uncacheable URL")
	}
	if len(req.Header["Cache-Control"]) > 0 {
		d.reqCC = httpsyntax.ParseRequestCacheControl(req.Header)
	} else if pragmaNoCache(req.Header) {
		d.reqCC.NoCache = true // RFC 9111 Section 5.4
	}
	switch ctl.Mode {
	case ModeNoStore:
		return bypassing(req, FwdBypass, "no-store mode")
	case ModeNoCache:
		d.reqCC.NoCache = true // validation required, as for the directive
	}
	d.mode, d.freshFor = ctl.Mode, ctl.FreshFor
	d.now = c.now()
	d.budget = b
	if b == nil {
		d.budget = c.budgetFor(req.Context())
	}
	var f policy.Found
	c.find(&d, &f, stored)
	if d.fields.ifRange && d.fields.rangeRequest && req.Method == http.MethodGet &&
		d.entry != nil && !policy.StrongValidator(d.entry.Header, d.now) {
		// If-Range is evaluated against a strong validator only
		// (RFC 9110 Section 13.1.5); without one, the origin evaluates it.
		return bypassing(req, FwdBypass, "precondition")
	}
	d.Verdict = policy.DecideVerdict(&f)
	if d.entry != nil && d.entry.StatusCode == http.StatusPartialContent {
		d.Verdict = partialVerdict(&d, d.Verdict)
	}
	if d.Action == policy.Serve {
		if d.entryKey != d.key {
			d.ref = lruRef{} // a HEAD served from the GET response's entry
		}
		c.touch(d.entryKey, d.ref)
		if len(req.Header["Authorization"]) == 0 && c.partitionBy == nil {
			return d // no partition in the key
		}
		if uri, partitioned := splitPartition(d.entryKey); partitioned {
			// The URI's index must outlive the responses it lists, which
			// eviction would otherwise take with it.
			c.touch(uri, lruRef{})
		}
	}
	return d
}

// bypassing is the decision for a request the cache leaves to the origin.
func bypassing(req *http.Request, fwd, detail string) decision {
	return decision{req: req, bypass: true, Verdict: policy.Verdict{Action: policy.Forward, Fwd: fwd, Detail: detail}}
}

// find looks up the stored responses for d's request and records in d the
// one selected for it, and in f what the verdict needs to know. A HEAD
// request can be answered from a stored GET response (RFC 9110 Section
// 9.3.2), and otherwise from a stored HEAD response: the first that can be
// served is taken, else the first found, for revalidation. It also works out
// what a GET gets from the response found: the range of a complete one
// (If-Range evaluated, RFC 9110 Section 13.1.5), or the plan for an
// incomplete one (partial.go), which a HEAD request never selects.
func (c *Cache) find(d *decision, f *policy.Found, stored *Entry) {
	req := d.req
	*f = policy.Found{ReqCC: d.reqCC, Conditionals: d.fields.conditionals, Resendable: resendable(req), Shared: c.shared, Mode: policy.Mode(d.mode)}
	keys := [2]string{d.key}
	if req.Method == http.MethodHead {
		keys = [2]string{c.keyFor(http.MethodGet, req.URL, req.Host, c.partition(req)), d.key}
	}
	for _, key := range keys {
		if key == "" {
			continue
		}
		var got *Entry
		if key == d.key {
			got = stored
		}
		e := c.lookup(req.Context(), d.budget, key, got)
		if e == nil {
			continue
		}
		v, m := c.selectVariant(e, req.Header)
		if v == nil {
			f.VaryMiss = true
			continue
		}
		if req.Method == http.MethodHead && v.StatusCode == http.StatusPartialContent {
			continue // an incomplete response says nothing of the whole
		}
		if d.freshFor > 0 { // the request's own freshness (Control.FreshFor)
			own := *m
			own.Lifetime = d.freshFor
			m = &own
		}
		age := policy.CurrentAge(&m.Facts, v.ResponseTime, d.now)
		usable := policy.Servable(&m.Facts, d.reqCC, age, c.shared)
		if d.entry == nil || usable {
			d.entry, d.meta, d.entryKey, d.age = v, m, key, age
		}
		if usable {
			break
		}
	}
	if d.entry == nil {
		return
	}
	d.ttl = policy.TTL(d.meta.Lifetime, d.age)
	f.Facts, f.Age = &d.meta.Facts, d.age
	if d.fields.ifNoneMatch && d.entry.StatusCode != http.StatusPartialContent {
		// The cache may add the stored response's entity-tag to the
		// caller's If-None-Match (RFC 9111 Section 4.3.2), not that of an
		// incomplete response.
		_, _, f.UnionETag = httpsyntax.HeaderETag(d.entry.Header)
	}
	switch {
	case req.Method != http.MethodGet:
	case d.entry.StatusCode == http.StatusPartialContent:
		f.Ranges = planPartial(d)
	case !d.fields.rangeRequest || d.entry.StatusCode != http.StatusOK:
	case d.fields.ifRange && !policy.IfRangeMatches(req.Header, d.entry.Header, d.now):
		// RFC 9110 Section 13.1.5: the caller's copy is not the stored
		// response, so it gets all of it, as the origin would answer.
	default:
		d.ranges.r, d.ranges.outcome = httpsyntax.ParseRange(req.Header.Values("Range"), int64(len(d.entry.Body)))
	}
	if f.Ranges == httpsyntax.RangeIgnore {
		f.Ranges = d.ranges.outcome
	}
}

// requestFields records which of the request header fields that change what
// the cache does are present, found in one pass over the header: the only
// place these lists are written. If-Match and If-Unmodified-Since do not
// apply to a cache (RFC 9111 Section 4.3.2), so requests with them are
// forwarded untouched; If-Range is evaluated against a stored response with
// a strong validator (RFC 9110 Section 13.1.5, partial.go).
type requestFields struct {
	preconditions bool // If-Match, If-Unmodified-Since, If-Range
	// forOrigin reports If-Match or If-Unmodified-Since, which only the
	// origin evaluates; ifRange an If-Range, which the cache evaluates.
	forOrigin, ifRange bool
	conditionals       bool // If-None-Match, If-Modified-Since (RFC 9111 Section 4.3.2)
	ifNoneMatch        bool // If-None-Match, which the cache may add its own tags to
	rangeRequest       bool // Range (RFC 9110 Section 14.2)
	// invalid reports a request net/http refuses to send: a field name that
	// is not a token, a value with CR, LF, NUL or another control character,
	// or a method that is not a token.
	invalid bool
	// nonCanonical reports a field name not in canonical form, such as
	// "authorization": the wire carries it like "Authorization".
	nonCanonical bool
}

func scanRequestFields(h http.Header) (f requestFields) {
	if len(h) == 0 {
		return f
	}
	for name, values := range h {
		switch name {
		case "If-Match", "If-Unmodified-Since":
			f.preconditions, f.forOrigin = true, true
		case "If-Range":
			f.preconditions, f.ifRange = true, true
		case "If-None-Match":
			f.conditionals, f.ifNoneMatch = true, true
		case "If-Modified-Since":
			f.conditionals = true
		case "Range":
			f.rangeRequest = true
		default:
			if !httpsyntax.ValidToken(name) {
				f.invalid = true
			} else if !httpsyntax.CanonicalName(name) {
				f.nonCanonical = true
			}
		}
		for _, v := range values {
			if !httpsyntax.ValidFieldValue(v) {
				f.invalid = true
			}
		}
	}
	return f
}

// readableRequest returns req as the cache reads it, with the fields that
// matter to the cache. Field names are case-insensitive on the wire: when req
// has a name that is not canonical, such as "authorization", the cache reads
// a shallow copy of req whose header has canonical names, so that the key,
// the partition, Vary and every directive see what the origin sees.
func readableRequest(req *http.Request) (*http.Request, requestFields) {
	f := scanRequestFields(req.Header)
	if !httpsyntax.ValidToken(req.Method) || req.URL == nil {
		f.invalid = true // the key refuses an invalid host
	}
	if f.invalid || !f.nonCanonical {
		return req, f
	}
	view := *req
	view.Header = httpsyntax.CanonicalHeader(req.Header)
	return &view, scanRequestFields(view.Header)
}

// selectVariant returns the stored response among e and its variants that
// the request header h selects (RFC 9111 Section 4.1), most recent first, with
// its meta; or nil.
func (c *Cache) selectVariant(e *Entry, h http.Header) (*Entry, *entryMeta) {
	credentials := "" // of the request, hashed only when a variant needs it
	for v := range e.responses() {
		m := c.metaOf(v)
		if !m.VaryOK || !c.variantMatches(m.VaryNames, v.VaryHeader, h) {
			continue
		}
		if v.Credentials != "" || (m.CC.Private && !c.shared) {
			if credentials == "" {
				credentials = c.credentialsOf(h)
			}
			if v.Credentials != credentials {
				continue
			}
		}
		return v, m
	}
	return nil, nil
}

// resendable reports whether req can be sent twice: the cache may have to
// repeat a conditional request without its validators.
func resendable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// pragmaNoCache reports a Pragma: no-cache request field (RFC 9111 Section 5.4).
func pragmaNoCache(h http.Header) bool {
	return httpsyntax.ListContains(h, "Pragma", "no-cache")
}

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
	a.status = CacheStatus{Cache: c.name, Fwd: d.Fwd, FwdStatus: resp.StatusCode, Detail: d.Detail}
	failed := false
	defer func() {
		if failed {
			a = admission{status: CacheStatus{Cache: c.name, Fwd: d.Fwd, FwdStatus: resp.StatusCode, Detail: "cache error"}}
		}
	}()
	defer c.recovered("store", &failed)
	if c.disabled.Load() != nil {
		return a // nothing to store into, nothing to invalidate
	}

	if !policy.SafeMethod(req.Method) && resp.StatusCode < 400 {
		c.invalidate(req, d.budget, resp)
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
	cc := c.responseCacheControl(resp.Header)
	rule := c.ruleFor(req, resp)
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
		a.status.Detail = refused.String()
		c.notStored(d.key, a.status.Detail)
		if refused&policy.RefuseAddedBelow != 0 {
			c.addedBelowOnce.Do(func() {
				c.logger.Warn("acache: responses are not cached: "+addedBelowWords, "url", req.URL.Redacted())
			})
		}
		return a
	}
	e := c.newEntry(d, resp, cc, times, min(max(rule.FreshFor, 0), policy.MaxAge))
	age := policy.CurrentAge(&e.meta.Facts, e.ResponseTime, times.response)
	switch left := e.meta.Lifetime - age; {
	case left <= 0 && !policy.HasValidator(e.Header) && !policy.StaleUsable(&e.meta.Facts, -left, c.shared):
		// Stale on arrival, nothing to revalidate it with, and no window
		// in which it may be served stale (a CDN's max-age=60,
		// stale-while-revalidate=600 with Age: 75 has one).
		refused |= policy.RefuseStaleOnArrival
	case e.Size()+max(0, resp.ContentLength) > c.maxBytes:
		refused |= policy.RefuseTooLarge // for the whole cache: never stored
	}
	if refused != 0 {
		a.status.Detail = refused.String()
		c.notStored(d.key, a.status.Detail)
		return a
	}
	a.entry = e
	a.status.Stored = true
	a.status.TTL = policy.TTL(e.meta.Lifetime, age)
	return a
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
	get := decision{req: &view, fields: d.fields, now: d.now, Verdict: d.Verdict}
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
		Stored: true, TTL: fresh.ttl, Detail: d.Detail}
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
		c.notStored(d.entryKey, refused.String())
		return &fresh, refused
	}
	c.save(req.Context(), d.budget, d.entryKey, &fresh)
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
	e := c.lookup(req.Context(), b, key, nil)
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
		c.freshen(req, &decision{entry: v, meta: m, entryKey: key, budget: b}, resp.Header, times)
	case policy.HasValidator(resp.Header):
		c.remove(req.Context(), b, key)
	}
}

// credentialsAddedBelow reports whether sent, the request the inner
// RoundTripper says it sent (resp.Request), carries an Authorization field
// other than the one of req, the request as the cache read it.
func credentialsAddedBelow(req, sent *http.Request) bool {
	if sent == nil || sent == req || sent.Header == nil {
		return false
	}
	have := slices.Sorted(slices.Values(req.Header["Authorization"]))
	got := slices.Sorted(slices.Values(httpsyntax.FieldValuesFold(sent.Header, "Authorization")))
	return !slices.Equal(have, got)
}

// staleOnError returns the stale stored response d found, to serve in place
// of an origin that failed (resp, err), when RFC 5861's stale-if-error or
// the option to serve stale while disconnected allows it; else nil. The
// origin's response, if any, is then discarded.
func (c *Cache) staleOnError(req *http.Request, d *decision, resp *http.Response, err error) (stale *http.Response) {
	if d.entry == nil || d.bypass || d.Fwd != FwdStale || !policy.OriginFailed(resp, err) {
		return nil
	}
	failed := false
	defer func() {
		if failed {
			stale = nil
		}
	}()
	defer c.recovered("serve", &failed)
	now := c.now()
	age := policy.CurrentAge(&d.meta.Facts, d.entry.ResponseTime, now)
	if !policy.StaleOnErrorAllowed(&d.meta.Facts, d.reqCC, age, c.shared, c.serveStale) {
		return nil
	}
	status := CacheStatus{Cache: c.name, Fwd: FwdStale, TTL: policy.TTL(d.meta.Lifetime, age), Detail: "stale-if-error"}
	if err == nil {
		status.FwdStatus = resp.StatusCode
		discardBody(resp)
	} else {
		status.Detail = "stale-if-error: " + err.Error()
	}
	served := *d
	served.now, served.age = now, age
	return storedResponse(c, req, &served, status.String(), false)
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

// keyAndEntry returns the key of req, as key does, and over the in-memory
// LRU the entry stored under it, with the LRU's reference to it for the
// hit's touch: the key is then the one the LRU holds, and a hit allocates no
// key. entry is nil when there is none, or when the
// backend is another one (find then looks it up).
func (c *Cache) keyAndEntry(req *http.Request) (key string, entry *Entry, ref lruRef) {
	var buf [256]byte
	b := appendKey(buf[:0], req.Method, req.URL, req.Host, "")
	if b == nil {
		return "", nil, lruRef{}
	}
	b = c.appendPartition(b, req)
	if c.lru != nil {
		if key, entry, ref = c.lru.getBytes(b); entry != nil {
			return key, entry, ref
		}
	}
	return string(b), nil, lruRef{}
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
	for _, u := range targets {
		if u != req.URL {
			host = "" // u.Host, already checked to be the same origin
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			c.remove(ctx, b, c.keyFor(method, u, host, ""))
		}
	}
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

// addedBelowWords says what the refusal "authorization added below the
// cache" means and how to fix it, for Explain and the Warn record the Cache
// writes the first time it refuses a response for it.
const addedBelowWords = "the RoundTripper inside the cache added an Authorization field the cache never saw, " +
	"so the response may be that user's alone, and only public, must-revalidate or s-maxage would let it be stored (RFC 9111 §3.5); " +
	"to cache such responses per user, put the auth transport outside the cache, so that the cache sees the credentials and keys by them: " +
	"&oauth2.Transport{Base: acache.NewTransport(nil)}, not acache.Transport{Transport: &oauth2.Transport{...}}"
