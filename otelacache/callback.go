package otelacache

import (
	"context"
	"sync"

	"github.com/acachecontrol/acache"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// outcomes are the exclusive outcomes of [acache.Stats.Outcomes], in the
// order of its documentation.
var outcomes = [...]string{"hit", "stale", "revalidated", "collapsed", "bypass", "miss"}

// statsReader observes one Cache's Stats into the asynchronous
// instruments, once per collection.
type statsReader struct {
	cache *acache.Cache
	in    *instruments
	name  attribute.KeyValue                  // acache.name
	all   metric.ObserveOption                // acache.name alone
	split [len(outcomes)]metric.ObserveOption // acache.name and each outcome

	// mu guards outcomes, the highest value of each outcome observed yet.
	mu       sync.Mutex
	outcomes [len(outcomes)]int64
}

// newStatsReader returns the statsReader of cache, whose measurements
// carry name.
func newStatsReader(cache *acache.Cache, in *instruments, name attribute.KeyValue) *statsReader {
	r := &statsReader{cache: cache, in: in, name: name}
	r.all = metric.WithAttributeSet(attribute.NewSet(name))
	for i, o := range outcomes {
		r.split[i] = metric.WithAttributeSet(attribute.NewSet(name, attribute.String(outcomeKey, o)))
	}
	return r
}

// observe is the [metric.Callback]: it reads the Cache's Stats once and
// observes every asynchronous instrument from that one snapshot.
func (r *statsReader) observe(_ context.Context, o metric.Observer) error {
	s := r.cache.Stats()
	in := r.in

	for i, n := range r.monotonic(s.Outcomes()) {
		o.ObserveInt64(in.requests, n, r.split[i])
	}
	for reason, n := range s.RefusalsByReason {
		o.ObserveInt64(in.refusals, n, metric.WithAttributes(r.name, attribute.String(reasonKey, reason)))
	}
	o.ObserveInt64(in.stores, s.Stores, r.all)
	o.ObserveInt64(in.evictions, s.Evictions, r.all)
	o.ObserveInt64(in.errors, s.Errors, r.all)
	o.ObserveInt64(in.revalidations, s.Revalidations, r.all)
	o.ObserveInt64(in.notModified, s.NotModified, r.all)
	o.ObserveInt64(in.bodiesCut, s.BodiesCut, r.all)

	o.ObserveInt64(in.storedCount, s.Entries, r.all)
	o.ObserveInt64(in.storedUsage, s.Bytes, r.all)
	o.ObserveInt64(in.inFlightUsage, s.InFlightBytes, r.all)

	open := int64(0)
	if s.BreakerOpen {
		open = 1
	}
	o.ObserveInt64(in.breakerOpen, open, r.all)
	o.ObserveInt64(in.breakerTrips, s.BreakerTrips, r.all)
	o.ObserveInt64(in.breakerSkips, s.BackendSkips, r.all)

	for op, b := range s.Backend {
		attrs := metric.WithAttributes(r.name, attribute.String(operationKey, op))
		o.ObserveInt64(in.backendCalls, b.Calls, attrs)
		o.ObserveInt64(in.backendErrors, b.Errors, attrs)
	}
	return nil
}

// monotonic returns the outcomes, in the order of outcomes, each never
// below what it was at an earlier collection. Stats.Outcomes derives them
// from counters read one at a time, so that a request served between two
// reads can make one look lower by one than a collection before; a
// cumulative counter that goes down reads as a reset (Prometheus's rate()
// would count its whole value again). The next collection catches up.
func (r *statsReader) monotonic(by map[string]int64) [len(outcomes)]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, o := range outcomes {
		r.outcomes[i] = max(r.outcomes[i], by[o])
	}
	return r.outcomes
}
