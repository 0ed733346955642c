// Package policy holds the rules of RFC 9111 (HTTP Caching) and RFC 5861
// (stale-while-revalidate, stale-if-error) as pure functions over header
// fields and times: what a cache derives from a stored response (its
// freshness lifetime and initial age, its Vary names, its validators), its
// current age, whether a response may be stored and why not, whether a
// stored one may be served, the verdict on a request, and which stored
// response a 304 selects.
//
// Nothing here reads a clock, does I/O or knows a cache's own types: times
// come in as arguments, so each rule is a row of a table test. It imports
// the standard library and internal/httpsyntax only.
package policy
