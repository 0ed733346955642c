// Package httpcache carries github.com/gregjones/httpcache's API over to
// acache, so that code written against it moves by a change of the import
// path of the root package:
//
//	import "github.com/acachecontrol/acache/httpcache" // was "github.com/gregjones/httpcache"
//
// Every name of gregjones/httpcache is here with its signature: the [Cache]
// interface, [MemoryCache], [Transport] and its fields, [NewTransport],
// [NewMemoryCacheTransport], [CachedResponse], [XFromCache],
// [ErrNoDateHeader] and [Date]. The stores of gregjones/httpcache's
// subpackages (diskcache, leveldbcache, memcache, redis) and third-party
// ones implement Cache and plug in unchanged.
//
// Underneath is acache's engine, an [acache.Cache]: RFC 9111 (with
// RFC 5861's stale-while-revalidate and stale-if-error, and RFC 9211's
// Cache-Status field on every response), users' responses kept apart,
// concurrent requests for one URL collapsed into one origin request, and
// bounds of entries and bytes — which a Cache of key and bytes has not:
// [NewBackend] says how they hold over one. The bytes stored are acache's
// encoding of an entry, not gregjones/httpcache's httputil.DumpResponse
// output.
//
// Where gregjones/httpcache departs from the RFCs, acache does not: the
// README's "Migrating from gregjones/httpcache" section lists each
// behaviour that differs on purpose, with its RFC section
// (https://github.com/acachecontrol/acache#migrating-from-gregjoneshttpcache).
// New code can use package acache directly: [acache.NewTransport].
package httpcache
