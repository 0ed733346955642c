package acache

import (
	"net/http"
	"net/textproto"
	"testing"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// The request fields as the cache reads them, against net/textproto.

// FuzzRequestFieldNames checks the request header scan against net/textproto:
// a name is canonical exactly when CanonicalMIMEHeaderKey leaves it alone,
// and the canonical view of a header keeps every value.
func FuzzRequestFieldNames(f *testing.F) {
	f.Add("authorization", "Bearer a", "Authorization", "Bearer b")
	f.Add("X-FOO", "1", "x-foo", "2")
	f.Add("Bad Name", "v", "Cookie", "a\r\nb")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		for _, name := range []string{n1, n2} {
			if httpsyntax.ValidToken(name) && httpsyntax.CanonicalName(name) != (textproto.CanonicalMIMEHeaderKey(name) == name) {
				t.Fatalf("canonicalName(%q) = %v; textproto canonicalises it to %q", name, httpsyntax.CanonicalName(name), textproto.CanonicalMIMEHeaderKey(name))
			}
		}
		h := http.Header{n1: {v1}}
		h[n2] = append(h[n2], v2)
		f := scanRequestFields(h)
		if !httpsyntax.ValidToken(n1) || !httpsyntax.ValidToken(n2) || !httpsyntax.ValidFieldValue(v1) || !httpsyntax.ValidFieldValue(v2) {
			if !f.invalid {
				t.Fatalf("%v is not a header net/http sends, yet it passed", h)
			}
			return
		}
		view := httpsyntax.CanonicalHeader(h)
		total := 0
		for name, values := range view {
			if !httpsyntax.CanonicalName(name) {
				t.Fatalf("canonicalHeader(%v) kept the name %q", h, name)
			}
			total += len(values)
		}
		if total != 2 {
			t.Fatalf("canonicalHeader(%v) = %v: values lost or added", h, view)
		}
	})
}
