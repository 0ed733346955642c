package acache

import (
	"cmp"
	"io"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Targeted cache control fields (RFC 9213) through a Transport.

// TestRFC9213_2_1_TargetedFieldsAgainstAnOrigin checks, through a Transport,
// which of CDN-Cache-Control (or a field of WithTargetedField) and
// Cache-Control a cache obeys.
func TestRFC9213_2_1_TargetedFieldsAgainstAnOrigin(t *testing.T) {
	t.Parallel()
	shared := []Option{WithShared()}
	cdn := func(cdnCC, cc string) http.Header { return hdr("CDN-Cache-Control", cdnCC, "Cache-Control", cc) }
	runTargetedCases(t, []targetedCase{
		// A valid Dictionary is obeyed over Cache-Control.
		{name: "valid: max-age over no-store", opts: shared, header: cdn("max-age=60", "no-store"), hit: true},
		{name: "valid: max-age=60 over max-age=600, stale after 90s", opts: shared, header: cdn("max-age=60", "max-age=600"), after: 90 * time.Second},
		{name: "valid: s-maxage in a shared cache", opts: shared, header: cdn("s-maxage=60", "no-store"), hit: true},
		{name: "valid: spaces around the value and the members", opts: shared, header: cdn("  max-age=60 ,\tpublic  ", "no-store"), hit: true},
		{name: "valid: unknown members and parameters ignored", opts: shared, header: cdn(`max-age=60;x=1, foo=("a" b), none`, "no-store"), hit: true},
		{name: "valid: an unknown member alone (RFC 9213 Section 3's none)", opts: shared, header: cdn("none", "max-age=60"), after: 90 * time.Second},

		// A field that fails to parse, or is empty, is ignored: Cache-Control wins.
		{name: "invalid: a trailing empty member", opts: shared, header: cdn("max-age=10,,", "max-age=60"), hit: true},
		{name: "invalid: a trailing comma", opts: shared, header: cdn("no-store,", "max-age=60"), hit: true},
		{name: "invalid: an integer followed by a letter", opts: shared, header: cdn("max-age=010a", "max-age=60"), hit: true},
		{name: "invalid: a String is not a Dictionary", opts: shared, header: cdn(`"x"`, "max-age=60"), hit: true},
		{name: "invalid: an integer of 16 digits", opts: shared, header: cdn("max-age=9999999999999999", "max-age=60"), after: 90 * time.Second},
		{name: "invalid: keys are lowercase", opts: shared, header: cdn("Max-Age=10", "max-age=60"), hit: true},
		{name: "invalid: no space before =", opts: shared, header: cdn("max-age =10", "max-age=60"), hit: true},
		{name: "invalid: a string with a bad escape", opts: shared, header: cdn(`max-age=10, no-cache="\x"`, "max-age=60"), hit: true},
		{name: "empty: ignored", opts: shared, header: cdn("", "max-age=60"), hit: true},

		// A directive of the wrong type makes the whole field ignored.
		{name: "wrong type: max-age as a String", opts: shared, header: cdn(`max-age="10"`, "max-age=60"), hit: true},
		{name: "wrong type: max-age as a Decimal", opts: shared, header: cdn("max-age=1.5", "max-age=60"), hit: true},
		{name: "wrong type: a negative max-age", opts: shared, header: cdn("max-age=-1", "max-age=60"), hit: true},
		{name: "wrong type: no-store as an Integer", opts: shared, header: cdn("no-store=3", "max-age=60"), hit: true},
		{name: "wrong type: no-cache as a Token", opts: shared, header: cdn("max-age=60, no-cache=x-a", "no-store"), check: func(t *testing.T, resp *http.Response) {
			assert.NotContains(t, resp.Header.Get("Cache-Status"), "stored", "Cache-Control's no-store, obeyed in place of the ignored field")
		}},
		{name: "wrong type: a valid directive beside it is not obeyed either", opts: shared, header: cdn("max-age=60, private=1", "no-store")},

		// Booleans.
		{name: "boolean: bare no-store", opts: shared, header: cdn("max-age=60, no-store", "max-age=60")},
		{name: "boolean: no-store=?1", opts: shared, header: cdn("max-age=60, no-store=?1", "max-age=60")},
		{name: "boolean: no-store=?0 is no no-store", opts: shared, header: cdn("max-age=60, no-store=?0", "no-store"), hit: true},
		{name: "boolean: private keeps a response out of a shared cache", opts: shared, header: cdn("max-age=60, private", "max-age=60")},
		{name: "boolean: no-cache makes it revalidate", opts: shared, header: cdn("max-age=60, no-cache", "max-age=60")},
		{name: "string: no-cache with field names withholds them", opts: shared,
			header: hdr("CDN-Cache-Control", `max-age=60, no-cache="x-token"`, "Cache-Control", "no-store", "X-Token", "t1"), hit: true,
			check: func(t *testing.T, resp *http.Response) {
				assert.Empty(t, resp.Header.Get("X-Token"), "a field no-cache names is not served from the cache")
			}},
		{name: `string: no-cache="" is no-cache`, opts: shared, header: cdn(`max-age=60, no-cache=""`, "max-age=60")},

		// A repeated key takes its last value, in a line or across lines.
		{name: "repeated: the last max-age wins", opts: shared, header: cdn("max-age=10, max-age=60", "no-store"), hit: true},
		{name: "repeated: not the most restrictive", opts: shared, header: cdn("max-age=60, max-age=10", "max-age=60")},
		{name: "repeated: across field lines", opts: shared,
			header: http.Header{"Cdn-Cache-Control": {"max-age=10", "max-age=60"}, "Cache-Control": {"no-store"}}, hit: true},
		{name: "repeated: a later valid value does not save an earlier wrong type", opts: shared, header: cdn(`max-age=60, max-age="60"`, "no-store")},

		// The target list: an ignored field falls to the next one (Section 2.2).
		{name: "target list: an invalid first field falls to CDN-Cache-Control", opts: []Option{WithShared(), WithTargetedField("My-Cache-Control")},
			header: hdr("My-Cache-Control", "max-age=60,", "CDN-Cache-Control", "max-age=60", "Cache-Control", "no-store"), hit: true},
		{name: "target list: a first field of the wrong type falls to CDN-Cache-Control", opts: []Option{WithShared(), WithTargetedField("My-Cache-Control")},
			header: hdr("My-Cache-Control", "no-store=1", "CDN-Cache-Control", "max-age=10", "Cache-Control", "max-age=60")},
		{name: "target list: Expires is ignored with Cache-Control", opts: shared,
			header: hdr("CDN-Cache-Control", "public", "Cache-Control", "max-age=60", "Expires", at(time.Hour))},

		// A field of WithTargetedField, in a private cache.
		{name: "WithTargetedField: valid, obeyed", opts: []Option{WithTargetedField("My-Cache-Control")},
			header: hdr("My-Cache-Control", "max-age=60", "Cache-Control", "no-store"), hit: true},
		{name: "WithTargetedField: invalid, Cache-Control obeyed", opts: []Option{WithTargetedField("My-Cache-Control")},
			header: hdr("My-Cache-Control", "max-age=60,", "Cache-Control", "no-store")},
		{name: "WithTargetedField: wrong type, Cache-Control obeyed", opts: []Option{WithTargetedField("My-Cache-Control")},
			header: hdr("My-Cache-Control", "no-store=1", "Cache-Control", "max-age=60"), hit: true},
		{name: "WithTargetedField: a private cache ignores CDN-Cache-Control", opts: []Option{WithTargetedField("My-Cache-Control")},
			header: hdr("CDN-Cache-Control", "max-age=60", "Cache-Control", "no-store")},
	})
}

// targetedCase is a response with targeted fields, stored by one request and
// asked for again after a while.
type targetedCase struct {
	name   string
	opts   []Option      // the Cache's; CDN-Cache-Control needs WithShared
	header http.Header   // the origin's fields
	after  time.Duration // between the two requests; 30s if 0
	hit    bool          // want the second request answered from the cache
	check  func(t *testing.T, resp *http.Response)
}

// runTargetedCases runs each case against its own origin, which counts the
// requests it answers.
func runTargetedCases(t *testing.T, cases []targetedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				maps.Copy(w.Header(), tc.header)
				io.WriteString(w, "body")
			})
			tr := newTestTransport(clock, tc.opts...)
			fetch(t, tr, "GET", o.URL, nil)
			after := cmp.Or(tc.after, 30*time.Second)
			clock.Advance(after)
			resp, body := fetch(t, tr, "GET", o.URL, nil)
			assert.Equal(t, "body", body)
			assert.Equal(t, tc.hit, isHit(resp), "served from the cache %v later; Cache-Status %q", after, resp.Header["Cache-Status"])
			wantOrigin := 2
			if tc.hit {
				wantOrigin = 1
			}
			assert.EqualValues(t, wantOrigin, o.hits.Load(), "requests that reached the origin")
			if tc.check != nil {
				tc.check(t, resp)
			}
		})
	}
}
