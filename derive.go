package acache

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
	"github.com/acachecontrol/acache/internal/policy"
)

// deriver derives what a Cache reads from stored responses (entryMeta), and
// checks the entries a backend hands back.
type deriver struct {
	reading *derivation // how the Cache reads responses
	// decoded remembers what was derived from entries a backend decoded;
	// derivations counts the derivations it did not spare.
	decoded     derivedMemo
	derivations atomic.Int64
}

// entryMeta is what the Cache derives from a stored response once, at store
// time, so that a hit re-parses nothing. One is kept per stored response,
// so its fields are ordered to leave no padding (176 bytes).
type entryMeta struct {
	// Facts are what RFC 9111 derives from the stored response.
	policy.Facts
	// from records how the Cache that derived it reads responses.
	from *derivation
	// hitHeaderValues counts the values of the stored header that a hit
	// serves (see withheldOnHit), for a one-allocation clone.
	hitHeaderValues int32
	// protoMajor and protoMinor are the version of the entry's Proto.
	protoMajor, protoMinor uint8
	// withheld reports that the stored header has fields a hit leaves out
	// (withheldOnHit). Most have none, and a hit then copies every field
	// without asking; no second header is kept per entry either way.
	withheld bool
}

// withheldOnHit reports a stored field that a hit does not serve: Age,
// recomputed per hit (RFC 9111 Section 4.2.3); the cache's own marker; a
// hop-by-hop field (Section 3.1); a field a qualified no-cache forbids
// sending without revalidation (Section 5.2.2.4).
func (m *entryMeta) withheldOnHit(name string) bool {
	if name == "Age" || name == xFromCache || policy.IsHopByHop(name) {
		return true
	}
	_, found := slices.BinarySearch(m.CC.NoCacheFields, name)
	return found
}

// derivation is how a Cache reads a stored response: its mode, the targeted
// fields it obeys (RFC 9213) and its freshness policy (rules.go, nil for
// none). A Cache makes one, which every entryMeta it derives points to.
type derivation struct {
	shared  bool
	targets []string
	policy  *freshnessPolicy
}

// deriveMeta computes the entryMeta of e as a cache that reads responses as
// from says sees it.
func deriveMeta(e *Entry, from *derivation) *entryMeta {
	shared, targets, fp := from.shared, from.targets, from.policy
	m := &entryMeta{
		Facts:      policy.Facts{CC: policy.ResponseDirectives(e.Header, targets)},
		from:       from,
		protoMajor: 1,
		protoMinor: 1,
	}
	if major, minor, ok := http.ParseHTTPVersion(e.Proto); ok && major <= 255 && minor <= 255 {
		m.protoMajor, m.protoMinor = uint8(major), uint8(minor)
	}
	m.VaryNames, m.VaryOK = policy.VaryNames(e.Header)
	m.Validator = policy.HasValidator(e.Header)
	dateValue := policy.DateValue(e.Header, e.ResponseTime)
	m.Lifetime, _ = lifetimeOf(e, m.CC, dateValue, shared, fp)
	if e.FreshFor > 0 {
		m.CC.NoCache = false // a rule's freshness replaces the origin's no-cache
	}
	m.InitialAge = policy.CorrectedInitialAge(e.Header, dateValue, e.RequestTime, e.ResponseTime)

	for name, values := range e.Header {
		if m.withheldOnHit(name) {
			m.withheld = true
		} else {
			m.hitHeaderValues += int32(len(values))
		}
	}
	return m
}

// derivedHere reports whether e carries what a Cache configured like c
// derived from it (the same mode and targeted fields): an entry this Cache,
// or one like it, stored in this process.
func (d *deriver) derivedHere(e *Entry) bool {
	m := e.meta
	if m == nil {
		return false
	}
	f := m.from
	c := d.reading
	return f == c || f.shared == c.shared && f.policy == c.policy && slices.Equal(f.targets, c.targets)
}

// metaOf returns what the Cache derives from e: computed when e was stored,
// or, for an entry a backend decoded, remembered from the first time the
// same response came back (see derivedMemo).
func (d *deriver) metaOf(e *Entry) *entryMeta {
	if d.derivedHere(e) {
		return e.meta
	}
	if m := d.decoded.find(e); m != nil {
		return m
	}
	d.derivations.Add(1)
	m := deriveMeta(e, d.reading)
	d.decoded.remember(e, m)
	return m
}

// maxDerivedMemo bounds the responses a derivedMemo remembers.
const maxDerivedMemo = 4096

// derivedMemo remembers what a Cache derived from the responses a backend
// decoded. Such a backend returns a new Entry on every Get, so without it a
// hit would parse the stored header again each time. A response is found by
// its key and response time, and must then equal, field by field, the one
// the meta was derived from: nothing derived from one response is used for
// another. It holds no body, and at most maxDerivedMemo responses. The zero
// value is ready to use.
type derivedMemo struct {
	// mu guards items.
	mu    sync.Mutex
	items map[derivedKey]derivedItem
}

type derivedKey struct {
	key          string
	responseTime int64 // Unix nanoseconds
}

type derivedItem struct {
	from *Entry // the fields deriveMeta reads, and no body
	meta *entryMeta
}

// find returns the meta derived from a response equal to e, or nil.
func (d *derivedMemo) find(e *Entry) *entryMeta {
	d.mu.Lock()
	item, ok := d.items[derivedKey{e.Key, e.ResponseTime.UnixNano()}]
	d.mu.Unlock()
	if !ok || !sameDerivation(item.from, e) {
		return nil
	}
	return item.meta
}

// remember records m, derived from e.
func (d *derivedMemo) remember(e *Entry, m *entryMeta) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.items == nil {
		d.items = make(map[derivedKey]derivedItem)
	}
	if len(d.items) >= maxDerivedMemo {
		for k := range d.items { // forget one, whichever the map yields
			delete(d.items, k)
			break
		}
	}
	from := &Entry{Key: e.Key, StatusCode: e.StatusCode, Proto: e.Proto, Header: e.Header,
		RequestTime: e.RequestTime, ResponseTime: e.ResponseTime}
	d.items[derivedKey{e.Key, e.ResponseTime.UnixNano()}] = derivedItem{from: from, meta: m}
}

// sameDerivation reports whether deriveMeta gives a and b the same meta: they
// agree on every field it reads.
func sameDerivation(a, b *Entry) bool {
	if a.StatusCode != b.StatusCode || a.Proto != b.Proto ||
		!a.RequestTime.Equal(b.RequestTime) || !a.ResponseTime.Equal(b.ResponseTime) ||
		len(a.Header) != len(b.Header) {
		return false
	}
	for name, av := range a.Header {
		if bv, ok := b.Header[name]; !ok || !slices.Equal(av, bv) {
			return false
		}
	}
	return true
}

// xFromCache is the marker gregjones/httpcache adds to the responses it
// serves from its cache (package httpcache adds it over acache). A stored
// one is never served: it says nothing of this cache's response.
const xFromCache = "X-From-Cache"

// freshnessPolicy is what the options of this file set. A Cache without
// them has none (nil), and derives freshness as RFC 9111 says.
type freshnessPolicy struct {
	defaultFreshness time.Duration // WithDefaultFreshness
	maxFreshness     time.Duration // WithMaxFreshness
}

// lifetimeOf returns the freshness lifetime of e, whose directives are cc
// and Date dateValue, as a Cache with the policy p (nil for none) derives
// it, and where it comes from: the response's fields (policy.Source),
// "policy" when WithDefaultFreshness or WithMaxFreshness changed it, or
// "rule" when a rule gave it (Entry.FreshFor).
func lifetimeOf(e *Entry, cc httpsyntax.CacheControl, dateValue time.Time, shared bool, p *freshnessPolicy) (time.Duration, string) {
	rfc, source := policy.FreshnessLifetime(e.StatusCode, e.Header, cc, dateValue, shared)
	lifetime := p.lifetime(rfc, source.Explicit(), e.FreshFor)
	switch {
	case lifetime == rfc:
		return lifetime, string(source)
	case e.FreshFor > 0:
		return lifetime, "rule"
	}
	return lifetime, "policy"
}

// lifetime applies the policy to the freshness lifetime the response's
// fields give (explicit reports that they gave one) and the one a rule
// stored with it (ruled, zero for none).
func (p *freshnessPolicy) lifetime(lifetime time.Duration, explicit bool, ruled time.Duration) time.Duration {
	switch {
	case ruled > 0:
		lifetime = ruled
	case p != nil && !explicit && p.defaultFreshness > 0:
		lifetime = p.defaultFreshness
	}
	if p != nil && p.maxFreshness > 0 {
		lifetime = min(lifetime, p.maxFreshness)
	}
	return lifetime
}
