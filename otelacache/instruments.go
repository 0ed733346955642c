package otelacache

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// The attribute keys of the measurements, besides error.type.
const (
	// nameKey names the Cache (WithCacheName); every measurement has it.
	nameKey = "acache.name"
	// outcomeKey is the outcome of a request (acache.requests).
	outcomeKey = "acache.outcome"
	// reasonKey is why a response was not stored (acache.refusals).
	reasonKey = "acache.refusal.reason"
	// operationKey is the backend operation ("get", "set", "pop oldest", ...).
	operationKey = "acache.backend.operation"
)

// defaultName is the acache.name of a Cache that WithCacheName did not
// name: the default cache name of acache's Cache-Status field.
const defaultName = "acache"

// durationBounds are the bucket boundaries, in seconds, of
// acache.backend.duration: from 50µs, an in-process or local-disk call,
// to 5s, past the default backend timeout of one second.
var durationBounds = []float64{
	0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5,
}

// instruments are the instruments of the package doc's table: the
// asynchronous ones, read from Stats by the callback Observe registers,
// and the backend call histogram, fed by the backend observer.
type instruments struct {
	requests, refusals, stores, evictions, errors        metric.Int64ObservableCounter
	revalidations, notModified, bodiesCut                metric.Int64ObservableCounter
	breakerTrips, breakerSkips                           metric.Int64ObservableCounter
	backendCalls, backendErrors                          metric.Int64ObservableCounter
	storedCount, storedUsage, inFlightUsage, breakerOpen metric.Int64ObservableUpDownCounter

	backendDuration metric.Float64Histogram
}

// newInstruments creates the instruments on meter.
func newInstruments(meter metric.Meter) (*instruments, error) {
	var (
		in   instruments
		errs []error
	)
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	level := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		c, err := meter.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}

	in.requests = counter("acache.requests", "{request}",
		"Requests the cache answered, by exclusive outcome: hit, stale, revalidated, collapsed, bypass, miss.")
	in.refusals = counter("acache.refusals", "{response}",
		"Responses the cache did not store, by the reason the Cache-Status field gives.")
	in.stores = counter("acache.stores", "{response}", "Responses stored.")
	in.evictions = counter("acache.evictions", "{entry}", "Entries removed to stay within the limits.")
	in.errors = counter("acache.errors", "{error}",
		"Failures the cache recovered from (backend errors, corrupt entries, panics), each a miss or a skipped store.")
	in.revalidations = counter("acache.revalidations", "{request}",
		"Conditional requests sent to the origin to revalidate a stale stored response.")
	in.notModified = counter("acache.not_modified", "{response}",
		"Revalidations the origin answered with a 304 that freshened the stored response.")
	in.bodiesCut = counter("acache.bodies_cut", "{response}",
		"Response bodies the cache cut short itself: the one case in which a request fails because of the cache.")
	in.breakerTrips = counter("acache.breaker.trips", "{trip}", "Times the circuit breaker in front of the backend opened.")
	in.breakerSkips = counter("acache.breaker.skips", "{call}", "Backend calls the open circuit breaker spared.")
	in.backendCalls = counter("acache.backend.calls", "{call}", "Calls to the backend that returned, by operation.")
	in.backendErrors = counter("acache.backend.errors", "{error}",
		"Backend calls that failed (an error, a timeout, an entry that failed validation), by operation.")

	in.storedCount = level("acache.stored.count", "{entry}", "Entries the cache holds.")
	in.storedUsage = level("acache.stored.usage", "By", "Size of the entries the cache holds.")
	in.inFlightUsage = level("acache.in_flight.usage", "By",
		"Bytes held by copies of response bodies being read, to be stored at their end.")
	in.breakerOpen = level("acache.breaker.open", "{breaker}",
		"1 while the circuit breaker in front of the backend is open, else 0.")

	var err error
	in.backendDuration, err = meter.Float64Histogram("acache.backend.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of calls to the backend, by operation; failed calls have error.type."),
		metric.WithExplicitBucketBoundaries(durationBounds...))
	errs = append(errs, err)

	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &in, nil
}

// observables returns the asynchronous instruments, which the callback
// that Observe registers observes.
func (in *instruments) observables() []metric.Observable {
	return []metric.Observable{
		in.requests, in.refusals, in.stores, in.evictions, in.errors,
		in.revalidations, in.notModified, in.bodiesCut,
		in.breakerTrips, in.breakerSkips, in.backendCalls, in.backendErrors,
		in.storedCount, in.storedUsage, in.inFlightUsage, in.breakerOpen,
	}
}
