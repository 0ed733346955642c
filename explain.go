package acache

// This file answers "why was this not cached?" for one response: what the
// Cache-Status member says, in words, with the freshness the cache computes.

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// Explanation says what a Cache did with one response and why: whether it
// was served from the cache or stored, why not when it was not, and how
// long it stays fresh. Get one with [Cache.Explain].
type Explanation struct {
	// Status is the Cache-Status member the Cache added to the response
	// ([RFC 9211]); its zero value when there is none.
	//
	// [RFC 9211]: https://www.rfc-editor.org/rfc/rfc9211
	Status CacheStatus
	// Hit reports a response served from the cache without contacting the
	// origin, or after waiting for another request that did (collapsed).
	Hit bool
	// Stale reports a stale stored response served: while it is refreshed
	// (stale-while-revalidate) or in place of an origin that failed
	// (stale-if-error, [WithStaleOnError]).
	Stale bool
	// Revalidated reports a stored response the origin confirmed with a
	// 304, now fresh again.
	Revalidated bool
	// Stored reports that the response is in the cache: served from it,
	// or stored as it arrived. A response decided storable is stored when
	// its body has been read to the end intact: called after the body's
	// end, Explain says whether it was (a body cut short, or larger than
	// the cache keeps, is not, and Detail says why); before, it says what
	// the Cache-Status member promised.
	Stored bool
	// Detail is the short reason the Cache-Status member gives, such as
	// "no-store" or "private" (the keys of [Stats.RefusalsByReason]),
	// without what follows ": " ("stale-if-error: " and the origin's
	// error); "method" for a method the cache does not store; empty when
	// there is none.
	Detail string
	// Reason is Detail in words, with the rule behind it, such as
	// "no-store: the response's Cache-Control says no-store (RFC 9111
	// §5.2.2.5)"; empty when Detail is.
	Reason string
	// FreshFor is the response's freshness lifetime as the Cache computes
	// it ([RFC 9111 Section 4.2.1]): s-maxage in a shared cache, max-age,
	// Expires minus Date, or a tenth of the time since Last-Modified.
	//
	// [RFC 9111 Section 4.2.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.1
	FreshFor time.Duration
	// FreshnessFrom says where FreshFor came from: "s-maxage", "max-age",
	// "Expires", "heuristic", "policy" when the Cache's options changed it
	// ([WithDefaultFreshness], [WithMaxFreshness]), "rule" when a
	// [WithRule] rule gives it (asked again, for resp and resp.Request),
	// "request" when the request's [Control] gives its own (FreshFor), or
	// "" when nothing gives the response a lifetime (FreshFor is then zero).
	FreshnessFrom string
	// Age is the response's current age ([RFC 9111 Section 4.2.3]), in
	// whole seconds, as the Age field states it.
	//
	// [RFC 9111 Section 4.2.3]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.3
	Age time.Duration
	// TTL is how much longer the response stays fresh, FreshFor minus Age
	// in whole seconds, negative once stale: for a hit or a stored response,
	// the ttl of its Cache-Status member.
	TTL time.Duration
}

// Explain says what the Cache did with resp, a response its [Transport]
// returned, and why: the question "why was this not cached?" answered in
// one call. It reads the Cache-Status member the Cache added (the last one
// by the Cache's name, [WithName]) and computes the freshness lifetime and
// age from resp's header as the Cache does, at the Cache's clock's now.
// resp's body is not read. For a response that did not come through the
// Cache, Explain says so in Reason.
func (c *Cache) Explain(resp *http.Response) Explanation {
	var x Explanation
	switch {
	case c == nil:
		x.Reason = "no Cache: Explain was called on a nil *Cache"
		return x
	case resp == nil:
		x.Reason = "no response"
		return x
	}
	c.ready()
	s, ok := c.ownCacheStatus(resp.Header)
	if !ok {
		x.Reason = fmt.Sprintf("the response has no Cache-Status member by %q: it did not come through this Cache", c.name)
		return x
	}
	x.Status = s
	x.Hit = s.Hit || s.Collapsed
	x.Stale = s.Detail == "stale-while-revalidate" || strings.HasPrefix(s.Detail, "stale-if-error") ||
		s.Hit && s.TTL < 0 // max-stale, ModeForceCache
	x.Revalidated = s.Stored && s.FwdStatus == http.StatusNotModified
	x.Stored = s.Hit || s.Collapsed || s.Stored || x.Stale
	if t := teeOf(resp.Body); t != nil && s.Stored {
		// The member was written before the body was read; the body says
		// how it ended.
		if refused, ended := t.notStored(); ended && refused != 0 {
			x.Stored, s.Detail = false, refused.String()
		}
	}
	x.Detail, x.Reason = explainDetail(s, resp.StatusCode)
	c.explainFreshness(&x, resp)
	return x
}

// explainFreshness sets the freshness lifetime, age and ttl of x, the
// explanation of resp, as the Cache computes them at its clock's now.
func (c *Cache) explainFreshness(x *Explanation, resp *http.Response) {
	now := c.now()
	e := &Entry{StatusCode: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, RequestTime: now, ResponseTime: now}
	if x.Stored && (resp.StatusCode == http.StatusNotModified || resp.StatusCode == http.StatusPartialContent) {
		// The cache's answer to the caller's validators or Range, from a
		// stored 200 (serve.go).
		e.StatusCode = http.StatusOK
	}
	if resp.Request != nil {
		func() {
			defer func() { recover() }() // a rule that panics gives no freshness
			e.FreshFor = min(max(c.ruleFor(resp.Request, resp).FreshFor, 0), policy.MaxAge)
		}()
	}
	m := deriveMeta(e, c.derivation)
	x.FreshFor, x.FreshnessFrom = lifetimeOf(e, m.CC, policy.DateValue(e.Header, now), c.shared, c.freshness)
	if resp.Request != nil {
		if ctl, ok := ControlOf(resp.Request.Context()); ok && ctl.FreshFor > 0 {
			x.FreshFor, x.FreshnessFrom = min(ctl.FreshFor, policy.MaxAge), "request" // Control.FreshFor
		}
	}
	x.Age = policy.CurrentAge(&m.Facts, e.ResponseTime, now).Truncate(time.Second) // as the Age field states it
	x.TTL = policy.TTL(x.FreshFor, x.Age)
	if x.Stored {
		x.TTL = x.Status.TTL
	}
}

// ownCacheStatus returns the last member of the Cache-Status field of h
// written under the Cache's name.
func (c *Cache) ownCacheStatus(h http.Header) (CacheStatus, bool) {
	var members []string
	for _, line := range h.Values("Cache-Status") {
		members = append(members, httpsyntax.SplitOutsideQuotes(line, ',')...)
	}
	for i := len(members) - 1; i >= 0; i-- {
		if s, ok := parseCacheStatus(members[i : i+1]); ok && s.Cache == c.name {
			return s, true
		}
	}
	return CacheStatus{}, false
}

// String says what the Cache did with the response in a sentence or two,
// for a log line or an error message.
func (x Explanation) String() string {
	var b strings.Builder
	switch {
	case x.Status.Cache == "":
		return "Not explained: " + x.Reason + "."
	case x.Stale:
		b.WriteString("Served stale from the cache")
	case x.Hit && x.Status.Collapsed:
		b.WriteString("Served from the cache after waiting for a request in flight for it (collapsed)")
	case x.Hit:
		b.WriteString("Served from the cache (hit)")
	case x.Revalidated:
		b.WriteString("Revalidated with the origin (304 Not Modified) and stored again")
	case x.Stored:
		b.WriteString("Stored")
	default:
		b.WriteString("Not stored")
	}
	if x.Reason != "" {
		b.WriteString(": ")
		b.WriteString(x.Reason)
	}
	b.WriteString(".")
	if !x.Stored {
		return b.String() // its freshness does not matter
	}
	b.WriteString(" ")
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	switch {
	case x.FreshnessFrom == "":
		b.WriteString("It has no freshness lifetime")
	default:
		fmt.Fprintf(&b, "Fresh for %v (%s)", ms(x.FreshFor), x.FreshnessFrom)
	}
	fmt.Fprintf(&b, ", age %v", ms(x.Age))
	if x.TTL >= 0 {
		fmt.Fprintf(&b, ", %v left.", ms(x.TTL))
	} else {
		fmt.Fprintf(&b, ", stale by %v.", ms(-x.TTL))
	}
	return b.String()
}

// explainDetail returns the reason of a Cache-Status member s, a detail
// such as "no-store", and the reason in words, the detail first; status is
// the status code of the response it was given for. A detail that carries
// more after ": " (the origin's error, for stale-if-error) is the part
// before it, the rest going in parentheses after the words.
func explainDetail(s CacheStatus, status int) (detail, reason string) {
	detail = s.Detail
	if detail == "" && s.Fwd == FwdMethod {
		detail = "method"
	}
	if detail == "" {
		return "", ""
	}
	words, ok := detailWords[detail]
	rest := ""
	if !ok {
		name, more, _ := strings.Cut(detail, ": ")
		if words, ok = detailWords[name]; !ok {
			return detail, detail
		}
		detail, rest = name, more
	}
	if strings.Contains(words, "%d") {
		words = fmt.Sprintf(words, status)
	}
	if rest != "" {
		words += " (" + rest + ")"
	}
	return detail, detail + ": " + words
}

// detailWords says in words what each Cache-Status detail the Cache gives
// means, and cites the rule; "%d" stands for the response's status code.
// Every reason for not storing a response has a row; a test checks it.
var detailWords = map[string]string{
	// Refusals: RFC 9111 Section 3 and what the cache cannot prove.
	"method":                              "the request method is not GET or HEAD, the methods whose responses this cache stores (RFC 9111 §3, RFC 9110 §9.2.3)",
	"status":                              "a %d is not a final, complete response that a cache can store (RFC 9111 §3)",
	"partial content":                     "the 206 cannot be kept as an incomplete response, which needs one range, a known complete length and a strong ETag to be combined later (RFC 9111 §3.3, §3.4)",
	"part of a stored response":           "the 206 is part of a representation the cache holds complete, with the same strong validator: the stored response stays (RFC 9111 §3.4)",
	"request no-store":                    "the request's Cache-Control says no-store (RFC 9111 §5.2.1.5)",
	"must-understand":                     "the response says must-understand, and this cache does not implement the caching rules of status %d (RFC 9111 §5.2.2.3)",
	"no-store":                            "the response's Cache-Control says no-store (RFC 9111 §5.2.2.5)",
	"private":                             "the response says private, and this is a shared cache (RFC 9111 §5.2.2.7)",
	"authorization":                       "the request carries Authorization, and the response does not say public, must-revalidate or s-maxage, one of which a shared cache needs to store it (RFC 9111 §3.5)",
	"vary *":                              "the response's Vary is * or names too many fields: no later request can be matched to it (RFC 9111 §4.1)",
	"status not cacheable by default":     "status %d is not cacheable by default (RFC 9110 §15.1), and the response gives neither explicit freshness (max-age, s-maxage, Expires) nor public or private (RFC 9111 §3)",
	"authorization added below the cache": addedBelowWords,
	"unframed body":                       "the HTTP/1 body has neither Content-Length nor chunked framing, so a cut-short body cannot be told from a complete one (RFC 9112 §6.3, RFC 9111 §3.3); WithUnframedBodies stores such bodies",
	"too large":                           "the body is larger than the cache's body size limit (WithMaxBodySize), or the response than the whole cache (WithMaxBytes)",
	"rule":                                "a rule of the Cache (WithRule) says StoreNever for this response",
	"stale on arrival":                    "the response was already stale when it arrived, and has no validator (ETag, Last-Modified) to revalidate it with (RFC 9111 §4.2, §4.3.1)",
	"body cut short":                      "the body ended before its announced length, failed, was closed before its end, or had another length than announced, so it cannot be stored as the complete response (RFC 9111 §3.3); the bytes that arrived intact are kept as an incomplete response when it has a strong validator and the origin accepts ranges",
	"backend unavailable":                 "the backend failed or timed out several times in a row, and the circuit breaker skips it for a second before it probes it again: the response went to the origin at once and is not stored (Stats.BreakerOpen)",
	"nil backend":                         "the Cache's backend is a nil pointer, or a backend made from a nil client (ErrNilBackend): it can store nothing, so every request goes to the origin; the mistake is logged once, at Error",
	"cache error":                         "the cache failed (a backend error or a panic, logged at Warn and counted in Stats.Errors) and left the request to the origin",

	// Why the request went to the origin as if there were no cache.
	"invalid request": "the request has a field or method that net/http refuses to send, so nothing stored may answer it",
	"precondition":    "If-Match and If-Unmodified-Since are for the origin to evaluate (RFC 9111 §4.3.2), and so is If-Range when no stored response with a strong validator can answer it (RFC 9110 §13.1.5)",
	"uncacheable URL": "the URL has no host, or bytes a cache key cannot hold (RFC 9111 §2)",
	"no-store mode":   "the request's Control asks for ModeNoStore, the Fetch standard's no-store cache mode: it goes to the origin as if there were no cache",

	// Why a request went to the origin although a response is stored.
	"reload mode": "the request's Control asks for ModeReload, the Fetch standard's reload cache mode: it goes to the origin whatever is stored, and the response is stored",

	// How the cache answered.
	"only-if-cached":         "the request says only-if-cached, and no stored response could answer it (RFC 9111 §5.2.1.7)",
	"multiple ranges":        "a request for several ranges goes to the origin (RFC 9110 §14.2)",
	"stale-while-revalidate": "the stored response is stale, served at once while it is refreshed in the background (RFC 5861 §3)",
	"stale-if-error":         "the origin failed, and the stale stored response was served instead (RFC 5861 §4, RFC 9111 §4.2.4)",
	"must-revalidate":        "the stored response must be revalidated and the origin could not be reached, so the cache answered 504 (RFC 9111 §5.2.2.2)",
}

// teeOf returns the body tee behind a response body the Transport returned
// (tee.go), or nil when the body is another, or was replaced by the caller.
func teeOf(body io.ReadCloser) *teeBody {
	switch b := body.(type) {
	case *teeBody:
		return b
	case *prefixedBody:
		t, _ := b.body.(*teeBody)
		return t
	}
	return nil
}
