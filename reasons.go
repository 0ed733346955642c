package acache

import (
	"fmt"

	"github.com/acachecontrol/acache/internal/policy"
)

// This file gives every reason the Cache reports (policy.Reason: the detail
// of a Cache-Status member) its words, for Explain and the log.

// reasonWords says in words what each reason means, and cites the rule;
// "%d" stands for the response's status code. Every reason has a row; a
// test checks it.
var reasonWords = [policy.ReasonCount]string{
	// Refusals: RFC 9111 Section 3 and what the cache cannot prove.
	policy.ReasonMethod:                "the request method is not GET or HEAD, the methods whose responses this cache stores (RFC 9111 §3, RFC 9110 §9.2.3)",
	policy.ReasonStatus:                "a %d is not a final, complete response that a cache can store (RFC 9111 §3)",
	policy.ReasonPartial:               "the 206 cannot be kept as an incomplete response, which needs one range, a known complete length and a strong ETag to be combined later (RFC 9111 §3.3, §3.4)",
	policy.ReasonPartOfStored:          "the 206 is part of a representation the cache holds complete, with the same strong validator: the stored response stays (RFC 9111 §3.4)",
	policy.ReasonRequestNoStore:        "the request's Cache-Control says no-store (RFC 9111 §5.2.1.5)",
	policy.ReasonMustUnderstand:        "the response says must-understand, and this cache does not implement the caching rules of status %d (RFC 9111 §5.2.2.3)",
	policy.ReasonNoStore:               "the response's Cache-Control says no-store (RFC 9111 §5.2.2.5)",
	policy.ReasonPrivate:               "the response says private, and this is a shared cache (RFC 9111 §5.2.2.7)",
	policy.ReasonAuthorization:         "the request carries Authorization, and the response does not say public, must-revalidate or s-maxage, one of which a shared cache needs to store it (RFC 9111 §3.5)",
	policy.ReasonVaryStar:              "the response's Vary is * or names too many fields: no later request can be matched to it (RFC 9111 §4.1)",
	policy.ReasonNotCacheableByDefault: "status %d is not cacheable by default (RFC 9110 §15.1), and the response gives neither explicit freshness (max-age, s-maxage, Expires) nor public or private (RFC 9111 §3)",
	policy.ReasonAddedBelow:            addedBelowWords,
	policy.ReasonUnframed:              "the HTTP/1 body has neither Content-Length nor chunked framing, so a cut-short body cannot be told from a complete one (RFC 9112 §6.3, RFC 9111 §3.3); WithUnframedBodies stores such bodies",
	policy.ReasonTooLarge:              "the body is larger than the cache's body size limit (WithMaxBodySize), or the response than the whole cache (WithMaxBytes)",
	policy.ReasonRule:                  "a rule of the Cache (WithRule) says StoreNever for this response",
	policy.ReasonStaleOnArrival:        "the response was already stale when it arrived, and has no validator (ETag, Last-Modified) to revalidate it with (RFC 9111 §4.2, §4.3.1)",
	policy.ReasonCutShort:              "the body ended before its announced length, failed, was closed before its end, or had another length than announced, so it cannot be stored as the complete response (RFC 9111 §3.3); the bytes that arrived intact are kept as an incomplete response when it has a strong validator and the origin accepts ranges",
	policy.ReasonBackendUnavailable:    "the backend failed or timed out several times in a row, and the circuit breaker skips it for a second before it probes it again: the response went to the origin at once and is not stored (Stats.BreakerOpen)",
	policy.ReasonNilBackend:            "the Cache's backend is a nil pointer, or a backend made from a nil client (ErrNilBackend): it can store nothing, so every request goes to the origin; the mistake is logged once, at Error",
	policy.ReasonCacheError:            "the cache failed (a backend error or a panic, logged at Warn and counted in Stats.Errors) and left the request to the origin",

	// Why the request went to the origin as if there were no cache.
	policy.ReasonInvalidRequest: "the request has a field or method that net/http refuses to send, so nothing stored may answer it",
	policy.ReasonPrecondition:   "If-Match and If-Unmodified-Since are for the origin to evaluate (RFC 9111 §4.3.2), and so is If-Range when no stored response with a strong validator can answer it (RFC 9110 §13.1.5)",
	policy.ReasonUncacheableURL: "the URL has no host, or bytes a cache key cannot hold (RFC 9111 §2)",
	policy.ReasonNoStoreMode:    "the request's Control asks for ModeNoStore, the Fetch standard's no-store cache mode: it goes to the origin as if there were no cache",

	// Why a request went to the origin although a response is stored.
	policy.ReasonReloadMode: "the request's Control asks for ModeReload, the Fetch standard's reload cache mode: it goes to the origin whatever is stored, and the response is stored",

	// How the cache answered.
	policy.ReasonOnlyIfCached:         "the request says only-if-cached, and no stored response could answer it (RFC 9111 §5.2.1.7)",
	policy.ReasonMultipleRanges:       "a request for several ranges goes to the origin (RFC 9110 §14.2)",
	policy.ReasonStaleWhileRevalidate: "the stored response is stale, served at once while it is refreshed in the background (RFC 5861 §3)",
	policy.ReasonStaleIfError:         "the origin failed, and the stale stored response was served instead (RFC 5861 §4, RFC 9111 §4.2.4)",
	policy.ReasonMustRevalidate:       "the stored response must be revalidated and the origin could not be reached, so the cache answered 504 (RFC 9111 §5.2.2.2)",
}

// addedBelowWords says what the refusal "authorization added below the
// cache" means and how to fix it, for Explain and the Warn record the Cache
// writes the first time it refuses a response for it.
const addedBelowWords = "the RoundTripper inside the cache added an Authorization field the cache never saw, " +
	"so the response may be that user's alone, and only public, must-revalidate or s-maxage would let it be stored (RFC 9111 §3.5); " +
	"to cache such responses per user, put the auth transport outside the cache, so that the cache sees the credentials and keys by them: " +
	"&oauth2.Transport{Base: acache.NewTransport(nil)}, not acache.Transport{Transport: &oauth2.Transport{...}}"

// detail returns the Cache-Status detail of reason r, followed by err's
// text when there is an error behind it (stale-if-error, must-revalidate).
func detail(r policy.Reason, err error) string {
	if err == nil {
		return r.String()
	}
	return r.String() + ": " + err.Error()
}

// reasonInWords returns the Cache-Status detail d in words, the reason's
// detail first; status is the status code of the response it was given
// for, and what follows the reason's ": " in d (the origin's error) goes in
// parentheses after the words. A detail that is no reason of the Cache's
// (another cache's member) is returned as it is.
func reasonInWords(d string, status int) (reason policy.Reason, words string) {
	r, rest, ok := policy.ReasonOf(d)
	if !ok {
		return policy.NoReason, d
	}
	words = reasonWords[r]
	if r == policy.ReasonStatus || r == policy.ReasonMustUnderstand || r == policy.ReasonNotCacheableByDefault {
		words = fmt.Sprintf(words, status)
	}
	if rest != "" {
		words += " (" + rest + ")"
	}
	return r, r.String() + ": " + words
}
