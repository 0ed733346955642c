package acache

import (
	"net/http"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// This file holds the policies for APIs that send no caching headers, or
// the wrong ones: opt-in departures from RFC 9111, each named for the rule
// it departs from. Nothing here applies unless an option asks for it.

// policy returns the Cache's freshness policy, making it when an option
// sets the first of its parts.
func (c *config) policy() *freshnessPolicy {
	if c.freshness == nil {
		c.freshness = &freshnessPolicy{}
	}
	return c.freshness
}

// WithDefaultFreshness makes a response that carries no explicit freshness
// (no max-age, no s-maxage in a shared cache, no Expires) fresh for d from
// when it was sent, instead of the heuristic freshness of RFC 9111 Section
// 4.2.2 (a tenth of the time since Last-Modified, and nothing without it).
// It departs from Section 4.2.2, which allows a heuristic only for a
// response with a status code that is heuristically cacheable or a response
// marked public; with it, an API that sends no caching headers at all gets
// its 200s, 404s and the other heuristically cacheable responses served for
// d. Which responses are stored is unchanged: see [WithRule] for that.
// d <= 0 means no default (the RFC's heuristic).
func WithDefaultFreshness(d time.Duration) Option {
	return Option{func(c *config) {
		if d > 0 {
			c.policy().defaultFreshness = min(d, policy.MaxAge)
		}
	}}
}

// WithMaxFreshness caps the freshness lifetime of every stored response at
// d, whatever the origin or a rule gave it: a response is revalidated (or
// fetched again) at least every d. RFC 9111 lets a cache be this strict (a
// stale response is only ever revalidated); it departs from the origin's
// intent, not from the RFC. d <= 0 means no cap.
func WithMaxFreshness(d time.Duration) Option {
	return Option{func(c *config) {
		if d > 0 {
			c.policy().maxFreshness = d
		}
	}}
}

// StoreRule says whether a [Rule] lets RFC 9111 decide if a response is
// stored, or decides itself.
type StoreRule uint8

const (
	// StoreAsRFC leaves it to RFC 9111 Section 3.
	StoreAsRFC StoreRule = iota
	// StoreAlways stores the response even when its Cache-Control says
	// no-store (RFC 9111 Section 5.2.2.5) or its status code is not
	// cacheable by default (Section 3): the rule departs from both. It never
	// overrides what keeps users apart or responses whole: a response marked
	// private in a shared cache (Section 5.2.2.7), one to a request with
	// Authorization in a shared cache (Section 3.5), a request's no-store, a
	// 206, Vary: *, a body cut short, and Set-Cookie, which is never stored.
	StoreAlways
	// StoreNever does not store the response, whatever the RFC allows.
	StoreNever
)

// Rule is what a rule function ([WithRule]) decides for one response. The
// zero Rule lets RFC 9111 decide everything.
type Rule struct {
	// Store says whether the response is stored.
	Store StoreRule
	// FreshFor, when positive, is the response's freshness lifetime,
	// replacing what its Cache-Control, Expires and Date say (RFC 9111
	// Section 4.2.1) and its no-cache (Section 5.2.2.4): it is served
	// without validation for FreshFor from when it was sent, then
	// revalidated. It is stored with the response ([Entry.FreshFor]), so
	// every Cache that reads the entry, in this process or another, sees
	// it; [WithMaxFreshness] still caps it. A response that RFC 9111 does
	// not store is stored only with StoreAlways.
	FreshFor time.Duration
}

// WithRule sets a function that decides, for each response from the
// origin, what RFC 9111 would otherwise decide: whether it is stored and for
// how long it is fresh. It is called with the request as the cache reads it
// and the origin's response, before its body is read; it must not read the
// body or modify either. A rule that panics stores nothing; the panic is
// reported.
//
//	acache.WithRule(func(req *http.Request, resp *http.Response) acache.Rule {
//		switch {
//		case resp.StatusCode == http.StatusNotFound:
//			return acache.Rule{FreshFor: time.Minute} // cache a 404 for a minute
//		case resp.StatusCode >= 500:
//			return acache.Rule{Store: acache.StoreNever} // never a 5xx
//		case strings.HasPrefix(req.URL.Path, "/config/"):
//			return acache.Rule{Store: acache.StoreAlways, FreshFor: 5 * time.Minute}
//		}
//		return acache.Rule{}
//	})
func WithRule(rule func(req *http.Request, resp *http.Response) Rule) Option {
	return Option{func(c *config) {
		if rule != nil {
			c.rule = rule
		}
	}}
}
