package httpsyntax

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// httpDateNow is the fixed current time the HTTP-date tests parse at, so that
// two-digit years are read the same way whenever the tests run.
var httpDateNow = time.Date(2025, time.June, 1, 0, 0, 0, 0, time.UTC)

type httpDateCase struct {
	name string
	in   string
	now  time.Time // httpDateNow if zero
	want time.Time // zero for an invalid input
	ok   bool
}

func utc(year int, month time.Month, day, hour, minute, second int) time.Time {
	return time.Date(year, month, day, hour, minute, second, 0, time.UTC)
}

var sunday06Nov1994 = utc(1994, time.November, 6, 8, 49, 37)

var httpDateCases = []httpDateCase{
	// The three forms, with the example of RFC 9110 Section 5.6.7.
	{name: "IMF-fixdate", in: "Sun, 06 Nov 1994 08:49:37 GMT", want: sunday06Nov1994, ok: true},
	{name: "RFC 850", in: "Sunday, 06-Nov-94 08:49:37 GMT", want: sunday06Nov1994, ok: true},
	{name: "asctime, space-padded day", in: "Sun Nov  6 08:49:37 1994", want: sunday06Nov1994, ok: true},
	{name: "asctime, two-digit day", in: "Wed Nov 16 08:49:37 1994", want: utc(1994, time.November, 16, 8, 49, 37), ok: true},
	{name: "asctime, zero-padded day", in: "Sun Nov 06 08:49:37 1994", want: sunday06Nov1994, ok: true},
	{name: "IMF-fixdate, leap day 2024", in: "Thu, 29 Feb 2024 12:00:00 GMT", want: utc(2024, time.February, 29, 12, 0, 0), ok: true},
	{name: "IMF-fixdate, leap day 2000 (divisible by 400)", in: "Tue, 29 Feb 2000 00:00:00 GMT", want: utc(2000, time.February, 29, 0, 0, 0), ok: true},
	{name: "RFC 850, leap day 2024", in: "Thursday, 29-Feb-24 23:59:59 GMT", want: utc(2024, time.February, 29, 23, 59, 59), ok: true},
	{name: "asctime, leap day 2024", in: "Thu Feb 29 00:00:00 2024", want: utc(2024, time.February, 29, 0, 0, 0), ok: true},
	{name: "IMF-fixdate, day-name need not match the date", in: "Mon, 06 Nov 1994 08:49:37 GMT", want: sunday06Nov1994, ok: true},
	{name: "RFC 850, day-name need not match the date", in: "Wednesday, 06-Nov-94 08:49:37 GMT", want: sunday06Nov1994, ok: true},
	{name: "IMF-fixdate, leap second read as 59", in: "Sat, 31 Dec 2016 23:59:60 GMT", want: utc(2016, time.December, 31, 23, 59, 59), ok: true},
	{name: "IMF-fixdate, surrounding SP and HTAB trimmed", in: " \t Sun, 06 Nov 1994 08:49:37 GMT\t ", want: sunday06Nov1994, ok: true},
	{name: "IMF-fixdate, last second of 9999", in: "Fri, 31 Dec 9999 23:59:59 GMT", want: utc(9999, time.December, 31, 23, 59, 59), ok: true},
	{name: "IMF-fixdate, year 0000", in: "Sat, 01 Jan 0000 00:00:00 GMT", want: utc(0, time.January, 1, 0, 0, 0), ok: true},
	{name: "asctime, leap second read as 59", in: "Sat Dec 31 23:59:60 2016", want: utc(2016, time.December, 31, 23, 59, 59), ok: true},
	{name: "IMF-fixdate, midnight", in: "Thu, 01 Jan 1970 00:00:00 GMT", want: time.Unix(0, 0).UTC(), ok: true},

	// Names and GMT in any case (RFC 9111 Section 4.2: a cache recipient
	// SHOULD match dates case-insensitively).
	{name: "case: IMF-fixdate all lowercase", in: "sun, 06 nov 1994 08:49:37 gmt", want: sunday06Nov1994, ok: true},
	{name: "case: IMF-fixdate all uppercase", in: "SUN, 06 NOV 1994 08:49:37 GMT", want: sunday06Nov1994, ok: true},
	{name: "case: IMF-fixdate mixed", in: "sUn, 06 nOV 1994 08:49:37 gMt", want: sunday06Nov1994, ok: true},
	{name: "case: IMF-fixdate lowercase gmt", in: "Sun, 06 Nov 1994 08:49:37 gmt", want: sunday06Nov1994, ok: true},
	{name: "case: IMF-fixdate lowercase month", in: "Sun, 06 nov 1994 08:49:37 GMT", want: sunday06Nov1994, ok: true},
	{name: "case: IMF-fixdate uppercase month", in: "Sun, 06 NOV 1994 08:49:37 GMT", want: sunday06Nov1994, ok: true},
	{name: "case: IMF-fixdate lowercase day-name", in: "sun, 06 Nov 1994 08:49:37 GMT", want: sunday06Nov1994, ok: true},
	{name: "case: RFC 850 all lowercase", in: "sunday, 06-nov-94 08:49:37 gmt", want: sunday06Nov1994, ok: true},
	{name: "case: RFC 850 all uppercase", in: "SUNDAY, 06-NOV-94 08:49:37 GMT", want: sunday06Nov1994, ok: true},
	{name: "case: RFC 850 lowercase long day-name", in: "sunday, 06-Nov-94 08:49:37 GMT", want: sunday06Nov1994, ok: true},
	{name: "case: asctime all lowercase", in: "sun nov  6 08:49:37 1994", want: sunday06Nov1994, ok: true},
	{name: "case: asctime all uppercase", in: "SUN NOV  6 08:49:37 1994", want: sunday06Nov1994, ok: true},

	// Two-digit years: nothing may appear more than 50 years in the future.
	{name: "RFC 850, year 25 is this year", in: "Sunday, 01-Jun-25 00:00:00 GMT", want: utc(2025, time.June, 1, 0, 0, 0), ok: true},
	{name: "RFC 850, year 75 is 50 years ahead, kept", in: "Saturday, 01-Jun-75 00:00:00 GMT", want: utc(2075, time.June, 1, 0, 0, 0), ok: true},
	{name: "RFC 850, year 76 would be 51 years ahead, so 1976", in: "Tuesday, 01-Jun-76 00:00:00 GMT", want: utc(1976, time.June, 1, 0, 0, 0), ok: true},
	{name: "RFC 850, year 00 is 2000", in: "Saturday, 01-Jan-00 00:00:00 GMT", want: utc(2000, time.January, 1, 0, 0, 0), ok: true},
	{name: "RFC 850, year 99 is 1999", in: "Friday, 31-Dec-99 23:59:59 GMT", want: utc(1999, time.December, 31, 23, 59, 59), ok: true},
	{name: "RFC 850, in 2099 year 00 is 2100", in: "Friday, 01-Jan-00 00:00:00 GMT", now: utc(2099, time.June, 1, 0, 0, 0), want: utc(2100, time.January, 1, 0, 0, 0), ok: true},
	{name: "RFC 850, in 2099 year 50 is 2050", in: "Saturday, 01-Jan-50 00:00:00 GMT", now: utc(2099, time.June, 1, 0, 0, 0), want: utc(2050, time.January, 1, 0, 0, 0), ok: true},
	{name: "RFC 850, in 2150 year 10 is 2110", in: "Wednesday, 01-Jan-10 00:00:00 GMT", now: utc(2150, time.June, 1, 0, 0, 0), want: utc(2110, time.January, 1, 0, 0, 0), ok: true},
	{name: "RFC 850, 29-Feb-00 is a leap day in 2000", in: "Tuesday, 29-Feb-00 00:00:00 GMT", want: utc(2000, time.February, 29, 0, 0, 0), ok: true},

	// Invalid inputs; the name gives the reason.
	{name: "invalid: empty"},
	{name: "invalid: only whitespace", in: " \t "},
	{name: `invalid: "0"`, in: "0"},
	{name: `invalid: "-1"`, in: "-1"},
	{name: "invalid: a year", in: "1994"},
	{name: "invalid: Unix seconds", in: "784111777"},
	{name: "invalid: garbage", in: "garbage"},
	{name: "invalid: double space before day", in: "Sun,  06 Nov 1994 08:49:37 GMT"},
	{name: "invalid: double space before time", in: "Sun, 06 Nov 1994  08:49:37 GMT"},
	{name: "invalid: double space before GMT", in: "Sun, 06 Nov 1994 08:49:37  GMT"},
	{name: "invalid: asctime double space before year", in: "Sun Nov  6 08:49:37  1994"},
	{name: "invalid: one-digit hour", in: "Sun, 06 Nov 1994 8:49:37 GMT"},
	{name: "invalid: one-digit minute", in: "Sun, 06 Nov 1994 08:9:37 GMT"},
	{name: "invalid: one-digit second", in: "Sun, 06 Nov 1994 08:49:7 GMT"},
	{name: "invalid: one-digit day in IMF-fixdate", in: "Sun, 6 Nov 1994 08:49:37 GMT"},
	{name: "invalid: one-digit day in RFC 850", in: "Sunday, 6-Nov-94 08:49:37 GMT"},
	{name: "invalid: asctime one-digit day after single space", in: "Sun Nov 6 08:49:37 1994"},
	{name: "invalid: asctime day zero", in: "Sun Nov  0 08:49:37 1994"},
	{name: "invalid: UTC zone", in: "Sun, 06 Nov 1994 08:49:37 UTC"},
	{name: "invalid: +0000 zone", in: "Sun, 06 Nov 1994 08:49:37 +0000"},
	{name: "invalid: EST zone", in: "Sun, 06 Nov 1994 08:49:37 EST"},
	{name: "invalid: no zone", in: "Sun, 06 Nov 1994 08:49:37"},
	{name: "invalid: RFC 850 with UTC zone", in: "Sunday, 06-Nov-94 08:49:37 UTC"},
	{name: "invalid: asctime with zone", in: "Sun Nov  6 08:49:37 1994 GMT"},
	{name: "invalid: full month name", in: "Sun, 06 November 1994 08:49:37 GMT"},
	{name: "invalid: unknown day-name", in: "Sux, 06 Nov 1994 08:49:37 GMT"},
	{name: "invalid: long day-name in IMF-fixdate", in: "Sunday, 06 Nov 1994 08:49:37 GMT"},
	{name: "invalid: short day-name in RFC 850", in: "Sun, 06-Nov-94 08:49:37 GMT"},
	{name: "invalid: long day-name in asctime", in: "Sunday Nov  6 08:49:37 1994"},
	{name: "invalid: missing comma", in: "Sun 06 Nov 1994 08:49:37 GMT"},
	{name: "invalid: RFC 850 missing comma", in: "Sunday 06-Nov-94 08:49:37 GMT"},
	{name: "invalid: asctime with comma", in: "Sun, Nov  6 08:49:37 1994"},
	{name: "invalid: no day-name", in: "06 Nov 1994 08:49:37 GMT"},
	{name: "invalid: Feb 30", in: "Thu, 30 Feb 2023 00:00:00 GMT"},
	{name: "invalid: Feb 29 in a non-leap year", in: "Wed, 29 Feb 2023 00:00:00 GMT"},
	{name: "invalid: Feb 29 1900 (divisible by 100)", in: "Thu, 29 Feb 1900 00:00:00 GMT"},
	{name: "invalid: RFC 850 Feb 29 in a non-leap year", in: "Wednesday, 29-Feb-23 00:00:00 GMT"},
	{name: "invalid: asctime Feb 29 in a non-leap year", in: "Wed Feb 29 00:00:00 2023"},
	{name: "invalid: Apr 31", in: "Mon, 31 Apr 2023 00:00:00 GMT"},
	{name: "invalid: day 00", in: "Sun, 00 Nov 1994 08:49:37 GMT"},
	{name: "invalid: day 32", in: "Sun, 32 Dec 1994 08:49:37 GMT"},
	{name: "invalid: hour 24", in: "Sun, 06 Nov 1994 24:00:00 GMT"},
	{name: "invalid: minute 60", in: "Sun, 06 Nov 1994 08:60:37 GMT"},
	{name: "invalid: second 61", in: "Sun, 06 Nov 1994 08:49:61 GMT"},
	{name: "invalid: trailing garbage", in: "Sun, 06 Nov 1994 08:49:37 GMTx"},
	{name: "invalid: trailing word", in: "Sun, 06 Nov 1994 08:49:37 GMT foo"},
	{name: "invalid: asctime trailing garbage", in: "Sun Nov  6 08:49:37 1994x"},
	{name: "invalid: RFC 850 trailing garbage", in: "Sunday, 06-Nov-94 08:49:37 GMT;"},
	{name: "invalid: trailing CRLF is not OWS", in: "Sun, 06 Nov 1994 08:49:37 GMT\r\n"},
	{name: "invalid: two-digit year in IMF-fixdate", in: "Sun, 06 Nov 94 08:49:37 GMT"},
	{name: "invalid: four-digit year in RFC 850", in: "Sunday, 06-Nov-1994 08:49:37 GMT"},
	{name: "invalid: two-digit year in asctime", in: "Sun Nov  6 08:49:37 94"},
	{name: "invalid: signed year", in: "Sun, 06 Nov +994 08:49:37 GMT"},
	{name: "invalid: hyphens in IMF-fixdate", in: "Sun, 06-Nov-1994 08:49:37 GMT"},
	{name: "invalid: spaces in RFC 850", in: "Sunday, 06 Nov 94 08:49:37 GMT"},
	{name: "invalid: missing seconds", in: "Sun, 06 Nov 1994 08:49 GMT"},
	{name: "invalid: fractional seconds", in: "Sun, 06 Nov 1994 08:49:37.5 GMT"},
	{name: "invalid: dots in time", in: "Sun, 06 Nov 1994 08.49.37 GMT"},
	{name: "invalid: non-ASCII digit", in: "Sun, ０6 Nov 1994 08:49:37 GMT"},
	{name: "invalid: RFC 3339", in: "1994-11-06T08:49:37Z"},

	// Only the case of the names and GMT is loosened.
	{name: "invalid: case: utc zone", in: "sun, 06 nov 1994 08:49:37 utc"},
	{name: "invalid: case: UTC zone in lowercase date", in: "sun, 06 nov 1994 08:49:37 UTC"},
	{name: "invalid: case: +0000 zone in lowercase date", in: "sun, 06 nov 1994 08:49:37 +0000"},
	{name: "invalid: case: RFC 850 utc zone", in: "sunday, 06-nov-94 08:49:37 utc"},
	{name: "invalid: case: RFC 850 +0000 zone", in: "Sunday, 06-Nov-94 08:49:37 +0000"},
	{name: "invalid: case: gmt without its space", in: "Sun, 06 Nov 1994 08:49:37_gmt"},
	{name: "invalid: case: double space in lowercase date", in: "sun,  06 nov 1994 08:49:37 gmt"},
	{name: "invalid: case: double space before gmt", in: "sun, 06 nov 1994 08:49:37  gmt"},
	{name: "invalid: case: asctime double space before year", in: "sun nov  6 08:49:37  1994"},
	{name: "invalid: case: one-digit hour in lowercase date", in: "sun, 06 nov 1994 8:49:37 gmt"},
	{name: "invalid: case: lowercase full month name", in: "sun, 06 november 1994 08:49:37 gmt"},
	{name: "invalid: case: long day-name in IMF-fixdate", in: "sunday, 06 nov 1994 08:49:37 gmt"},
	{name: "invalid: case: short day-name in RFC 850", in: "sun, 06-nov-94 08:49:37 gmt"},
	{name: "invalid: case: non-letter that ORs to a letter", in: "S\x15n, 06 Nov 1994 08:49:37 GMT"},
	{name: "invalid: case: @ is not a letter", in: "Sun, 06 Nov 1994 08:49:37 @MT"},
	{name: "invalid: case: Unicode long s folds to s only in Unicode", in: "\u017funday, 06-Nov-94 08:49:37 GMT"},
	{name: "invalid: case: Kelvin sign", in: "Sun, 06 Nov 1994 08:49:37 GM\u212a"},
	{name: "invalid: case: Turkish dotless i", in: "Fr\u0131day, 04-Nov-94 08:49:37 GMT"},
}

func TestRFC9110_5_6_7_HTTPDate(t *testing.T) {
	for _, tc := range httpDateCases {
		t.Run("5.6.7 "+tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = httpDateNow
			}
			got, ok := ParseHTTPDate(tc.in, now)
			require.Equal(t, tc.ok, ok, "parseHTTPDateAt(%q)", tc.in)
			if !tc.ok {
				assert.True(t, got.IsZero(), "parseHTTPDateAt(%q) = %v, want the zero Time", tc.in, got)
				return
			}
			assert.Equal(t, time.UTC, got.Location())
			assert.True(t, tc.want.Equal(got), "parseHTTPDateAt(%q) = %v, want %v", tc.in, got, tc.want)
		})
	}
}

func TestRFC9110_5_6_7_HTTPDateMonths(t *testing.T) {
	for m := time.January; m <= time.December; m++ {
		want := utc(2023, m, 15, 1, 2, 3)
		for _, in := range []string{
			want.Format(http.TimeFormat),
			want.Format("Monday, 02-Jan-06 15:04:05 GMT"),
			want.Format(time.ANSIC),
		} {
			got, ok := ParseHTTPDate(in, httpDateNow)
			require.True(t, ok, "parseHTTPDateAt(%q)", in)
			assert.True(t, want.Equal(got), "parseHTTPDateAt(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseHTTPDateUsesNow(t *testing.T) {
	// Two years ahead is never more than 50 years in the future, so it keeps
	// its century whenever the test runs.
	year := time.Now().UTC().Year() + 2
	in := time.Date(year, time.March, 1, 0, 0, 0, 0, time.UTC).Format("Monday, 02-Jan-06 15:04:05 GMT")
	got, ok := ParseHTTPDate(in, time.Now())
	require.True(t, ok, "parseHTTPDateAt(%q)", in)
	assert.Equal(t, year, got.Year())
}

func TestHeaderDate(t *testing.T) {
	const (
		valid    = "Sun, 06 Nov 1994 08:49:37 GMT"
		other    = "Mon, 07 Nov 1994 08:49:37 GMT"
		obsolete = "Sunday, 06-Nov-94 08:49:37 GMT"
	)
	tests := []struct {
		name    string
		header  http.Header
		field   string
		want    time.Time
		present bool
		ok      bool
	}{
		{name: "absent", header: http.Header{"Date": {valid}}, field: "Expires"},
		{name: "nil header", header: nil, field: "Expires"},
		{name: "no field lines", header: http.Header{"Expires": {}}, field: "Expires"},
		{name: "present and valid", header: http.Header{"Expires": {valid}}, field: "Expires", want: sunday06Nov1994, present: true, ok: true},
		{name: "name looked up canonically", header: http.Header{"Last-Modified": {valid}}, field: "last-modified", want: sunday06Nov1994, present: true, ok: true},
		{name: "two identical lines", header: http.Header{"Date": {valid, valid}}, field: "Date", want: sunday06Nov1994, present: true, ok: true},
		{name: "two different lines", header: http.Header{"Date": {valid, other}}, field: "Date", present: true},
		{name: "same instant spelled differently", header: http.Header{"Date": {valid, obsolete}}, field: "Date", present: true},
		{name: "identical then different", header: http.Header{"Date": {valid, valid, other}}, field: "Date", present: true},
		{name: "invalid", header: http.Header{"Expires": {"0"}}, field: "Expires", present: true},
		{name: "empty value", header: http.Header{"Expires": {""}}, field: "Expires", present: true},
		{name: "two identical invalid lines", header: http.Header{"Expires": {"-1", "-1"}}, field: "Expires", present: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, present, ok := HeaderDate(tc.header, tc.field, time.Now())
			assert.Equal(t, tc.present, present, "present")
			require.Equal(t, tc.ok, ok, "ok")
			if ok {
				assert.True(t, tc.want.Equal(got), "got %v, want %v", got, tc.want)
			} else {
				assert.True(t, got.IsZero(), "got %v, want the zero Time", got)
			}
		})
	}
}

func FuzzParseHTTPDate(f *testing.F) {
	for _, tc := range httpDateCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParseHTTPDate(s, httpDateNow)
		if !ok {
			require.True(t, got.IsZero(), "rejected %q but returned %v", s, got)
			return
		}
		require.Equal(t, time.UTC, got.Location(), "parseHTTPDateAt(%q)", s)

		// Whatever is accepted round-trips through the preferred format.
		formatted := got.Format(http.TimeFormat)
		back, ok := ParseHTTPDate(formatted, httpDateNow)
		require.True(t, ok, "parseHTTPDateAt(%q) = %v, but its IMF-fixdate %q does not parse", s, got, formatted)
		require.True(t, got.Equal(back), "parseHTTPDateAt(%q) = %v, but %q parses to %v", s, got, formatted, back)

		// The lenient http.ParseTime accepts everything this parser accepts,
		// with the same result, except for what it handles differently: the
		// two-digit year of the RFC 850 form, a leap second, surrounding
		// whitespace and a "GMT" in another case (it matches names in any
		// case, but not the zone).
		trimmed := strings.Trim(s, " \t")
		if len(trimmed) != IMFFixdateLen && len(trimmed) != asctimeLen || strings.Contains(trimmed, ":60 ") {
			return
		}
		if len(trimmed) == IMFFixdateLen {
			require.True(t, strings.EqualFold(trimmed[IMFFixdateLen-3:], "GMT"), "parseHTTPDateAt(%q): zone", s)
			trimmed = trimmed[:IMFFixdateLen-3] + "GMT"
		}
		want, err := http.ParseTime(trimmed)
		require.NoError(t, err, "parseHTTPDateAt(%q) = %v", s, got)
		require.True(t, want.Equal(got), "parseHTTPDateAt(%q) = %v, http.ParseTime = %v", s, got, want)
	})
}

func BenchmarkParseHTTPDate(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT"},
		{"RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT"},
		{"asctime", "Sun Nov  6 08:49:37 1994"},
		{"invalid", "Sun, 06 Nov 1994 08:49:37 UTC"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				ParseHTTPDate(bc.in, now)
			}
		})
	}
}
