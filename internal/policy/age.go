package policy

import (
	"net/http"
	"strings"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// This file holds ages (RFC 9111 Sections 4.2.3 and 5.1), which saturate.

// AgeValue returns the value of the Age field in seconds, per
// [RFC 9111 Section 5.1]: the first value if there are several, zero if it is
// missing or not a non-negative integer, and at most 2^31.
//
// [RFC 9111 Section 5.1]: https://www.rfc-editor.org/rfc/rfc9111#section-5.1
func AgeValue(h http.Header) int64 {
	values := h["Age"]
	if len(values) == 0 {
		return 0
	}
	first, _, _ := strings.Cut(values[0], ",")
	first = httpsyntax.TrimOWS(first)
	if first == "" {
		return 0
	}
	if !httpsyntax.IsDigits(first) {
		return 0
	}
	return min(httpsyntax.ParseDigits(first), httpsyntax.MaxDeltaSeconds)
}

// CorrectedInitialAge returns the age of a response at the moment it was
// received, per [RFC 9111 Section 4.2.3]: the larger of the apparent age
// (response_time - date_value) and the Age field corrected by the time the
// request took.
//
// Every step saturates at maxAge: a Date centuries away, or a zero request or
// response time in a decoded entry, gives the oldest age, never an overflow
// into a negative one.
//
// [RFC 9111 Section 4.2.3]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.3
func CorrectedInitialAge(h http.Header, dateValue, requestTime, responseTime time.Time) time.Duration {
	apparentAge := ClampAge(responseTime.Sub(dateValue))
	responseDelay := ClampAge(responseTime.Sub(requestTime))
	correctedAgeValue := ClampAge(Seconds(AgeValue(h)) + responseDelay)
	return max(apparentAge, correctedAgeValue)
}

// CurrentAge returns the age at now of a stored response received at
// responseTime, per [RFC 9111 Section 4.2.3]: its age when received plus the
// time it has spent in the cache.
//
// [RFC 9111 Section 4.2.3]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.3
func CurrentAge(m *Facts, responseTime, now time.Time) time.Duration {
	return ClampAge(m.InitialAge + ClampAge(now.Sub(responseTime)))
}

// MaxAge is the oldest age the cache computes: 2^31 seconds, the largest
// delta-seconds value of [RFC 9111 Section 1.2.2]. Both operands of a sum of
// ages are at most MaxAge, so the sum cannot overflow before it is clamped.
//
// [RFC 9111 Section 1.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2
const MaxAge = httpsyntax.MaxDeltaSeconds * time.Second

// TTL returns the freshness a response of this lifetime has left at this
// age, as Cache-Status states it (RFC 9211 Section 2.5), in whole seconds:
// the lifetime minus the age, each rounded down to whole seconds as the Age
// field is (RFC 9111 Section 5.1). Every TTL the cache states is computed
// here, so that TTL + Age = lifetime, and the TTL of one response never
// rises as time passes. Decisions use the exact durations.
func TTL(lifetime, age time.Duration) time.Duration {
	return lifetime.Truncate(time.Second) - age.Truncate(time.Second)
}

// ClampAge bounds d to [0, maxAge]: an age is never negative, and saturates.
func ClampAge(d time.Duration) time.Duration {
	return min(max(d, 0), MaxAge)
}

// Seconds converts delta-Seconds to a Duration, clamped to maxDeltaSeconds.
func Seconds(n int64) time.Duration {
	return time.Duration(min(max(n, 0), httpsyntax.MaxDeltaSeconds)) * time.Second
}
