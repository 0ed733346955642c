package acache

import (
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/pquerna/cachecontrol/cacheobject"
)

// deltaSeconds is a parsed delta-seconds argument ([RFC 9111 Section 1.2.2]).
//
// [RFC 9111 Section 1.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2
type deltaSeconds struct {
	// seconds is the value, at most maxDeltaSeconds (which fits 32 bits:
	// an entry keeps six of these). It is 0 when the value of max-age or
	// s-maxage was invalid.
	seconds uint32
	set     bool // the directive appeared (with a valid value, or it is max-age/s-maxage)
}

// maxDeltaSeconds is the value a cache takes for a delta-seconds too large to
// represent, per [RFC 9111 Section 1.2.2]: 2^31. cacheobject clamps such
// values to 2^31-1, which clampDelta lifts to this one constant.
//
// [RFC 9111 Section 1.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2
const maxDeltaSeconds = 1 << 31

// clampDelta bounds a delta-seconds value to maxDeltaSeconds.
func clampDelta(s int64) int64 {
	if s >= math.MaxInt32 { // cacheobject's clamp, or a larger value
		return maxDeltaSeconds
	}
	return s
}

// keepMin records s if d is unset or s is smaller: the most restrictive of
// several max-age, s-maxage, max-stale, stale-while-revalidate or
// stale-if-error directives wins.
func (d *deltaSeconds) keepMin(s int64) {
	s = clampDelta(s)
	if !d.set || s < int64(d.seconds) {
		d.set, d.seconds = true, uint32(s)
	}
}

// keepMax records s if d is unset or s is larger: the most restrictive of
// several min-fresh directives wins.
func (d *deltaSeconds) keepMax(s int64) {
	s = clampDelta(s)
	if !d.set || s > int64(d.seconds) {
		d.set, d.seconds = true, uint32(s)
	}
}

// cacheControl holds the directives of one Cache-Control header, request or
// response ([RFC 9111 Section 5.2]). A request's value holds only request
// directives ([RFC 9111 Section 5.2.1] and stale-if-error), a response's only
// response directives ([RFC 9111 Section 5.2.2], stale-while-revalidate,
// stale-if-error and immutable); the others are ignored like unknown ones.
//
// [RFC 9111 Section 5.2]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2
// [RFC 9111 Section 5.2.1]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2.1
// [RFC 9111 Section 5.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2
type cacheControl struct {
	noStore, noCache, mustRevalidate, proxyRevalidate, public, private, immutable, mustUnderstand, noTransform, onlyIfCached bool
	// maxStaleAny reports a request max-stale without a value: any staleness
	// is accepted (RFC 9111 Section 5.2.1.2). A valued max-stale, being more
	// restrictive, overrides it.
	maxStaleAny bool
	// targeted reports directives read from a targeted field (RFC 9213
	// Section 2.2), not from Cache-Control: the response's Expires is then
	// to be ignored too.
	targeted bool

	// noCacheFields and privateFields hold the canonical header names, sorted
	// and without duplicates, of the qualified forms no-cache="a, b" and
	// private="a" of a response. The bare form sets noCache or private
	// instead, and wins over the qualified form: the fields are then nil.
	noCacheFields, privateFields []string

	// The delta-seconds directives; max-stale holds only a valued max-stale.
	maxAge, sMaxAge, minFresh, maxStale, staleWhileRevalidate, staleIfError deltaSeconds
}

// parseResponseCacheControl parses the Cache-Control field lines of a
// response per [RFC 9111 Section 5.2]. It never fails: unknown and malformed
// directives are ignored or, when that is safer, read as restrictively as
// possible (see [parseCacheControl]).
//
// [RFC 9111 Section 5.2]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2
func parseResponseCacheControl(h http.Header) cacheControl {
	return parseCacheControl(h, "Cache-Control", false)
}

// targetedDirectives returns the directives of the first field of targets,
// the cache's target list, that h has with a valid, non-empty value, per
// [RFC 9213 Section 2.2]. ok is false if there is none: the cache then obeys
// Cache-Control.
//
// [RFC 9213 Section 2.2]: https://www.rfc-editor.org/rfc/rfc9213#section-2.2
func targetedDirectives(h http.Header, targets []string) (cc cacheControl, ok bool) {
	for _, name := range targets {
		if cc, ok := parseTargetedField(h, name); ok {
			return cc, true
		}
	}
	return cacheControl{}, false
}

// parseTargetedField parses the field name of a response as a targeted cache
// control field ([RFC 9213 Section 2.1]): a Dictionary Structured Field
// ([RFC 8941 Section 3.2]), each member a cache directive with the meaning it
// has in Cache-Control. ok is false when the field is to be ignored, as if it
// were absent: when it is missing or empty, when it does not parse as a
// Dictionary (parseDictionary is strict), and when a directive this cache
// knows has a value of the wrong type, which Section 2.1 says recipients
// SHOULD NOT consume (it gives "a max-age with a decimal value" as the
// example). The directives and their types:
//
//   - max-age, s-maxage, stale-while-revalidate and stale-if-error take a
//     non-negative Integer (a delta-seconds), clamped like Cache-Control's;
//   - no-store, must-revalidate, proxy-revalidate, public, immutable,
//     must-understand and no-transform take a Boolean: the bare key is
//     true, and ?0 is the same as leaving the directive out;
//   - no-cache and private take a Boolean, or a String holding a
//     comma-separated list of field names: Section 2.1 maps the
//     quoted-string argument of Cache-Control to a String, and names
//     no-cache as "boolean true or a string containing a comma-delimited
//     list of field names". The Token form (no-cache=x-a), which RFC 9111
//     Section 5.2.2.4 tells senders not to use, is of the wrong type, and so
//     is a String that is not a list of tokens. A String that names no field
//     is read as the Boolean, as in Cache-Control (see [appendFields]).
//
// Unknown members, request directives among them, are ignored, whatever
// their type. Parameters are ignored, on every member: Section 2.1 says
// "Parameters received on directives are to be ignored". Keys are
// lowercase (a key in upper case fails to parse), and a key that appears
// twice takes its last value ([RFC 8941 Section 3.2]), not the most
// restrictive one as in Cache-Control.
//
// [RFC 9213 Section 2.1]: https://www.rfc-editor.org/rfc/rfc9213#section-2.1
// [RFC 8941 Section 3.2]: https://www.rfc-editor.org/rfc/rfc8941#section-3.2
func parseTargetedField(h http.Header, name string) (cc cacheControl, ok bool) {
	lines := h.Values(name)
	if len(lines) == 0 {
		return cacheControl{}, false
	}
	dict, ok := parseDictionary(lines)
	if !ok || len(dict) == 0 {
		return cacheControl{}, false
	}
	for _, m := range dict {
		if !cc.addTargeted(m.key, m.item) {
			return cacheControl{}, false
		}
	}
	cc.finish()
	cc.targeted = true
	return cc, true
}

// addTargeted sets the directive of a targeted field named key (see
// [parseTargetedField]) to item. It reports false if item has the wrong
// type for key.
func (cc *cacheControl) addTargeted(key string, item sfItem) bool {
	switch key {
	case "max-age":
		return cc.maxAge.setTargeted(item)
	case "s-maxage":
		return cc.sMaxAge.setTargeted(item)
	case "stale-while-revalidate":
		return cc.staleWhileRevalidate.setTargeted(item)
	case "stale-if-error":
		return cc.staleIfError.setTargeted(item)
	case "no-store":
		return setTargetedFlag(&cc.noStore, item)
	case "must-revalidate":
		return setTargetedFlag(&cc.mustRevalidate, item)
	case "proxy-revalidate":
		return setTargetedFlag(&cc.proxyRevalidate, item)
	case "public":
		return setTargetedFlag(&cc.public, item)
	case "immutable":
		return setTargetedFlag(&cc.immutable, item)
	case "must-understand":
		return setTargetedFlag(&cc.mustUnderstand, item)
	case "no-transform":
		return setTargetedFlag(&cc.noTransform, item)
	case "no-cache":
		return setTargetedFields(&cc.noCache, &cc.noCacheFields, item)
	case "private":
		return setTargetedFields(&cc.private, &cc.privateFields, item)
	}
	return true
}

// setTargetedFlag sets *flag to the value of a Boolean item, and reports
// whether item is one.
func setTargetedFlag(flag *bool, item sfItem) bool {
	if item.kind != sfKindBoolean {
		return false
	}
	*flag = item.boolean
	return true
}

// setTargeted sets d to the value of an Integer item, clamped, and reports
// whether item is a non-negative Integer.
func (d *deltaSeconds) setTargeted(item sfItem) bool {
	if item.kind != sfKindInteger || item.num < 0 {
		return false
	}
	d.set, d.seconds = true, uint32(clampDelta(item.num))
	return true
}

// setTargetedFields sets no-cache or private from a Boolean item, or from a
// String item holding field names, which it appends, canonical, to *fields;
// one that names no field sets *bare, as the Boolean true does. It reports
// whether item is a Boolean or a String list of tokens.
func setTargetedFields(bare *bool, fields *[]string, item sfItem) bool {
	switch item.kind {
	case sfKindBoolean:
		*bare = item.boolean
		return true
	case sfKindString:
		n := len(*fields)
		for _, name := range strings.Split(item.str, ",") {
			if name = trimOWS(name); name == "" {
				continue // an empty list element (RFC 9110 Section 5.6.1)
			}
			if !validToken(name) {
				return false
			}
			*fields = append(*fields, http.CanonicalHeaderKey(name))
		}
		if len(*fields) == n {
			*bare = true
		}
		return true
	}
	return false
}

// parseRequestCacheControl parses the Cache-Control field lines of a request
// per [RFC 9111 Section 5.2], like [parseResponseCacheControl].
//
// [RFC 9111 Section 5.2]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2
func parseRequestCacheControl(h http.Header) cacheControl {
	return parseCacheControl(h, "Cache-Control", true)
}

// parseCacheControl parses every field line of the Cache-Control field (or the
// field name of the same syntax) of h, a request's if request is true, else a
// response's.
//
// The lines are parsed one after the other into the same result, which is
// what parsing them joined by commas gives ([RFC 9110 Section 5.3]), except
// that a malformed line (an unterminated quoted string) cannot hide the
// directives of the next one, and that nothing is allocated to join them.
//
// Each well-formed directive is interpreted by package cacheobject (names are
// case-insensitive, delta-seconds clamped, field-name lists canonicalised);
// a directive cacheobject rejects, or that is malformed, is handled by
// [cacheControl.addInvalid]. A directive that appears more than once takes
// its most restrictive value: [RFC 9111 Section 4.2.1] says to use the first
// occurrence or treat the response as stale, and to honour the most
// restrictive of conflicting directives; the minimum (the maximum for
// min-fresh) is the latter, and does not depend on the order of the lines.
//
// [RFC 9110 Section 5.3]: https://www.rfc-editor.org/rfc/rfc9110#section-5.3
// [RFC 9111 Section 4.2.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.1
func parseCacheControl(h http.Header, name string, request bool) cacheControl {
	var cc cacheControl
	for _, line := range h.Values(name) {
		for i := 0; i < len(line); {
			var d directive
			d, i = nextDirective(line, i)
			if d.name != "" {
				cc.add(d, request)
			}
		}
	}
	cc.finish()
	return cc
}

// add merges one directive into cc.
func (cc *cacheControl) add(d directive, request bool) {
	name := strings.ToLower(d.name)
	// cacheobject reads "max-age=99999999999x" as the clamped maximum
	// (strconv.ParseUint reports the overflow before the syntax error), so we
	// check that a delta-seconds argument is 1*DIGIT ourselves.
	valid := d.value == "" || !isDeltaSecondsDirective(name) || isDigits(unquote(d.value))
	if d.ok && valid {
		if request {
			if r, err := cacheobject.ParseRequestCacheControl(d.elem); err == nil {
				cc.mergeRequest(r, name)
				return
			}
		} else {
			if r, err := cacheobject.ParseResponseCacheControl(d.elem); err == nil {
				cc.mergeResponse(r)
				return
			}
		}
	}
	cc.addInvalid(name, request)
}

// mergeRequest merges the directives cacheobject found in the request
// directive with the given lower-case name.
func (cc *cacheControl) mergeRequest(r *cacheobject.RequestCacheDirectives, name string) {
	cc.noCache = cc.noCache || r.NoCache
	cc.noStore = cc.noStore || r.NoStore
	cc.noTransform = cc.noTransform || r.NoTransform
	cc.onlyIfCached = cc.onlyIfCached || r.OnlyIfCached
	if r.MaxAge >= 0 {
		cc.maxAge.keepMin(int64(r.MaxAge))
	}
	if r.MinFresh >= 0 {
		cc.minFresh.keepMax(int64(r.MinFresh))
	}
	if r.MaxStale >= 0 {
		cc.maxStale.keepMin(int64(r.MaxStale))
	} else if r.MaxStaleSet {
		cc.maxStaleAny = true
	}
	// ParseRequestCacheControl leaves StaleIfError at 0, not -1, when the
	// directive is absent, so we look at the name.
	if name == "stale-if-error" && r.StaleIfError >= 0 {
		cc.staleIfError.keepMin(int64(r.StaleIfError))
	}
}

// mergeResponse merges the directives cacheobject found in one response
// directive.
func (cc *cacheControl) mergeResponse(r *cacheobject.ResponseCacheDirectives) {
	cc.mustRevalidate = cc.mustRevalidate || r.MustRevalidate
	cc.noStore = cc.noStore || r.NoStore
	cc.noTransform = cc.noTransform || r.NoTransform
	cc.public = cc.public || r.Public
	cc.proxyRevalidate = cc.proxyRevalidate || r.ProxyRevalidate
	cc.immutable = cc.immutable || r.Immutable
	if r.NoCachePresent {
		cc.noCacheFields = appendFields(cc.noCacheFields, r.NoCache, &cc.noCache)
	}
	if r.PrivatePresent {
		cc.privateFields = appendFields(cc.privateFields, r.Private, &cc.private)
	}
	if r.MaxAge >= 0 {
		cc.maxAge.keepMin(int64(r.MaxAge))
	}
	if r.SMaxAge >= 0 {
		cc.sMaxAge.keepMin(int64(r.SMaxAge))
	}
	if r.StaleWhileRevalidate >= 0 {
		cc.staleWhileRevalidate.keepMin(int64(r.StaleWhileRevalidate))
	}
	if r.StaleIfError >= 0 {
		cc.staleIfError.keepMin(int64(r.StaleIfError))
	}
	// cacheobject does not know must-understand (RFC 9111 Section 5.2.2.3)
	// and lists it among the extensions.
	for _, ext := range r.Extensions {
		if name, _, _ := strings.Cut(ext, "="); name == "must-understand" {
			cc.mustUnderstand = true
		}
	}
}

// appendFields appends the non-empty field names of a qualified no-cache or
// private directive to fields. A qualified form that names no field, like
// no-cache="", restricts nothing by the letter of RFC 9111 Sections 5.2.2.4
// and 5.2.2.7; we read it as the bare form instead, which is safer, and set
// *bare.
func appendFields(fields []string, names cacheobject.FieldNames, bare *bool) []string {
	n := len(fields)
	for name := range names {
		if name != "" {
			fields = append(fields, name)
		}
	}
	if len(fields) == n {
		*bare = true
	}
	return fields
}

// addInvalid merges a directive whose argument is missing, invalid or
// malformed, or that has an argument it does not take:
//
//   - max-age and s-maxage make the response stale (seconds 0): RFC 9111
//     Section 4.2.1 encourages caches to consider invalid freshness
//     information stale, so "max-age=abc" must not read as no max-age;
//   - min-fresh, max-stale, stale-while-revalidate and stale-if-error are
//     ignored (an invalid max-stale is not read as "any staleness");
//   - a directive that takes no argument is set anyway ("no-store=1" is
//     no-store), and no-cache or private with a malformed field list is read
//     as the bare form: the restrictive reading.
func (cc *cacheControl) addInvalid(name string, request bool) {
	switch name {
	case "max-age":
		cc.maxAge.keepMin(0)
	case "no-cache":
		cc.noCache = true
	case "no-store":
		cc.noStore = true
	case "no-transform":
		cc.noTransform = true
	}
	if request {
		if name == "only-if-cached" {
			cc.onlyIfCached = true
		}
		return
	}
	switch name {
	case "s-maxage":
		cc.sMaxAge.keepMin(0)
	case "must-revalidate":
		cc.mustRevalidate = true
	case "must-understand":
		cc.mustUnderstand = true
	case "private":
		cc.private = true
	case "proxy-revalidate":
		cc.proxyRevalidate = true
	case "public":
		cc.public = true
	case "immutable":
		cc.immutable = true
	}
}

// finish resolves the combinations of directives once all are merged.
func (cc *cacheControl) finish() {
	cc.noCacheFields = tidyFields(cc.noCacheFields, cc.noCache)
	cc.privateFields = tidyFields(cc.privateFields, cc.private)
	if cc.maxStale.set {
		cc.maxStaleAny = false
	}
}

// tidyFields sorts and deduplicates fields, or drops them if the bare form
// of their directive is also present.
func tidyFields(fields []string, bare bool) []string {
	if bare || len(fields) == 0 {
		return nil
	}
	slices.Sort(fields)
	return slices.Compact(fields)
}

// directive is one element of a Cache-Control field value:
//
//	cache-directive = token [ "=" ( token / quoted-string ) ]
//
// per [RFC 9111 Section 5.2].
//
// [RFC 9111 Section 5.2]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2
type directive struct {
	name  string // the token before "=", as written; "" if there is none
	value string // the argument as written, quotes included; "" if none
	elem  string // the whole element, name[=value]
	ok    bool   // the element matches the grammar
}

// nextDirective returns the first directive of s at or after i and the index
// at which to look for the next one, which is after i unless i is len(s).
// Commas, spaces and tabs separate directives; empty elements are skipped.
//
// A directive that does not match the grammar has ok false but keeps its
// name, and everything up to the next comma outside a quoted string is
// skipped with it: so text in a quoted string is never taken for a directive. A quoted string that is not
// terminated runs to the end of s. The returned name is "" when there is no
// directive (s has only separators from i on) or the element does not start
// with a token.
func nextDirective(s string, i int) (d directive, next int) {
	for i < len(s) && isSeparator(s[i]) {
		i++
	}
	start := i
	i = skipToken(s, i)
	d.name = s[start:i]
	d.ok = d.name != ""
	if d.ok && i < len(s) && s[i] == '=' {
		i++
		v := i
		if i < len(s) && s[i] == '"' {
			i = quotedStringEnd(s, i)
			if i < 0 {
				d.ok, i = false, len(s)
			}
		} else {
			i = skipToken(s, i)
			d.ok = i > v // the empty argument of "max-age=" is not a token
		}
		d.value = s[v:i]
	}
	d.elem = s[start:i]
	if i < len(s) && !isSeparator(s[i]) {
		d.ok = false
		i = memberEnd(s, i, ',')
	}
	return d, i
}

// isSeparator reports whether c separates directives: a comma or whitespace
// (OWS and the list syntax of [RFC 9110 Section 5.6.1]).
//
// [RFC 9110 Section 5.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.1
func isSeparator(c byte) bool {
	return c == ',' || c == ' ' || c == '\t'
}

// skipToken returns the index of the first byte at or after i in s that is
// not a tchar ([RFC 9110 Section 5.6.2]).
//
// [RFC 9110 Section 5.6.2]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2
func skipToken(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			i++
			continue
		}
		break
	}
	return i
}

// isDeltaSecondsDirective reports whether the lower-case directive name
// takes a delta-seconds argument.
func isDeltaSecondsDirective(name string) bool {
	switch name {
	case "max-age", "s-maxage", "min-fresh", "max-stale", "stale-while-revalidate", "stale-if-error":
		return true
	}
	return false
}

// unquote strips the quotes of a quoted-string argument. It leaves escapes
// alone: a delta-seconds argument with a backslash is not 1*DIGIT anyway.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}
