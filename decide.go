package acache

import (
	"fmt"
	"net/http"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// This file holds the decision the Cache makes of a request before anything
// is sent: the request as the cache reads it, its key, the stored response
// selected for it, and the verdict of RFC 9111 on the two. It is made once,
// and read only afterwards.

// decision is what the Cache makes of a request before anything is sent.
type decision struct {
	// req is the request as the cache reads it: the caller's request, or a
	// shallow copy of it whose header has canonical field names when the
	// caller's has others. It is never sent or returned.
	req *http.Request
	key string
	// ref is the LRU's reference to what it holds under key, when it is the
	// backend and holds something (see store.used).
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
	// seen is what the lookup found under key, for the store that follows
	// to merge with, without reading it again.
	seen lookedUp
	// landings is the count of flights landed before the lookup began
	// (flights.landed); invalidated the count of invalidations
	// (invalidations.seen).
	landings, invalidated uint64
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
	ctl, _ := controlOf(req.Context())
	// One defer, so that it stays open-coded (free on the hit path): it
	// turns a panic into a bypass, and gives every decision the mode.
	defer func(caller *http.Request) {
		if r := recover(); r != nil {
			c.report("lookup", "", fmt.Errorf("panic: %v", r))
			d = bypassing(caller, policy.FwdBypass, policy.ReasonCacheError)
		}
		d.mode = ctl.Mode // whatever the decision, bypasses included
	}(req)

	if c.disabled.Load() != nil {
		return bypassing(req, policy.FwdBypass, policy.ReasonNilBackend) // said once, at Error
	}
	req, d.fields = readableRequest(req)
	if fwd, why := forOriginOnly(req, &d.fields); fwd != "" {
		return bypassing(req, fwd, why)
	}
	d.req = req
	// Counted before anything is read, the LRU's entry included: a flight
	// that stores and lands after the read must show in landedSince, or the
	// request would lead a flight of its own on what it read stale.
	landings, invalidated := c.flights.landed(), c.invalidations.seen()
	var stored *Entry // what the LRU holds under the key, if it is the backend
	if d.key, stored, d.ref = c.keyAndEntry(req); d.key == "" {
		return bypassing(req, policy.FwdBypass, policy.ReasonUncacheableURL)
	}
	if ctl.Mode == ModeNoStore {
		return bypassing(req, policy.FwdBypass, policy.ReasonNoStoreMode)
	}
	d.reqCC = requestDirectives(req.Header, ctl.Mode)
	d.mode, d.freshFor = ctl.Mode, ctl.FreshFor
	d.now = c.now()
	d.budget = b
	if b == nil {
		d.budget = c.budgetFor(req.Context())
	}
	var f policy.Found
	d.landings, d.invalidated = landings, invalidated
	c.find(&d, &f, stored)
	if d.fields.ifRange && d.fields.rangeRequest && req.Method == http.MethodGet &&
		d.entry != nil && !policy.StrongValidator(d.entry.Header, d.now) {
		// If-Range is evaluated against a strong validator only
		// (RFC 9110 Section 13.1.5); without one, the origin evaluates it.
		return bypassing(req, policy.FwdBypass, policy.ReasonPrecondition)
	}
	d.Verdict = policy.DecideVerdict(&f)
	if d.entry != nil && d.entry.StatusCode == http.StatusPartialContent {
		d.Verdict = partialVerdict(&d, d.Verdict)
	}
	if d.Action == policy.Serve {
		c.recency(&d)
	}
	return d
}

// forOriginOnly returns why req, read with fields, goes to the origin as if
// there were no cache, as the fwd of its Cache-Status member and the reason, or
// "" when the cache may answer it.
func forOriginOnly(req *http.Request, fields *requestFields) (fwd string, why policy.Reason) {
	switch {
	case fields.invalid:
		// net/http refuses to send it; nothing stored may answer it.
		return policy.FwdBypass, policy.ReasonInvalidRequest
	case req.Method != http.MethodGet && req.Method != http.MethodHead:
		return policy.FwdMethod, policy.NoReason // fwd=method says why
	case fields.forOrigin:
		// If-Match and If-Unmodified-Since are for the origin to evaluate
		// against the current representation (RFC 9111 Section 4.3.2).
		return policy.FwdBypass, policy.ReasonPrecondition
	}
	return "", policy.NoReason
}

// requestDirectives returns the Cache-Control directives of a request with
// header h in the mode of its Control: Pragma: no-cache stands for no-cache
// without Cache-Control (RFC 9111 Section 5.4), and ModeNoCache asks for
// validation as no-cache does.
func requestDirectives(h http.Header, mode Mode) (cc httpsyntax.CacheControl) {
	if len(h["Cache-Control"]) > 0 {
		cc = httpsyntax.ParseRequestCacheControl(h)
	} else if pragmaNoCache(h) {
		cc.NoCache = true
	}
	if mode == ModeNoCache {
		cc.NoCache = true
	}
	return cc
}

// recency records that the response d serves was used: its entry, and the
// URI's index when it is stored under a partition, which must outlive the
// responses it lists (eviction would otherwise take them with it).
func (c *Cache) recency(d *decision) {
	if d.entryKey != d.key {
		d.ref = lruRef{} // a HEAD served from the GET response's entry
	}
	c.used(d.entryKey, d.ref)
	if len(d.req.Header["Authorization"]) == 0 && c.partitionBy == nil {
		return // no partition in the key
	}
	if uri, partitioned := splitPartition(d.entryKey); partitioned {
		c.used(uri, lruRef{})
	}
}

// bypassing is the decision for a request the cache leaves to the origin.
func bypassing(req *http.Request, fwd string, why policy.Reason) decision {
	return decision{req: req, bypass: true, Verdict: policy.Verdict{Action: policy.Forward, Fwd: fwd, Reason: why}}
}

// stale reports whether the stored response selected for the request is
// stale (RFC 9111 Section 4.2): its age has reached its freshness lifetime,
// the request's own (Control.FreshFor) when it gives one. A stale response
// is served only where the request allows it (max-stale, Section 4.2.4;
// ModeForceCache) or stale-while-revalidate does.
func (d *decision) stale() bool {
	return d.meta != nil && d.meta.Lifetime <= d.age
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
	f.VaryMiss = c.selectStored(d, stored)
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
	f.Ranges = rangesOf(d)
}

// selectStored looks up the stored responses for d's request, and records
// in d the one that can be served, else the first found: the GET response
// for a HEAD request, then a stored HEAD response. stored is what the LRU
// returned for d's key already, if anything. varyMiss reports responses
// stored for the URI, but none for the request's Vary selection.
func (c *Cache) selectStored(d *decision, stored *Entry) (varyMiss bool) {
	req := d.req
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
		e, answered := c.lookup(req.Context(), d.budget, key, got)
		if key == d.key {
			d.seen = lookedUp{key: key, entry: e, failed: !answered}
		}
		if e == nil {
			continue
		}
		v, m := c.selectVariant(e, req.Header)
		if v == nil {
			varyMiss = true
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
	return varyMiss
}

// rangesOf works out what d's GET request gets from the stored response d
// selected, and returns the range outcome for the verdict: the range of a
// complete response (If-Range evaluated, RFC 9110 Section 13.1.5), or the
// plan for an incomplete one (tee.go), which a HEAD request never selects.
func rangesOf(d *decision) httpsyntax.RangeOutcome {
	req := d.req
	switch {
	case req.Method != http.MethodGet:
	case d.entry.StatusCode == http.StatusPartialContent:
		if outcome := planPartial(d); outcome != httpsyntax.RangeIgnore {
			return outcome
		}
	case !d.fields.rangeRequest || d.entry.StatusCode != http.StatusOK:
	case d.fields.ifRange && !policy.IfRangeMatches(req.Header, d.entry.Header, d.now):
		// RFC 9110 Section 13.1.5: the caller's copy is not the stored
		// response, so it gets all of it, as the origin would answer.
	default:
		d.ranges.r, d.ranges.outcome = httpsyntax.ParseRange(req.Header.Values("Range"), int64(len(d.entry.Body)))
	}
	return d.ranges.outcome
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

// keyAndEntry returns the key of req, as key does, and over the in-memory
// LRU the entry stored under it, with the LRU's reference to it for the
// hit's recency: the key is then the one the LRU holds, and a hit allocates no
// key. entry is nil when there is none, or when the
// backend is another one (find then looks it up).
func (c *Cache) keyAndEntry(req *http.Request) (key string, entry *Entry, ref lruRef) {
	var buf [256]byte
	b := appendKey(buf[:0], req.Method, req.URL, req.Host, "")
	if b == nil {
		return "", nil, lruRef{}
	}
	b = c.appendPartition(b, req)
	if c.memory != nil {
		if key, entry, ref = c.memory.getBytes(b); entry != nil {
			return key, entry, ref
		}
	}
	return string(b), nil, lruRef{}
}

// planPartial decides what d's request gets from the incomplete response d
// found, and returns the range outcome to give the verdict.
func planPartial(d *decision) httpsyntax.RangeOutcome {
	have, ok := incompleteOf(d.entry)
	etag, _ := httpsyntax.StrongETag(d.entry.Header)
	d.part = partialPlan{have: have, etag: etag}
	req := d.req
	if !ok || req.Method != http.MethodGet || d.fields.conditionals || d.mode == ModeReload {
		return httpsyntax.RangeForward
	}
	want, outcome := httpsyntax.ByteRange{First: 0, Last: have.Size - 1}, httpsyntax.RangeIgnore
	if d.fields.rangeRequest {
		want, outcome = httpsyntax.ParseRange(req.Header.Values("Range"), have.Size)
		if d.fields.ifRange && !policy.IfRangeMatches(req.Header, d.entry.Header, d.now) {
			// The caller's copy is of another representation: it wants the
			// whole current one, which only the origin has.
			return httpsyntax.RangeForward
		}
	}
	switch outcome {
	case httpsyntax.RangeUnsatisfiable:
		d.part.kind, d.part.unsatisfiable = partialHit, true
		return outcome
	case httpsyntax.RangeForward:
		return outcome
	case httpsyntax.RangeIgnore:
		want, d.part.whole = httpsyntax.ByteRange{First: 0, Last: have.Size - 1}, true
	}
	d.part.want = want
	switch {
	case !d.part.whole && want.First >= have.Range.First && want.Last <= have.Range.Last:
		d.part.kind = partialHit
		return httpsyntax.RangeSingle
	case want.First >= have.Range.First && want.First <= have.Range.Last+1 && want.Last > have.Range.Last:
		d.part.kind = partialFill
	}
	return httpsyntax.RangeForward
}

// partialVerdict adjusts v, the verdict on a request for which d found an
// incomplete response, to what such a response can do: answer a range it
// covers, or send the origin the request for what it lacks, or leave the
// request to the origin. It never serves the incomplete response as a
// complete one.
func partialVerdict(d *decision, v policy.Verdict) policy.Verdict {
	if d.part.kind == partialHit || v.Action == policy.GatewayTimeout {
		return v
	}
	if d.reqCC.OnlyIfCached {
		d.part.kind = partialNone
		return policy.Verdict{Action: policy.GatewayTimeout, Fwd: policy.FwdMiss, Reason: policy.ReasonOnlyIfCached}
	}
	if d.part.kind == partialFill {
		// If-Range makes the request for the missing part a validation of
		// the stored part too: whatever its freshness, a 206 with the same
		// strong validator confirms it.
		return policy.Verdict{Action: policy.Forward, Fwd: policy.FwdPartial}
	}
	if d.mode == ModeReload {
		return v
	}
	return policy.Verdict{Action: policy.Forward, Fwd: policy.FwdPartial}
}
