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
	// ([RFC 9211]), as the end of the body left it: a response the member
	// says stored whose body was then cut short, or larger than the Cache
	// keeps, is not stored, and Detail says why. Its zero value when there
	// is no member.
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
	// Reason is why, when there is a reason: the Cache-Status detail (the
	// keys of [Stats.RefusalsByReason]; "method" for a method the cache
	// does not store) followed by its words and the rule behind it, such
	// as "no-store: the response's Cache-Control says no-store (RFC 9111
	// §5.2.2.5)".
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
	x.Hit = s.Hit || s.Collapsed
	why, _, _ := policy.ReasonOf(s.Detail)
	x.Stale = why == policy.ReasonStaleWhileRevalidate || why == policy.ReasonStaleIfError ||
		s.Hit && s.TTL < 0 // max-stale, ModeForceCache
	x.Revalidated = s.Stored && s.FwdStatus == http.StatusNotModified
	x.Stored = s.Hit || s.Collapsed || s.Stored || x.Stale
	if t := bodyOf(resp.Body); t != nil && s.Stored {
		// The member was written before the body was read; the body says
		// how it ended.
		if refused, ended := t.notStored(); ended && refused != 0 {
			x.Stored, s.Stored, s.TTL, s.Detail = false, false, 0, refused.String()
		}
	}
	x.Status = s
	x.Reason = explainReason(s, resp.StatusCode)
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
		if ctl, ok := controlOf(resp.Request.Context()); ok && ctl.FreshFor > 0 {
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

// explainReason returns the reason of a Cache-Status member s in words,
// its detail first, or ""; status is the status code of the response it was
// given for.
func explainReason(s CacheStatus, status int) string {
	if s.Detail == "" && s.Fwd == policy.FwdMethod {
		s.Detail = policy.ReasonMethod.String()
	}
	if s.Detail == "" {
		return ""
	}
	_, words := reasonInWords(s.Detail, status)
	return words
}

// bodyOf returns what the Transport knows of how a response body it
// returned ended: its body tee (tee.go) or its fill (fill.go); nil when the
// body is another, or was replaced by the caller.
func bodyOf(body io.ReadCloser) interface {
	notStored() (refused policy.Refusal, ended bool)
} {
	switch b := body.(type) {
	case *teeBody:
		return b
	case *fillReader:
		return b.f
	case *prefixedBody:
		if t, ok := b.body.(*teeBody); ok {
			return t
		}
	}
	return nil
}
