// Package acache makes an [http.Client] an HTTP cache by swapping its
// transport:
//
//	client.Transport = acache.NewTransport(nil)
//
// A [Transport] answers requests from a [Cache] when the HTTP caching rules
// allow it and forwards them to an inner [http.RoundTripper] (by default
// [http.DefaultTransport]) when they do not, storing what the origin sends
// back. By default the cache is private, in memory, and bounded in entries
// and bytes. A Cache stores its entries in a [Backend], an ordered
// dictionary the Cache evicts from; [NewLRU] makes the default one, and package
// acachetest checks other implementations against the Backend contract.
//
// What it implements:
//   - [RFC 9111], HTTP Caching: storing, freshness (explicit and heuristic),
//     age, validation with conditional requests, HEAD, invalidation, the
//     request and response Cache-Control directives, private and shared
//     caches;
//   - [RFC 9110] where a cache needs it: validators and conditional requests
//     (Section 13), range requests answered from a stored response
//     (Section 14), strict HTTP-dates (Section 5.6.7);
//   - [RFC 9211], the Cache-Status response field, typed by [CacheStatusOf];
//   - [RFC 9213], targeted Cache-Control fields (CDN-Cache-Control in a
//     shared cache, and fields of your own with [WithTargetedField]);
//   - [RFC 8246], immutable.
//
// A request never fails because the cache failed: backend errors, corrupt
// entries and panics in cache code fall back to the origin and are counted in
// [Cache.Stats] and logged through [WithLogger]. Nothing stored is served to a
// request it does not match, and a request never waits past its own deadline
// for the backend. The README holds the compliance table, the architecture
// and the guarantees in full.
//
// [RFC 9111]: https://www.rfc-editor.org/rfc/rfc9111
// [RFC 9110]: https://www.rfc-editor.org/rfc/rfc9110
// [RFC 9211]: https://www.rfc-editor.org/rfc/rfc9211
// [RFC 9213]: https://www.rfc-editor.org/rfc/rfc9213
// [RFC 8246]: https://www.rfc-editor.org/rfc/rfc8246
package acache
