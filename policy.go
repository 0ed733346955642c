package acache

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// This file holds the rules of RFC 9111 as pure functions: no I/O and no clock
// reads. Times come in as arguments, so each rule is a table test.

// maxHeuristicFreshness bounds the freshness lifetime a heuristic may assign.
// RFC 7234 required a warning past 24 hours; we never go past it.
const maxHeuristicFreshness = 24 * time.Hour

// responseDirectives returns the directives that govern a response: those of
// the first of the targeted fields it carries, per [RFC 9213 Section 2.2],
// else those of Cache-Control.
//
// [RFC 9213 Section 2.2]: https://www.rfc-editor.org/rfc/rfc9213#section-2.2
func responseDirectives(h http.Header, targets []string) httpsyntax.CacheControl {
	if cc, ok := httpsyntax.TargetedDirectives(h, targets); ok {
		return cc
	}
	return httpsyntax.ParseResponseCacheControl(h)
}

// dateValue returns the response's Date, or the time it was received when the
// Date field is missing or invalid, per [RFC 9110 Section 6.6.1].
//
// [RFC 9110 Section 6.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-6.6.1
func dateValue(h http.Header, responseTime time.Time) time.Time {
	if t, _, ok := httpsyntax.HeaderDate(h, "Date", responseTime); ok {
		return t
	}
	return responseTime
}

// ensureDate adds a Date field holding the time the response was received to
// a stored header that has none, as [RFC 9110 Section 6.6.1] requires of a
// recipient that caches a response without one.
//
// [RFC 9110 Section 6.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-6.6.1
func ensureDate(h http.Header, responseTime time.Time) {
	if len(h["Date"]) == 0 {
		h["Date"] = []string{responseTime.UTC().Format(http.TimeFormat)}
	}
}

// freshnessLifetime returns how long a response stays fresh, per
// [RFC 9111 Section 4.2.1]: s-maxage (shared caches only), then max-age, then
// Expires minus Date, then a heuristic (Section 4.2.2). explicit reports
// whether the lifetime came from the response rather than the heuristic.
//
// An invalid max-age or Expires means the response is already stale.
//
// [RFC 9111 Section 4.2.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.1
func freshnessLifetime(status int, h http.Header, cc httpsyntax.CacheControl, dateValue time.Time, shared bool) (lifetime time.Duration, explicit bool) {
	switch {
	case shared && cc.SMaxAge.Set:
		return seconds(int64(cc.SMaxAge.Seconds)), true
	case cc.MaxAge.Set:
		return seconds(int64(cc.MaxAge.Seconds)), true
	}
	// RFC 9213 Section 2.2: a cache that obeys a targeted field ignores
	// Expires, as it does Cache-Control.
	if expires, present, ok := httpsyntax.HeaderDate(h, "Expires", dateValue); present && !cc.Targeted {
		if !ok || !expires.After(dateValue) {
			return 0, true
		}
		return min(expires.Sub(dateValue), maxAge), true
	}
	return heuristicFreshness(status, h, cc, dateValue, shared), false
}

// heuristicFreshness returns the lifetime a cache may assign to a response
// without explicit freshness, per [RFC 9111 Section 4.2.2]: a tenth of the time
// since Last-Modified, at most maxHeuristicFreshness, and only for responses
// whose status is heuristically cacheable or that are marked cacheable.
//
// [RFC 9111 Section 4.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.2
func heuristicFreshness(status int, h http.Header, cc httpsyntax.CacheControl, dateValue time.Time, shared bool) time.Duration {
	if !heuristicallyCacheable(status) && !cc.Public && !(cc.Private && !shared) {
		return 0
	}
	lastModified, _, ok := httpsyntax.HeaderDate(h, "Last-Modified", dateValue)
	if !ok || lastModified.After(dateValue) {
		return 0
	}
	return min(dateValue.Sub(lastModified)/10, maxHeuristicFreshness)
}

// heuristicallyCacheable reports whether responses with this status code may
// be stored and given heuristic freshness, per [RFC 9110 Section 15.1].
//
// [RFC 9110 Section 15.1]: https://www.rfc-editor.org/rfc/rfc9110#section-15.1
func heuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// ageValue returns the value of the Age field in seconds, per
// [RFC 9111 Section 5.1]: the first value if there are several, zero if it is
// missing or not a non-negative integer, and at most 2^31.
//
// [RFC 9111 Section 5.1]: https://www.rfc-editor.org/rfc/rfc9111#section-5.1
func ageValue(h http.Header) int64 {
	values := h["Age"]
	if len(values) == 0 {
		return 0
	}
	first, _, _ := strings.Cut(values[0], ",")
	first = httpsyntax.TrimOWS(first)
	if first == "" {
		return 0
	}
	if !httpsyntax.IsDigits(first) {
		return 0
	}
	return min(httpsyntax.ParseDigits(first), httpsyntax.MaxDeltaSeconds)
}

// correctedInitialAge returns the age of a response at the moment it was
// received, per [RFC 9111 Section 4.2.3]: the larger of the apparent age
// (response_time - date_value) and the Age field corrected by the time the
// request took.
//
// Every step saturates at maxAge: a Date centuries away, or a zero request or
// response time in a decoded entry, gives the oldest age, never an overflow
// into a negative one.
//
// [RFC 9111 Section 4.2.3]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.3
func correctedInitialAge(h http.Header, dateValue, requestTime, responseTime time.Time) time.Duration {
	apparentAge := clampAge(responseTime.Sub(dateValue))
	responseDelay := clampAge(responseTime.Sub(requestTime))
	correctedAgeValue := clampAge(seconds(ageValue(h)) + responseDelay)
	return max(apparentAge, correctedAgeValue)
}

// currentAge returns the age at now of a stored response received at
// responseTime, per [RFC 9111 Section 4.2.3]: its age when received plus the
// time it has spent in the cache.
//
// [RFC 9111 Section 4.2.3]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.3
func currentAge(m *Facts, responseTime, now time.Time) time.Duration {
	return clampAge(m.InitialAge + clampAge(now.Sub(responseTime)))
}

// maxAge is the oldest age the cache computes: 2^31 seconds, the largest
// delta-seconds value of [RFC 9111 Section 1.2.2]. Both operands of a sum of
// ages are at most maxAge, so the sum cannot overflow before it is clamped.
//
// [RFC 9111 Section 1.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2
const maxAge = httpsyntax.MaxDeltaSeconds * time.Second

// ttl returns the freshness a response of this lifetime has left at this
// age, as Cache-Status states it (RFC 9211 Section 2.5), in whole seconds:
// the lifetime minus the age, each rounded down to whole seconds as the Age
// field is (RFC 9111 Section 5.1). Every ttl the cache states is computed
// here, so that ttl + Age = lifetime, and the ttl of one response never
// rises as time passes. Decisions use the exact durations.
func ttl(lifetime, age time.Duration) time.Duration {
	return lifetime.Truncate(time.Second) - age.Truncate(time.Second)
}

// clampAge bounds d to [0, maxAge]: an age is never negative, and saturates.
func clampAge(d time.Duration) time.Duration {
	return min(max(d, 0), maxAge)
}

// storable returns every reason a cache may not store the response to req,
// per [RFC 9111 Section 3]: the empty set when it may. It does not look at
// the body; the cache also refuses bodies it cannot prove complete
// (Section 3.3).
//
// [RFC 9111 Section 3]: https://www.rfc-editor.org/rfc/rfc9111#section-3
func storable(req *http.Request, reqCC httpsyntax.CacheControl, resp *http.Response, cc httpsyntax.CacheControl, shared bool) refusal {
	var r refusal
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		r |= refuseMethod
	}
	if resp.StatusCode < 200 || resp.StatusCode == http.StatusNotModified {
		r |= refuseStatus
	}
	if resp.StatusCode == http.StatusPartialContent && !storablePartial(req, resp) {
		// Sections 3.3 and 3.4: a part is stored only as an incomplete
		// response that can be combined (partial.go); a 200 with a
		// Content-Range is a complete response like any other.
		r |= refusePartial
	}
	if reqCC.NoStore {
		r |= refuseRequestNoStore
	}
	if cc.MustUnderstand && !understoodStatus(resp.StatusCode) {
		r |= refuseMustUnderstand // Section 5.2.2.3
	}
	if cc.NoStore && !cc.MustUnderstand {
		r |= refuseNoStore // must-understand overrides no-store (Section 5.2.2.3)
	}
	if shared && cc.Private {
		r |= refusePrivate
	}
	if shared && len(req.Header["Authorization"]) > 0 && !cc.Public && !cc.MustRevalidate && !cc.SMaxAge.Set {
		r |= refuseAuthorization // Section 3.5
	}
	if varyNeverMatches(resp.Header) {
		r |= refuseVaryStar // Section 4.1: can never be matched (or too costly to)
	}
	_, expires := resp.Header["Expires"]
	if !(expires && !cc.Targeted || cc.Public || cc.Private || cc.MaxAge.Set ||
		(shared && cc.SMaxAge.Set) || heuristicallyCacheable(resp.StatusCode)) {
		r |= refuseNotCacheableByDefault
	}
	return r
}

// understoodStatus reports the status codes whose caching requirements this
// cache implements, for must-understand ([RFC 9111 Section 5.2.2.3]): the
// final statuses of RFC 9110 that it stores and serves as complete responses.
//
// [RFC 9111 Section 5.2.2.3]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2.3
func understoodStatus(status int) bool {
	switch status {
	case 200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// servable reports whether a stored response may be served to a request with
// the directives reqCC at its current age without contacting the origin, per
// [RFC 9111 Section 4.2] and the request directives of Section 5.2.1.
//
// [RFC 9111 Section 4.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2
func servable(m *Facts, reqCC httpsyntax.CacheControl, age time.Duration, shared bool) bool {
	if m.CC.NoCache || reqCC.NoCache {
		return false // Sections 5.2.2.4 and 5.2.1.4: validation required
	}
	// An immutable response is not revalidated while fresh (RFC 8246
	// Section 2): a request max-age, such as a browser's reload, does not
	// cut its freshness short.
	immutableFresh := m.CC.Immutable && m.Lifetime > age
	if reqCC.MaxAge.Set && age > seconds(int64(reqCC.MaxAge.Seconds)) && !immutableFresh {
		return false // Section 5.2.1.1
	}
	if reqCC.MinFresh.Set && m.Lifetime-age < seconds(int64(reqCC.MinFresh.Seconds)) {
		return false // Section 5.2.1.3
	}
	if m.Lifetime > age {
		return true
	}
	// Stale: only a request's max-stale allows it (Section 4.2.4), and never
	// past must-revalidate (Section 5.2.2.2) or, in a shared cache,
	// proxy-revalidate and s-maxage (Sections 5.2.2.8 and 5.2.2.10).
	if m.CC.MustRevalidate || (shared && (m.CC.ProxyRevalidate || m.CC.SMaxAge.Set)) {
		return false
	}
	switch {
	case reqCC.MaxStale.Set:
		return age-m.Lifetime <= seconds(int64(reqCC.MaxStale.Seconds))
	case reqCC.MaxStaleAny:
		return true
	}
	return false
}

// maxVaryNames bounds how many request fields one response may vary on. A
// response that names more is not stored: matching it would cost time in
// proportion to a header the origin controls (net/http accepts 1 MiB of it by
// default, and more when configured).
const maxVaryNames = 64

// varyNames returns the canonical names of the request header fields listed in
// the Vary fields of h, per [RFC 9111 Section 4.1]. ok is false when the
// response can never be matched: a "*" member in any position or field line,
// or more than maxVaryNames names. The work is linear in the size of the
// field.
//
// [RFC 9111 Section 4.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.1
func varyNames(h http.Header) (names []string, ok bool) {
	for _, line := range h["Vary"] {
		for member := range strings.SplitSeq(line, ",") {
			member = httpsyntax.TrimOWS(member)
			switch {
			case member == "":
				continue
			case member == "*":
				return nil, false
			}
			if containsFold(names, member) { // at most maxVaryNames comparisons
				continue
			}
			if len(names) == maxVaryNames {
				return nil, false
			}
			names = append(names, textproto.CanonicalMIMEHeaderKey(member))
		}
	}
	return names, true
}

// varyNeverMatches reports a response whose Vary field no request can match
// (Section 4.1), which is therefore not stored.
func varyNeverMatches(h http.Header) bool {
	_, ok := varyNames(h)
	return !ok
}

// varyHeader returns the values of the request header fields named in names,
// as the request sent them, for storing beside the response (Section 4.1).
func varyHeader(req http.Header, names []string) http.Header {
	if len(names) == 0 {
		return nil
	}
	h := make(http.Header, len(names))
	for _, name := range names {
		if values, ok := req[name]; ok {
			h[name] = append([]string(nil), values...)
		}
	}
	return h
}

// varyMatches reports whether a request selects the stored response, per
// [RFC 9111 Section 4.1]: every header field the response varies on must be
// absent from both requests or present in both with the same value once
// field lines are combined and whitespace around list members is removed,
// and, for Accept-Language and Accept-Encoding, once written in one form
// (see normalizedPreference), as Section 4.1 lets a cache do.
//
// [RFC 9111 Section 4.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.1
func varyMatches(names []string, stored, req http.Header) bool {
	for _, name := range names {
		storedValues, storedOK := stored[name]
		reqValues, reqOK := req[name]
		if storedOK != reqOK || selectingValue(name, storedValues) != selectingValue(name, reqValues) {
			return false
		}
	}
	return true
}

// selectingValue returns the value of the request field name, with values,
// in the form varyMatches compares.
func selectingValue(name string, values []string) string {
	switch name {
	case "Accept-Language", "Accept-Encoding":
		if v, ok := normalizedPreference(values); ok {
			return v
		}
	}
	return normalizedList(values)
}

// normalizedPreference returns a list of weighted preferences, such as
// Accept-Language or Accept-Encoding (RFC 9110 Sections 12.4.2, 12.5.3,
// 12.5.4), in one form for every way of writing the same preferences: names
// lower-cased (both fields are case-insensitive), no whitespace, a weight of
// 1 left out and others written without trailing zeros, and the members
// ordered by weight, highest first. Members of equal weight keep their
// order, which a server may use to break the tie: two requests that differ
// in it select different variants. ok is false for a value that is not such
// a list (another parameter, a malformed weight): it is then compared as
// written.
func normalizedPreference(values []string) (string, bool) {
	type member struct {
		name string
		q    int // thousandths
	}
	var members []member
	for _, line := range values {
		for _, raw := range strings.Split(line, ",") {
			raw = httpsyntax.TrimOWS(raw)
			if raw == "" {
				continue // empty list elements are allowed (RFC 9110 Section 5.6.1)
			}
			name, params, _ := strings.Cut(raw, ";")
			name = strings.ToLower(httpsyntax.TrimOWS(name))
			if !httpsyntax.ValidToken(name) {
				return "", false
			}
			q := 1000
			if params != "" {
				key, weight, found := strings.Cut(httpsyntax.TrimOWS(params), "=")
				if !found || !strings.EqualFold(httpsyntax.TrimOWS(key), "q") {
					return "", false
				}
				var ok bool
				if q, ok = parseQValue(httpsyntax.TrimOWS(weight)); !ok {
					return "", false
				}
			}
			members = append(members, member{name, q})
		}
	}
	slices.SortStableFunc(members, func(a, b member) int { return b.q - a.q })
	var out strings.Builder
	for i, m := range members {
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(m.name)
		switch {
		case m.q == 0:
			out.WriteString(";q=0")
		case m.q != 1000:
			digits := []byte{byte('0' + m.q/100), byte('0' + m.q/10%10), byte('0' + m.q%10)}
			out.WriteString(";q=0." + strings.TrimRight(string(digits), "0"))
		}
	}
	return out.String(), true
}

// parseQValue parses a weight (RFC 9110 Section 12.4.2): "0" or "1", or
// either with up to three decimals, at most 1. It returns thousandths.
func parseQValue(s string) (int, bool) {
	whole, frac, _ := strings.Cut(s, ".") // "1." is a qvalue too
	if (whole != "0" && whole != "1") || len(frac) > 3 || (frac != "" && !httpsyntax.IsDigits(frac)) {
		return 0, false
	}
	n := 0
	for i := range 3 {
		n *= 10
		if i < len(frac) {
			n += int(frac[i] - '0')
		}
	}
	if whole == "1" {
		if n != 0 {
			return 0, false
		}
		return 1000, true
	}
	return n, true
}

// normalizedList combines field lines into one list value with the optional
// whitespace around its members removed (RFC 9110 Section 5.3). Commas and
// whitespace inside a quoted string are part of the member.
func normalizedList(values []string) string {
	if len(values) == 1 && !strings.ContainsAny(values[0], ", \t") {
		return values[0]
	}
	var b strings.Builder
	for _, line := range values {
		for _, member := range httpsyntax.SplitOutsideQuotes(line, ',') {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(httpsyntax.TrimOWS(member))
		}
	}
	return b.String()
}

// hopByHopFields are the header fields a cache must not store, per
// [RFC 9111 Section 3.1] and RFC 9110 Section 7.6.1.
//
// [RFC 9111 Section 3.1]: https://www.rfc-editor.org/rfc/rfc9111#section-3.1
var hopByHopFields = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade",
	"Proxy-Authenticate", "Proxy-Authentication-Info", "Proxy-Authorization",
}

// storedHeader returns a copy of a response header fit for storing, per
// [RFC 9111 Section 3.1]: without the hop-by-hop fields and the fields the
// Connection field names. It also leaves out Set-Cookie (and the obsolete
// Set-Cookie2), in both modes, as browsers and proxies do: a cookie belongs to
// the exchange that set it, and replaying it from the cache would hand one
// client's session to another, or roll a newer session back. A shared cache
// also leaves out the fields a qualified private directive names
// (Section 5.2.2.7).
func storedHeader(h http.Header, cc httpsyntax.CacheControl, shared bool) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, line := range h["Connection"] {
		for name := range strings.SplitSeq(line, ",") {
			if name = httpsyntax.TrimOWS(name); name != "" {
				delete(out, textproto.CanonicalMIMEHeaderKey(name))
			}
		}
	}
	for _, name := range hopByHopFields {
		delete(out, name)
	}
	delete(out, "Set-Cookie")
	delete(out, "Set-Cookie2")
	if shared {
		for _, name := range cc.PrivateFields {
			delete(out, name)
		}
	}
	return out
}

// isHopByHop reports a field that belongs to one connection and is never
// stored or served from the cache (Section 3.1).
func isHopByHop(name string) bool {
	return slices.Contains(hopByHopFields, name)
}

// updatedHeader returns the stored header updated with the fields of a 304
// or HEAD response, per [RFC 9111 Section 3.2]: each field of update replaces
// the stored one, except the fields a cache does not store (Section 3.1),
// Content-Length, and the content coding of the stored body (Content-Encoding,
// which Go's transport may have decoded), which describe the stored bytes.
//
// Age and Date are the new response's, not the stored one's, departing from
// the letter of Section 3.2 (a stored field the update lacks stays): the
// update is a new response from the origin, whose age starts from it. A
// stored Age the update lacks is removed, and a Date it lacks is the time
// it was received (RFC 9110 Section 6.6.1); a kept Age: 61 would make a
// max-age=60 response stale again at every revalidation, forever.
//
// [RFC 9111 Section 3.2]: https://www.rfc-editor.org/rfc/rfc9111#section-3.2
func updatedHeader(stored, update http.Header, responseTime time.Time) http.Header {
	update = update.Clone()
	ensureDate(update, responseTime) // the new response's Date, not the stored one
	out := stored.Clone()
	delete(out, "Age") // the new response's, or none
	for name, values := range storedHeader(update, httpsyntax.CacheControl{}, false) {
		switch name {
		case "Content-Length", "Content-Encoding", "Content-Range", "Transfer-Encoding":
			continue
		}
		out[name] = values
	}
	return out
}

// seconds converts delta-seconds to a Duration, clamped to maxDeltaSeconds.
func seconds(n int64) time.Duration {
	return time.Duration(min(max(n, 0), httpsyntax.MaxDeltaSeconds)) * time.Second
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// action is what the cache does with a request.
type action int

const (
	// forward sends the request to the origin: nothing stored answers it.
	forward action = iota
	// serve answers from the stored response, without the origin.
	serve
	// revalidate asks the origin, with a conditional request, whether the
	// stored response is still current (RFC 9111 Section 4.3.1).
	revalidate
	// serveStale answers from the stale stored response at once and
	// refreshes it in the background (stale-while-revalidate, RFC 5861
	// Section 3).
	serveStale
	// gatewayTimeout answers 504: the request allows only a stored response
	// and none will do (RFC 9111 Section 5.2.1.7).
	gatewayTimeout
)

// verdict is what the cache does with a request, and why: the Cache-Status
// fwd parameter and detail of RFC 9211 when the request goes forward.
type verdict struct {
	action action
	fwd    string
	detail string
}

// found is what a lookup found for a request: the inputs of [decideVerdict].
type found struct {
	// meta describes the stored response selected for the request, or is
	// nil when there is none; varyMiss reports that responses are stored for
	// the URI but none for the request's Vary selection.
	meta     *Facts
	varyMiss bool
	age      time.Duration // the selected response's current age

	reqCC httpsyntax.CacheControl
	// conditionals reports the caller's own If-None-Match or
	// If-Modified-Since, which go to the origin as they are (Section 4.3.2);
	// resendable that the request can be sent twice.
	conditionals, resendable bool
	// ranges is what the request's Range makes of the stored response.
	ranges httpsyntax.RangeOutcome
	shared bool
	// mode is the request's own cache mode (Control.Mode).
	mode Mode
	// unionETag reports that the caller's own If-None-Match may carry the
	// stored response's entity-tag too (RFC 9111 Section 4.3.2).
	unionETag bool
}

// decideVerdict decides what the cache does with a request from what it
// found, per [RFC 9111 Section 4]: serve a stored response that is servable
// (Section 4.2, and the request's directives, Section 5.2.1); revalidate one
// that is not, when it has a validator and the request has none of its own
// (Section 4.3.1); otherwise forward. A request with only-if-cached that
// cannot be served gets 504 instead (Section 5.2.1.7). Each rule is a row of
// its table test: stale responses and per-request modes are rows here.
//
// [RFC 9111 Section 4]: https://www.rfc-editor.org/rfc/rfc9111#section-4
func decideVerdict(f *found) verdict {
	v := decideForward(f)
	if v.action != serve && v.action != serveStale && f.reqCC.OnlyIfCached {
		return verdict{action: gatewayTimeout, fwd: FwdMiss, detail: "only-if-cached"}
	}
	return v
}

// decideForward is decideVerdict without only-if-cached.
func decideForward(f *found) verdict {
	switch {
	case f.meta == nil && f.varyMiss:
		return verdict{action: forward, fwd: FwdVaryMiss}
	case f.meta == nil:
		return verdict{action: forward, fwd: FwdURIMiss}
	}
	switch f.mode {
	case ModeReload:
		return verdict{action: forward, fwd: FwdRequest, detail: "reload mode"}
	case ModeForceCache, ModeOnlyIfCached:
		if f.ranges != httpsyntax.RangeForward { // however stale, without validation
			return verdict{action: serve}
		}
	}
	if servable(f.meta, f.reqCC, f.age, f.shared) {
		if f.ranges == httpsyntax.RangeForward {
			return verdict{action: forward, fwd: FwdRequest, detail: "multiple ranges"}
		}
		return verdict{action: serve}
	}
	if f.ranges != httpsyntax.RangeForward && staleWhileRevalidateAllowed(f.meta, f.reqCC, f.age, f.shared) {
		return verdict{action: serveStale, detail: "stale-while-revalidate"}
	}
	fwd := FwdRequest // the request's directives ask for the origin
	if f.meta.Lifetime <= f.age || f.meta.CC.NoCache {
		fwd = FwdStale
	}
	if f.meta.Validator && (!f.conditionals || f.unionETag) && f.resendable {
		return verdict{action: revalidate, fwd: fwd}
	}
	return verdict{action: forward, fwd: fwd}
}

// staleWhileRevalidateAllowed reports whether a stale stored response may be
// served at once while it is revalidated in the background: within its
// stale-while-revalidate window ([RFC 5861 Section 3]), and not where a
// directive forbids stale responses (RFC 9111 Section 4.2.4): must-revalidate
// or no-cache, in a shared cache proxy-revalidate or s-maxage, or a request
// that asks for a fresh response (no-cache, max-age, min-fresh).
//
// [RFC 5861 Section 3]: https://www.rfc-editor.org/rfc/rfc5861#section-3
func staleWhileRevalidateAllowed(m *Facts, reqCC httpsyntax.CacheControl, age time.Duration, shared bool) bool {
	switch {
	case !m.CC.StaleWhileRevalidate.Set, m.CC.MustRevalidate, m.CC.NoCache,
		shared && (m.CC.ProxyRevalidate || m.CC.SMaxAge.Set),
		reqCC.NoCache, reqCC.MaxAge.Set, reqCC.MinFresh.Set:
		return false
	}
	staleness := age - m.Lifetime
	return staleness >= 0 && staleness <= seconds(int64(m.CC.StaleWhileRevalidate.Seconds))
}

// staleUsable reports whether a response stale by staleness may still be
// served stale by this cache: within its stale-while-revalidate or
// stale-if-error window ([RFC 5861] Sections 3 and 4), where no directive
// forbids serving it stale (RFC 9111 Section 4.2.4: must-revalidate,
// no-cache, and in a shared cache proxy-revalidate and s-maxage). A
// response that arrives stale and has no validator is worth storing only
// then.
//
// [RFC 5861]: https://www.rfc-editor.org/rfc/rfc5861
func staleUsable(m *Facts, staleness time.Duration, shared bool) bool {
	if m.CC.MustRevalidate || m.CC.NoCache || shared && (m.CC.ProxyRevalidate || m.CC.SMaxAge.Set) {
		return false
	}
	return m.CC.StaleWhileRevalidate.Set && staleness <= seconds(int64(m.CC.StaleWhileRevalidate.Seconds)) ||
		m.CC.StaleIfError.Set && staleness <= seconds(int64(m.CC.StaleIfError.Seconds))
}

// staleOnErrorAllowed reports whether a stale stored response may be served
// instead of an origin that failed (a 500, 502, 503 or 504, or no answer):
// within the stale-if-error window of the response or of the request
// ([RFC 5861 Section 4]), or however stale when the cache serves stale
// responses while disconnected (anyStale, RFC 9111 Section 4.2.4). Never past
// must-revalidate or no-cache, nor in a shared cache past proxy-revalidate or
// s-maxage, which implies it (Sections 5.2.2.2, 5.2.2.4, 5.2.2.8 and
// 5.2.2.10); nor against the request's no-cache, or its max-age or max-stale
// that the response's age passes (Section 5.2.1): Section 4.2.4 forbids
// stale responses that a directive prohibits, and a stale-if-error of the
// response or of the request does not lift that.
//
// [RFC 5861 Section 4]: https://www.rfc-editor.org/rfc/rfc5861#section-4
func staleOnErrorAllowed(m *Facts, reqCC httpsyntax.CacheControl, age time.Duration, shared, anyStale bool) bool {
	if m.CC.MustRevalidate || m.CC.NoCache || reqCC.NoCache ||
		shared && (m.CC.ProxyRevalidate || m.CC.SMaxAge.Set) {
		return false
	}
	staleness := max(0, age-m.Lifetime)
	if reqCC.MaxStale.Set && staleness > seconds(int64(reqCC.MaxStale.Seconds)) ||
		reqCC.MaxAge.Set && age > seconds(int64(reqCC.MaxAge.Seconds)) {
		return false
	}
	switch {
	case m.CC.StaleIfError.Set && staleness <= seconds(int64(m.CC.StaleIfError.Seconds)):
		return true
	case reqCC.StaleIfError.Set && staleness <= seconds(int64(reqCC.StaleIfError.Seconds)):
		return true
	}
	return anyStale
}

// originFailed reports an origin answer that stale-if-error may hide
// ([RFC 5861 Section 4]): no answer, or 500, 502, 503 or 504.
//
// [RFC 5861 Section 4]: https://www.rfc-editor.org/rfc/rfc5861#section-4
func originFailed(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
