package policy

import (
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// This file holds what RFC 9111 derives once from a stored response.

// Facts are what RFC 9111 derives from a stored response, once, so that a
// hit parses nothing.
type Facts struct {
	CC httpsyntax.CacheControl
	// Lifetime is the freshness lifetime (RFC 9111 Section 4.2.1).
	Lifetime time.Duration
	// InitialAge is corrected_initial_age (RFC 9111 Section 4.2.3): the age
	// of the response when it was received.
	InitialAge time.Duration
	// VaryNames lists the canonical request header names the response varies
	// on (RFC 9111 Section 4.1).
	VaryNames []string
	// VaryOK is false when the response's Vary can never be matched: a
	// decoded entry that should not have been stored.
	VaryOK bool
	// Validator reports an ETag or Last-Modified: the response can be
	// revalidated (RFC 9111 Section 4.3.1).
	Validator bool
}
