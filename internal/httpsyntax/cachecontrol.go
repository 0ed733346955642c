package httpsyntax

import (
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/pquerna/cachecontrol/cacheobject"
)

// This file holds the Cache-Control directives of RFC 9111 Section 5.2, read
// over github.com/pquerna/cachecontrol, and the targeted fields of RFC 9213.

// DeltaSeconds is a parsed delta-seconds argument ([RFC 9111 Section 1.2.2]).
//
// [RFC 9111 Section 1.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2
type DeltaSeconds struct {
	// Seconds is the value, at most maxDeltaSeconds (which fits 32 bits:
	// an entry keeps six of these). It is 0 when the value of max-age or
	// s-maxage was invalid.
	Seconds uint32
	Set     bool // the directive appeared (with a valid value, or it is max-age/s-maxage)
}

// MaxDeltaSeconds is the value a cache takes for a delta-seconds too large to
// represent, per [RFC 9111 Section 1.2.2]: 2^31. cacheobject clamps such
// values to 2^31-1, which clampDelta lifts to this one constant.
//
// [RFC 9111 Section 1.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2
const MaxDeltaSeconds = 1 << 31

// clampDelta bounds a delta-seconds value to maxDeltaSeconds.
func clampDelta(s int64) int64 {
	if s >= math.MaxInt32 { // cacheobject's clamp, or a larger value
		return MaxDeltaSeconds
	}
	return s
}

// keepMin records s if d is unset or s is smaller: the most restrictive of
// several max-age, s-maxage, max-stale, stale-while-revalidate or
// stale-if-error directives wins.
func (d *DeltaSeconds) keepMin(s int64) {
	s = clampDelta(s)
	if !d.Set || s < int64(d.Seconds) {
		d.Set, d.Seconds = true, uint32(s)
	}
}

// keepMax records s if d is unset or s is larger: the most restrictive of
// several min-fresh directives wins.
func (d *DeltaSeconds) keepMax(s int64) {
	s = clampDelta(s)
	if !d.Set || s > int64(d.Seconds) {
		d.Set, d.Seconds = true, uint32(s)
	}
}

// CacheControl holds the directives of one Cache-Control header, request or
// response ([RFC 9111 Section 5.2]). A request's value holds only request
// directives ([RFC 9111 Section 5.2.1] and stale-if-error), a response's only
// response directives ([RFC 9111 Section 5.2.2], stale-while-revalidate,
// stale-if-error and immutable); the others are ignored like unknown ones.
//
// [RFC 9111 Section 5.2]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2
// [RFC 9111 Section 5.2.1]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2.1
// [RFC 9111 Section 5.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2
type CacheControl struct {
	NoStore, NoCache, MustRevalidate, ProxyRevalidate, Public, Private, Immutable, MustUnderstand, NoTransform, OnlyIfCached bool
	// MaxStaleAny reports a request max-stale without a value: any staleness
	// is accepted (RFC 9111 Section 5.2.1.2). A valued max-stale, being more
	// restrictive, overrides it.
	MaxStaleAny bool
	// Targeted reports directives read from a Targeted field (RFC 9213
	// Section 2.2), not from Cache-Control: the response's Expires is then
	// to be ignored too.
	Targeted bool

	// NoCacheFields and PrivateFields hold the canonical header names, sorted
	// and without duplicates, of the qualified forms no-cache="a, b" and
	// private="a" of a response. The bare form sets noCache or private
	// instead, and wins over the qualified form: the fields are then nil.
	NoCacheFields, PrivateFields []string

	// The delta-seconds directives; max-stale holds only a valued max-stale.
	MaxAge, SMaxAge, MinFresh, MaxStale, StaleWhileRevalidate, StaleIfError DeltaSeconds
}

// ParseResponseCacheControl parses the Cache-Control field lines of a
// response per [RFC 9111 Section 5.2]. It never fails: unknown and malformed
// directives are ignored or, when that is safer, read as restrictively as
// possible (see [parseCacheControl]).
//
// [RFC 9111 Section 5.2]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2
func ParseResponseCacheControl(h http.Header) CacheControl {
	return parseCacheControl(h, "Cache-Control", false)
}

// TargetedDirectives returns the directives of the first field of targets,
// the cache's target list, that h has with a valid, non-empty value, per
// [RFC 9213 Section 2.2]. ok is false if there is none: the cache then obeys
// Cache-Control.
//
// [RFC 9213 Section 2.2]: https://www.rfc-editor.org/rfc/rfc9213#section-2.2
func TargetedDirectives(h http.Header, targets []string) (cc CacheControl, ok bool) {
	for _, name := range targets {
		if cc, ok := parseTargetedField(h, name); ok {
			return cc, true
		}
	}
	return CacheControl{}, false
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
func parseTargetedField(h http.Header, name string) (cc CacheControl, ok bool) {
	lines := h.Values(name)
	if len(lines) == 0 {
		return CacheControl{}, false
	}
	dict, ok := parseDictionary(lines)
	if !ok || len(dict) == 0 {
		return CacheControl{}, false
	}
	for _, m := range dict {
		if !cc.addTargeted(m.key, m.item) {
			return CacheControl{}, false
		}
	}
	cc.finish()
	cc.Targeted = true
	return cc, true
}

// addTargeted sets the directive of a targeted field named key (see
// [parseTargetedField]) to item. It reports false if item has the wrong
// type for key.
func (cc *CacheControl) addTargeted(key string, item sfItem) bool {
	switch key {
	case "max-age":
		return cc.MaxAge.setTargeted(item)
	case "s-maxage":
		return cc.SMaxAge.setTargeted(item)
	case "stale-while-revalidate":
		return cc.StaleWhileRevalidate.setTargeted(item)
	case "stale-if-error":
		return cc.StaleIfError.setTargeted(item)
	case "no-store":
		return setTargetedFlag(&cc.NoStore, item)
	case "must-revalidate":
		return setTargetedFlag(&cc.MustRevalidate, item)
	case "proxy-revalidate":
		return setTargetedFlag(&cc.ProxyRevalidate, item)
	case "public":
		return setTargetedFlag(&cc.Public, item)
	case "immutable":
		return setTargetedFlag(&cc.Immutable, item)
	case "must-understand":
		return setTargetedFlag(&cc.MustUnderstand, item)
	case "no-transform":
		return setTargetedFlag(&cc.NoTransform, item)
	case "no-cache":
		return setTargetedFields(&cc.NoCache, &cc.NoCacheFields, item)
	case "private":
		return setTargetedFields(&cc.Private, &cc.PrivateFields, item)
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
func (d *DeltaSeconds) setTargeted(item sfItem) bool {
	if item.kind != sfKindInteger || item.num < 0 {
		return false
	}
	d.Set, d.Seconds = true, uint32(clampDelta(item.num))
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
			if name = TrimOWS(name); name == "" {
				continue // an empty list element (RFC 9110 Section 5.6.1)
			}
			if !ValidToken(name) {
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

// ParseRequestCacheControl parses the Cache-Control field lines of a request
// per [RFC 9111 Section 5.2], like [parseResponseCacheControl].
//
// [RFC 9111 Section 5.2]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2
func ParseRequestCacheControl(h http.Header) CacheControl {
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
func parseCacheControl(h http.Header, name string, request bool) CacheControl {
	var cc CacheControl
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
func (cc *CacheControl) add(d directive, request bool) {
	name := strings.ToLower(d.name)
	// cacheobject reads "max-age=99999999999x" as the clamped maximum
	// (strconv.ParseUint reports the overflow before the syntax error), so we
	// check that a delta-seconds argument is 1*DIGIT ourselves.
	valid := d.value == "" || !isDeltaSecondsDirective(name) || IsDigits(unquote(d.value))
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
func (cc *CacheControl) mergeRequest(r *cacheobject.RequestCacheDirectives, name string) {
	cc.NoCache = cc.NoCache || r.NoCache
	cc.NoStore = cc.NoStore || r.NoStore
	cc.NoTransform = cc.NoTransform || r.NoTransform
	cc.OnlyIfCached = cc.OnlyIfCached || r.OnlyIfCached
	if r.MaxAge >= 0 {
		cc.MaxAge.keepMin(int64(r.MaxAge))
	}
	if r.MinFresh >= 0 {
		cc.MinFresh.keepMax(int64(r.MinFresh))
	}
	if r.MaxStale >= 0 {
		cc.MaxStale.keepMin(int64(r.MaxStale))
	} else if r.MaxStaleSet {
		cc.MaxStaleAny = true
	}
	// ParseRequestCacheControl leaves StaleIfError at 0, not -1, when the
	// directive is absent, so we look at the name.
	if name == "stale-if-error" && r.StaleIfError >= 0 {
		cc.StaleIfError.keepMin(int64(r.StaleIfError))
	}
}

// mergeResponse merges the directives cacheobject found in one response
// directive.
func (cc *CacheControl) mergeResponse(r *cacheobject.ResponseCacheDirectives) {
	cc.MustRevalidate = cc.MustRevalidate || r.MustRevalidate
	cc.NoStore = cc.NoStore || r.NoStore
	cc.NoTransform = cc.NoTransform || r.NoTransform
	cc.Public = cc.Public || r.Public
	cc.ProxyRevalidate = cc.ProxyRevalidate || r.ProxyRevalidate
	cc.Immutable = cc.Immutable || r.Immutable
	if r.NoCachePresent {
		cc.NoCacheFields = appendFields(cc.NoCacheFields, r.NoCache, &cc.NoCache)
	}
	if r.PrivatePresent {
		cc.PrivateFields = appendFields(cc.PrivateFields, r.Private, &cc.Private)
	}
	if r.MaxAge >= 0 {
		cc.MaxAge.keepMin(int64(r.MaxAge))
	}
	if r.SMaxAge >= 0 {
		cc.SMaxAge.keepMin(int64(r.SMaxAge))
	}
	if r.StaleWhileRevalidate >= 0 {
		cc.StaleWhileRevalidate.keepMin(int64(r.StaleWhileRevalidate))
	}
	if r.StaleIfError >= 0 {
		cc.StaleIfError.keepMin(int64(r.StaleIfError))
	}
	// cacheobject does not know must-understand (RFC 9111 Section 5.2.2.3)
	// and lists it among the extensions.
	for _, ext := range r.Extensions {
		if name, _, _ := strings.Cut(ext, "="); name == "must-understand" {
			cc.MustUnderstand = true
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
func (cc *CacheControl) addInvalid(name string, request bool) {
	switch name {
	case "max-age":
		cc.MaxAge.keepMin(0)
	case "no-cache":
		cc.NoCache = true
	case "no-store":
		cc.NoStore = true
	case "no-transform":
		cc.NoTransform = true
	}
	if request {
		if name == "only-if-cached" {
			cc.OnlyIfCached = true
		}
		return
	}
	switch name {
	case "s-maxage":
		cc.SMaxAge.keepMin(0)
	case "must-revalidate":
		cc.MustRevalidate = true
	case "must-understand":
		cc.MustUnderstand = true
	case "private":
		cc.Private = true
	case "proxy-revalidate":
		cc.ProxyRevalidate = true
	case "public":
		cc.Public = true
	case "immutable":
		cc.Immutable = true
	}
}

// finish resolves the combinations of directives once all are merged.
func (cc *CacheControl) finish() {
	cc.NoCacheFields = tidyFields(cc.NoCacheFields, cc.NoCache)
	cc.PrivateFields = tidyFields(cc.PrivateFields, cc.Private)
	if cc.MaxStale.Set {
		cc.MaxStaleAny = false
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
