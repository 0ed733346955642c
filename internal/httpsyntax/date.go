package httpsyntax

import (
	"net/http"
	"strings"
	"time"
)

// This file holds the HTTP-date of RFC 9110 Section 5.6.7, read strictly.

// The names an HTTP-date may use, as [RFC 9110 Section 5.6.7] spells them.
// The grammar is case-sensitive, but a cache recipient SHOULD match them in
// any case ([RFC 9111 Section 4.2]), so they are compared with
// [equalFoldASCII].
//
// [RFC 9110 Section 5.6.7]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
// [RFC 9111 Section 4.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2
var (
	shortDayNames = [...]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	longDayNames  = [...]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	monthNames    = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

// The fixed lengths of the IMF-fixdate and asctime forms.
const (
	IMFFixdateLen = len("Sun, 06 Nov 1994 08:49:37 GMT")
	asctimeLen    = len("Sun Nov  6 08:49:37 1994")
	// rfc850TailLen is the length of an rfc850-date after its day-name.
	rfc850TailLen = len(", 06-Nov-94 08:49:37 GMT")
)

// ParseHTTPDate parses an HTTP-date in any of the three forms
// [RFC 9110 Section 5.6.7] allows: the preferred IMF-fixdate
// ("Sun, 06 Nov 1994 08:49:37 GMT") and the obsolete RFC 850
// ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994")
// forms. The result is in UTC. It returns ok=false for anything else. now is
// the current time, which only the two-digit year of the RFC 850 form needs;
// unlike [http.ParseTime] it follows the grammar exactly.
//
// Leading and trailing SP and HTAB are ignored, since a field value excludes
// them ([RFC 9110 Section 5.5]). The day-name, the month and "GMT" are matched
// in any case of their ASCII letters ("sun, 06 nov 1994 08:49:37 gmt"):
// although the grammar is case-sensitive, [RFC 9111 Section 4.2] asks a cache
// recipient to match dates case-insensitively, and browsers and curl do.
// Everything else must match the grammar of [RFC 9110 Section 5.6.7] exactly:
// every number has exactly the digits the grammar gives it (the asctime day
// may be a space and one digit), separators are single, and the zone is
// "GMT", never "UTC" or a numeric offset (Section 4.2 again: a cache SHOULD
// consider another zone invalid). The day-name need not agree with the date,
// but it must be a valid name for the form: a short name ("Sun") in
// IMF-fixdate and asctime, a long one ("Sunday") in RFC 850.
//
// The day must exist in its month and year (no 30 February, no 29 February
// outside leap years), the hour is 00 to 23, the minute 00 to 59 and the
// second 00 to 60. A leap second (60) is accepted and read as 59, so the result
// stays in the minute the sender wrote.
//
// A two-digit year is read as the year with those last two digits in the
// 100-year window from 49 years before now's year to 50 years after it. A year
// that would otherwise appear more than 50 years in the future is thus the
// most recent past year with the same last two digits, as the RFC requires.
// For any now from 2000 to 2049 that is simply 20yy, or 19yy when 20yy is more
// than 50 years ahead.
//
// [RFC 9110 Section 5.5]: https://www.rfc-editor.org/rfc/rfc9110#section-5.5
// [RFC 9110 Section 5.6.7]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
// [RFC 9111 Section 4.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2
func ParseHTTPDate(s string, now time.Time) (t time.Time, ok bool) {
	s = strings.Trim(s, " \t")
	switch {
	case len(s) == IMFFixdateLen && s[3] == ',':
		return parseIMFFixdate(s)
	case len(s) == asctimeLen && s[3] == ' ':
		return parseASCTime(s)
	default:
		return parseRFC850Date(s, now)
	}
}

// parseIMFFixdate parses s, of length imfFixdateLen, as an IMF-fixdate of
// [RFC 9110 Section 5.6.7]:
//
//	Sun, 06 Nov 1994 08:49:37 GMT
//	0         1         2
//	01234567890123456789012345678
//
// [RFC 9110 Section 5.6.7]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
func parseIMFFixdate(s string) (time.Time, bool) {
	if !isShortDayName(s[0:3]) || s[3:5] != ", " || s[7] != ' ' || s[11] != ' ' ||
		s[16] != ' ' || !isGMT(s[25:]) {
		return time.Time{}, false
	}
	day, ok1 := dateDigits(s[5:7])
	month, ok2 := parseMonth(s[8:11])
	year, ok3 := dateDigits(s[12:16])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return makeHTTPDate(year, month, day, s[17:25])
}

// parseASCTime parses s, of length asctimeLen, as an asctime-date of
// [RFC 9110 Section 5.6.7]:
//
//	Sun Nov  6 08:49:37 1994
//	0         1         2
//	012345678901234567890123
//
// The day is either two digits or a space and one digit.
//
// [RFC 9110 Section 5.6.7]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
func parseASCTime(s string) (time.Time, bool) {
	if !isShortDayName(s[0:3]) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' {
		return time.Time{}, false
	}
	dayField := s[8:10]
	if dayField[0] == ' ' {
		dayField = dayField[1:]
	}
	day, ok1 := dateDigits(dayField)
	month, ok2 := parseMonth(s[4:7])
	year, ok3 := dateDigits(s[20:24])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return makeHTTPDate(year, month, day, s[11:19])
}

// parseRFC850Date parses s as an rfc850-date of [RFC 9110 Section 5.6.7], a
// long day-name followed by a fixed-length tail:
//
//	Sunday, 06-Nov-94 08:49:37 GMT
//	      0         1         2
//	      012345678901234567890123
//
// See [parseHTTPDateAt] for how the two-digit year is read relative to now.
//
// [RFC 9110 Section 5.6.7]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
func parseRFC850Date(s string, now time.Time) (time.Time, bool) {
	comma := strings.IndexByte(s, ',')
	if comma < 0 || !isLongDayName(s[:comma]) {
		return time.Time{}, false
	}
	r := s[comma:]
	if len(r) != rfc850TailLen || r[0:2] != ", " || r[4] != '-' || r[8] != '-' ||
		r[11] != ' ' || !isGMT(r[20:]) {
		return time.Time{}, false
	}
	day, ok1 := dateDigits(r[2:4])
	month, ok2 := parseMonth(r[5:8])
	yy, ok3 := dateDigits(r[9:11])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return makeHTTPDate(expandTwoDigitYear(yy, now.UTC().Year()), month, day, r[12:20])
}

// expandTwoDigitYear returns the year ending in yy (0 to 99) that lies in the
// window from nowYear-49 to nowYear+50, so that no year appears more than 50
// years in the future ([RFC 9110 Section 5.6.7]).
//
// [RFC 9110 Section 5.6.7]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
func expandTwoDigitYear(yy, nowYear int) int {
	year := nowYear/100*100 + yy
	if year > nowYear+50 {
		year -= 100
	} else if year < nowYear-49 {
		year += 100
	}
	return year
}

// makeHTTPDate checks the ranges of a parsed date and the time-of-day
// "HH:MM:SS" of [RFC 9110 Section 5.6.7], then returns the instant in UTC.
// A leap second (60) is read as 59.
//
// [RFC 9110 Section 5.6.7]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
func makeHTTPDate(year int, month time.Month, day int, clock string) (time.Time, bool) {
	if len(clock) != len("08:49:37") || clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, false
	}
	hour, ok1 := dateDigits(clock[0:2])
	minute, ok2 := dateDigits(clock[3:5])
	second, ok3 := dateDigits(clock[6:8])
	if !ok1 || !ok2 || !ok3 || hour > 23 || minute > 59 || second > 60 {
		return time.Time{}, false
	}
	if day < 1 || day > daysIn(month, year) {
		return time.Time{}, false
	}
	if second == 60 {
		second = 59
	}
	return time.Date(year, month, day, hour, minute, second, 0, time.UTC), true
}

// dateDigits returns the value of s, which must be 1*DIGIT (the callers
// pass at most four).
func dateDigits(s string) (int, bool) {
	if !IsDigits(s) {
		return 0, false
	}
	return int(ParseDigits(s)), true
}

// parseMonth returns the month named s ("Jan" to "Dec", in any case).
func parseMonth(s string) (time.Month, bool) {
	for i, name := range monthNames {
		if equalFoldASCII(s, name) {
			return time.January + time.Month(i), true
		}
	}
	return 0, false
}

// isShortDayName reports whether s is one of "Mon" to "Sun", in any case.
func isShortDayName(s string) bool {
	for _, name := range shortDayNames {
		if equalFoldASCII(s, name) {
			return true
		}
	}
	return false
}

// isLongDayName reports whether s is one of "Monday" to "Sunday", in any case.
func isLongDayName(s string) bool {
	for _, name := range longDayNames {
		if equalFoldASCII(s, name) {
			return true
		}
	}
	return false
}

// isGMT reports whether s is " GMT", the zone of an HTTP-date, with the
// letters in any case.
func isGMT(s string) bool {
	return len(s) == len(" GMT") && s[0] == ' ' && equalFoldASCII(s[1:], "GMT")
}

// equalFoldASCII reports whether s and name, an ASCII word of letters, are
// equal ignoring the case of ASCII letters only. Unlike [strings.EqualFold]
// it folds nothing else, so "ſunday" (with U+017F, a long s) is not
// "Sunday" and "\u212A" (the Kelvin sign) is not "K".
func equalFoldASCII(s, name string) bool {
	if len(s) != len(name) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != name[i]|0x20 {
			return false
		}
	}
	return true
}

// daysIn returns the number of days in month of year, in the proleptic
// Gregorian calendar.
func daysIn(month time.Month, year int) int {
	switch month {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	default:
		return 31
	}
}

// HeaderDate returns the single date in the header field name of h, as
// [RFC 9111] uses Date, Expires and Last-Modified; the value must be an
// HTTP-date of [RFC 9110 Section 5.6.7].
//
// present reports whether the field has at least one field line. ok is false
// if the field is absent, has more than one field line with differing values
// (identical repeated lines are fine), or does not parse. Values are compared
// as strings: two lines that spell the same instant differently differ.
//
// [RFC 9111]: https://www.rfc-editor.org/rfc/rfc9111
// [RFC 9110 Section 5.6.7]: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
func HeaderDate(h http.Header, name string, now time.Time) (t time.Time, present, ok bool) {
	v, present, ok := SingleFieldValue(h, name)
	if !ok {
		return time.Time{}, present, false
	}
	t, ok = ParseHTTPDate(v, now)
	return t, true, ok
}
