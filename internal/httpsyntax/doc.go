// Package httpsyntax reads and writes the syntax of HTTP that a cache needs,
// and nothing more: field values and lists (RFC 9110 Section 5), HTTP-dates
// (Section 5.6.7), entity-tags (Section 8.8.3), Range and Content-Range
// (Section 14), delta-seconds and the Cache-Control directives (RFC 9111
// Sections 1.2.2 and 5.2), and Structured Field Values (RFC 8941) for the
// targeted fields of RFC 9213 and Cache-Status (RFC 9211).
//
// It is pure: it imports the standard library and
// github.com/pquerna/cachecontrol only, knows nothing of a cache, and every
// parser in it is fuzzed. Its functions never fail by panicking: input a
// grammar refuses is reported, or read as the RFC says.
package httpsyntax
