// Package acache makes an [http.Client] an HTTP cache by swapping its
// transport:
//
//	client.Transport = acache.NewTransport(nil)
//
// A [Transport] answers requests from a [Cache] when the HTTP caching rules
// allow it and forwards them to an inner [http.RoundTripper] (by default
// [http.DefaultTransport]) when they do not, storing what the origin sends
// back. By default the cache is private, in memory, and bounded in entries
// and bytes. Code written for github.com/gregjones/httpcache moves by a
// change of import to package httpcache, which keeps its names.
//
// A request never fails because the cache failed: backend errors, corrupt
// entries and panics in cache code fall back to the origin and are counted in
// [Cache.Stats] (each backend call also through [WithBackendObserver]) and
// logged through [WithLogger]. Nothing stored is served to a
// request it does not match, and a request never waits past its own deadline
// for the backend. The README holds the compliance table, the architecture
// and the guarantees in full.
//
// # Caching a client
//
// [NewTransport] wraps a [Cache] made by [NewCache] and its [Option]
// values: the limits ([WithMaxEntries], [WithMaxBytes], [WithMaxBodySize]), a shared
// cache ([WithShared], [WithTargetedField]), how long a request waits for
// the backend ([WithBackendTimeout]) and for an identical request in flight
// ([WithCollapseWait]), stale responses for a failed origin
// ([WithStaleOnError]), how users are kept apart ([WithPartitionBy],
// [WithPartitionSecret]), and [WithName], [WithLogger], [WithClock],
// [WithUnframedBodies].
//
// A response's freshness comes from its own fields, as RFC 9111 says. For
// origins that say nothing or the wrong thing, reach for, in order:
// [WithDefaultFreshness] for responses that give no lifetime at all; a
// [Rule] ([WithRule]) that decides per response whether it is stored (a
// [StoreRule]) and for how long it is fresh; [Control].FreshFor for one
// request; and [WithMaxFreshness] to cap every lifetime, whatever gave it.
//
// # Per-request control
//
// [WithControl] puts a [Control] in a request's context: a [Mode] of the
// Fetch standard (reload, no-cache, force-cache, only-if-cached, which fails
// with [ErrNotCached]) and a freshness lifetime of its own.
//
// # Seeing what the cache does
//
// Every response carries an RFC 9211 Cache-Status member, a [CacheStatus]
// read by [CacheStatusOf]; [Cache.Explain] says in words why a response was or was
// not served from the cache or stored ([Explanation]). [Cache.Stats]
// returns [Stats]: hits, misses, stores, refusals by reason and backend
// calls ([BackendStats]). [Cache.Inspect] lists what is stored for a URL
// ([StoredResponse]); [Cache.Purge] and [Cache.Clear] remove it.
//
// # Backends
//
// A Cache stores its entries in a [Backend], an ordered dictionary of
// [Entry] values the Cache evicts from: [NewLRU] makes the in-memory default;
// packages diskcache (a crash-safe file) and rediscache (one Redis, Sentinel
// or Cluster, shared by many processes) are others, and package acachetest
// checks any implementation against the Backend contract. A backend may also
// implement [Sizer], [Peeker], [DeadlineKeeper] (its calls need no
// goroutine of their own), [Committer], which stores an entry as one
// atomic operation ([Commit], [CommitResult]) so that many Caches over one
// store behave as one, and [Leaser], which lets them collapse their
// requests for one URL into one origin request. Entries encode themselves
// ([Entry.MarshalBinary]; [DecodeEntry] decodes without copying the body); bytes that do not decode are [ErrCorruptEntry],
// and a nil backend, which can store nothing, is [ErrNilBackend].
//
// # Standards
//
//   - [RFC 9111], HTTP Caching: storing, freshness (explicit and heuristic),
//     age, validation with conditional requests, HEAD, invalidation, the
//     request and response Cache-Control directives, private and shared
//     caches;
//   - [RFC 9110] where a cache needs it: validators and conditional requests
//     (Section 13), range requests answered from a stored response
//     (Section 14), strict HTTP-dates (Section 5.6.7);
//   - [RFC 5861], stale-while-revalidate and stale-if-error;
//   - [RFC 9211], the Cache-Status response field, typed by [CacheStatusOf];
//   - [RFC 9213], targeted Cache-Control fields (CDN-Cache-Control in a
//     shared cache, and fields of your own with [WithTargetedField]);
//   - [RFC 8246], immutable.
//
// [RFC 9111]: https://www.rfc-editor.org/rfc/rfc9111
// [RFC 9110]: https://www.rfc-editor.org/rfc/rfc9110
// [RFC 5861]: https://www.rfc-editor.org/rfc/rfc5861
// [RFC 9211]: https://www.rfc-editor.org/rfc/rfc9211
// [RFC 9213]: https://www.rfc-editor.org/rfc/rfc9213
// [RFC 8246]: https://www.rfc-editor.org/rfc/rfc8246
package acache
