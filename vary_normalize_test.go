package acache

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/acachecontrol/acache/internal/policy"
	"github.com/stretchr/testify/assert"
)

func TestPolicyNormalizedPreference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want string
		ok   bool
	}{
		{[]string{"en"}, "en", true},
		{[]string{"EN-us, fr;q=0.5"}, "en-us,fr;q=0.5", true},
		{[]string{"fr;q=0.5 , en-US"}, "en-us,fr;q=0.5", true},
		{[]string{"fr;Q=0.50", "en-US;q=1.000"}, "en-us,fr;q=0.5", true},
		{[]string{"gzip, br"}, "gzip,br", true},
		{[]string{"br, gzip"}, "br,gzip", true}, // equal weights keep their order
		{[]string{"identity;q=0, *;q=0.001"}, "*;q=0.001,identity;q=0", true},
		{[]string{"en,,fr"}, "en,fr", true},
		{[]string{"en;q=1."}, "en", true},
		{[]string{"en;q=1.5"}, "", false},
		{[]string{"en;q=0.1234"}, "", false},
		{[]string{"en;level=1"}, "", false},
		{[]string{"en;q="}, "", false},
		{[]string{"\"en\""}, "", false},
	} {
		got, ok := policy.NormalizedPreference(tc.in)
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		if tc.ok {
			assert.Equal(t, tc.want, got, "%q", tc.in)
		}
	}
}

// TestRFC9111_4_1_NormalizedSelectingFields: requests whose Accept-Language
// or Accept-Encoding differ only in form share a variant; requests whose
// preferences differ do not.
func TestRFC9111_4_1_NormalizedSelectingFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		field      string
		first      string
		second     string
		sameAnswer bool
	}{
		{"4.1 case and whitespace", "Accept-Language", "en-US, fr;q=0.5", "en-us,fr; q=0.5", true},
		{"4.1 order of different weights", "Accept-Language", "fr;q=0.5, en-US", "en-US, fr;q=0.5", true},
		{"4.1 weight spelling", "Accept-Encoding", "gzip;q=1.000, br;q=0.50", "gzip, br;q=0.5", true},
		{"4.1 lines combined", "Accept-Encoding", "gzip, br", "gzip\x00br", true},
		{"4.1 equal weights in another order select another variant", "Accept-Language", "en, fr", "fr, en", false},
		{"4.1 other weights select another variant", "Accept-Language", "en, fr;q=0.5", "en, fr;q=0.6", false},
		{"4.1 another language selects another variant", "Accept-Language", "en", "de", false},
		{"4.1 a value that is not a weighted list is compared as written", "Accept-Language", "en;x=1", "EN;x=1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Vary", tc.field)
				fmt.Fprintf(w, "for %q", r.Header.Values(tc.field))
			})
			tr := newTestTransport(clock)
			header := func(v string) http.Header {
				h := http.Header{}
				for _, line := range strings.Split(v, "\x00") {
					h.Add(tc.field, line)
				}
				return h
			}
			_, first := fetch(t, tr, "GET", o.URL+"/", header(tc.first))
			resp, second := fetch(t, tr, "GET", o.URL+"/", header(tc.second))
			assert.Equal(t, tc.sameAnswer, isHit(resp))
			if tc.sameAnswer {
				assert.Equal(t, first, second)
			} else {
				assert.Equal(t, int64(2), o.hits.Load())
			}
		})
	}
}
