// Package otelacache exports what an [acache.Cache] counts as
// OpenTelemetry metrics: the requests by outcome, what it stored, refused
// and evicted, the bytes and entries it holds, and its backend's calls,
// with their latency as a histogram per operation.
//
// [New] makes the [Metrics] of one Cache, on a meter of the MeterProvider
// that [WithMeterProvider] sets (the global one by default, [otel.GetMeterProvider]).
// The histogram needs a hook that the Cache takes when it is made, so the
// Metrics come first:
//
//	m, err := otelacache.New(otelacache.WithCacheName("images"))
//	if err != nil { ... }
//	cache := acache.NewCache(nil, m.BackendObserver())
//	if err := m.Observe(cache); err != nil { ... }
//	defer m.Close()
//
// Every instrument but the histogram is asynchronous: [Metrics.Observe]
// registers one callback that reads [acache.Cache.Stats] when the metrics
// are collected, so serving a request, a hit included, costs nothing
// more. [Metrics.Close] unregisters it. The histogram is fed by
// [acache.WithBackendObserver], which the Cache calls for backends other
// than the in-memory LRU ([acache.NewLRU]), whose calls it does not time:
// over the LRU, the backend instruments have no data.
//
// # Instruments
//
// Every measurement has the attribute acache.name, the name [WithCacheName]
// gives ("acache" by default), which tells several Caches in one process
// apart. The Prometheus name is what the OpenTelemetry Prometheus exporter
// (go.opentelemetry.io/otel/exporters/prometheus) serves by default: dots
// become underscores, counters end in _total, the units By and s add
// _bytes and _seconds (annotations in braces add nothing), and the
// attributes become labels the same way (acache_name, acache_outcome,
// error_type).
//
//	Name                    Kind      Unit       Attributes                Stats source        Prometheus name
//	acache.requests         Counter   {request}  acache.outcome            Outcomes()          acache_requests_total
//	acache.refusals         Counter   {response} acache.refusal.reason     RefusalsByReason    acache_refusals_total
//	acache.stores           Counter   {response}                           Stores              acache_stores_total
//	acache.evictions        Counter   {entry}                              Evictions           acache_evictions_total
//	acache.errors           Counter   {error}                              Errors              acache_errors_total
//	acache.revalidations    Counter   {request}                            Revalidations       acache_revalidations_total
//	acache.not_modified     Counter   {response}                           NotModified         acache_not_modified_total
//	acache.bodies_cut       Counter   {response}                           BodiesCut           acache_bodies_cut_total
//	acache.stored.count     UpDown    {entry}                              Entries             acache_stored_count
//	acache.stored.usage     UpDown    By                                   Bytes               acache_stored_usage_bytes
//	acache.in_flight.usage  UpDown    By                                   InFlightBytes       acache_in_flight_usage_bytes
//	acache.breaker.open     UpDown    {breaker}                            BreakerOpen: 1 or 0 acache_breaker_open
//	acache.breaker.trips    Counter   {trip}                               BreakerTrips        acache_breaker_trips_total
//	acache.breaker.skips    Counter   {call}                               BackendSkips        acache_breaker_skips_total
//	acache.backend.calls    Counter   {call}     acache.backend.operation  Backend[op].Calls   acache_backend_calls_total
//	acache.backend.errors   Counter   {error}    acache.backend.operation  Backend[op].Errors  acache_backend_errors_total
//	acache.backend.duration Histogram s          acache.backend.operation, (backend observer)  acache_backend_duration_seconds
//	                                             error.type if it failed                         _bucket, _sum, _count
//
// The counters and up-down counters (UpDown) are observable, asynchronous
// instruments; the Prometheus exporter serves the up-down counters as
// gauges. The histogram is synchronous: each backend call records into it.
//
// acache.outcome is one of hit (served fresh from the cache), stale
// (served stale: under stale-while-revalidate, or in place of a failed
// origin), revalidated (the origin confirmed the stored response with a
// 304), collapsed (served what a request in flight for the same response
// got), bypass (sent to the origin as if there were no cache) and miss.
// They are exclusive and sum to the requests the Cache answered
// ([acache.Stats.Outcomes]). Stats reads its counters one at a time, so
// that, while requests are served, an outcome may be off by the requests
// in between. acache.requests never reports an outcome below what it
// reported before (a counter that goes down reads as a reset, and
// Prometheus's rate() would count it all again): one read high stays
// there until the outcome catches up.
//
// acache.refusal.reason is the detail of the Cache-Status field of a
// response not stored ("no-store", "private", "too large", ...;
// [acache.Cache.Explain] says what each means). acache.backend.operation
// is the operation as Stats.Backend names it: "get", "set", "pop",
// "pop oldest", "len", "size", "move", "commit", "listed", "lease",
// "renew lease", "release lease".
//
// error.type, on the duration of a failed backend call only, is "timeout"
// for a deadline exceeded (or an error whose Timeout method says so),
// "canceled" for a call whose request went away, and otherwise the value
// of an ErrorType() string method of an error in the chain, or the
// error's type (such as "*net.OpError"), looking through the wrapping of
// fmt.Errorf: a backend's fmt.Errorf("rediscache: get: %w", err) is
// typed by the err it wraps.
//
// acache.backend.duration has the bucket boundaries 50µs, 100µs, 250µs,
// 500µs, 1ms, 2.5ms, 5ms, 10ms, 25ms, 50ms, 100ms, 250ms, 500ms, 1s, 2.5s
// and 5s, from a local disk to past the default backend timeout of one
// second; a View of the SDK can change them.
//
// The meter is named after this module's path,
// github.com/acachecontrol/acache/otelacache, with the module's version
// when the program was built with a tagged one.
package otelacache
