package policy

import (
	"net/http"
	"time"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// Newer reports whether response a, received at aReceived, is newer than
// response b, received at bReceived: a store must never replace a response
// with an older one. The origin's Date fields decide when both are valid
// HTTP-dates and differ ([RFC 9110 Section 6.6.1]: the origin's clock, one
// for every cache that stores its responses); otherwise the times the
// responses were received do, which the hosts of a fleet read from clocks
// of their own.
//
// [RFC 9110 Section 6.6.1]: https://www.rfc-editor.org/rfc/rfc9110#section-6.6.1
func Newer(a http.Header, aReceived time.Time, b http.Header, bReceived time.Time) bool {
	da, okA := date(a, aReceived)
	db, okB := date(b, bReceived)
	if okA && okB && !da.Equal(db) {
		return da.After(db)
	}
	return aReceived.After(bReceived)
}

// date returns the Date field of h, if it holds one valid HTTP-date.
func date(h http.Header, received time.Time) (time.Time, bool) {
	values := h["Date"]
	if len(values) != 1 {
		return time.Time{}, false
	}
	return httpsyntax.ParseHTTPDate(values[0], received)
}
