package httpsyntax

import (
	"encoding/base64"
	"strings"
)

// This file parses Structured Field Values ([RFC 8941]) strictly: a field
// value is either exactly what the grammar allows, or it is rejected whole,
// as Section 4.2 requires. Only Dictionaries are parsed (the syntax of the
// targeted cache control fields of RFC 9213), with every kind of member and
// bare item, so that a value the RFC accepts is never refused and one it
// refuses is never half-read.
//
// [RFC 8941]: https://www.rfc-editor.org/rfc/rfc8941

// sfKind is the type of an [sfItem].
type sfKind uint8

// The kinds of item: the bare item types of [RFC 8941 Section 3.3], and the
// Inner List of Section 3.1.1.
//
// [RFC 8941 Section 3.3]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3
const (
	sfKindInteger   sfKind = iota + 1 // num
	sfKindDecimal                     // num, in thousandths
	sfKindString                      // str, unescaped
	sfKindToken                       // str
	sfKindBytes                       // str, the decoded bytes
	sfKindBoolean                     // boolean
	sfKindInnerList                   // inner, each member a bare item with parameters
)

// sfItem is an Item ([RFC 8941 Section 3.3]) or an Inner List (Section
// 3.1.1), with its parameters. The value is in the field its kind names. The
// value of a parameter is an sfItem with no parameters and no inner list.
//
// [RFC 8941 Section 3.3]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3
type sfItem struct {
	kind    sfKind
	boolean bool
	num     int64
	str     string
	inner   []sfItem
	params  []sfMember
}

// sfMember is a key and its value: a member of a Dictionary, or a parameter.
type sfMember struct {
	key  string
	item sfItem
}

// sfDictionary is a Dictionary ([RFC 8941 Section 3.2]): its members in
// order, each key once.
//
// [RFC 8941 Section 3.2]: https://www.rfc-editor.org/rfc/rfc8941#section-3.2
type sfDictionary []sfMember

// Limits of the numbers of [RFC 8941 Section 3.3.1] and Section 3.3.2: an
// Integer has at most 15 digits, a Decimal at most 12 before its point and 3
// after it.
//
// [RFC 8941 Section 3.3.1]: https://www.rfc-editor.org/rfc/rfc8941#section-3.3.1
const (
	sfMaxIntegerDigits  = 15
	sfMaxDecimalWhole   = 12
	sfMaxDecimalFrac    = 3
	sfDecimalMultiplier = 1000 // a Decimal is held in thousandths
)

// parseDictionary parses the field lines of a Dictionary field per
// [RFC 8941 Section 4.2]: the lines are combined with ", " (as Section 4.2
// says, following RFC 9110 Section 5.3), spaces before and after the value
// are discarded, and the rest must be a Dictionary (Section 4.2.2) to the
// last byte. A key that appears more than once keeps its first position and
// takes its last value. ok is false, and d nil, if any part fails to parse.
// A field with no lines, or an empty one, is the empty Dictionary; an empty
// line among others makes an empty member, which fails.
//
// [RFC 8941 Section 4.2]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2
func parseDictionary(lines []string) (d sfDictionary, ok bool) {
	p := sfReader{s: strings.Join(lines, ", ")}
	p.skipSP()
	d, ok = p.dictionary()
	p.skipSP()
	if !ok || !p.done() {
		return nil, false
	}
	return d, true
}

// sfReader holds the input of [parseDictionary] and how far it has read.
// Each method consumes what it parses, and reports failure with ok false.
type sfReader struct {
	s string
	i int
}

func (p *sfReader) done() bool { return p.i == len(p.s) }

// peek returns the next byte, or 0 at the end (a byte no rule accepts).
func (p *sfReader) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfReader) skipSP() {
	for p.peek() == ' ' {
		p.i++
	}
}

func (p *sfReader) skipOWS() {
	for c := p.peek(); c == ' ' || c == '\t'; c = p.peek() {
		p.i++
	}
}

// dictionary implements [RFC 8941 Section 4.2.2].
//
// [RFC 8941 Section 4.2.2]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.2
func (p *sfReader) dictionary() (sfDictionary, bool) {
	var d sfDictionary
	for !p.done() {
		key, ok := p.key()
		if !ok {
			return nil, false
		}
		var item sfItem
		if p.peek() == '=' {
			p.i++
			if item, ok = p.itemOrInnerList(); !ok {
				return nil, false
			}
		} else {
			item = sfItem{kind: sfKindBoolean, boolean: true}
			if item.params, ok = p.parameters(); !ok {
				return nil, false
			}
		}
		d = setMember(d, key, item)
		p.skipOWS()
		if p.done() {
			return d, true
		}
		if p.peek() != ',' {
			return nil, false
		}
		p.i++
		p.skipOWS()
		if p.done() { // a trailing comma
			return nil, false
		}
	}
	return d, true
}

// setMember sets the value of key in members, in place if the key is there:
// "overwrite its value" ([RFC 8941 Section 4.2.2] and Section 4.2.3.2).
//
// [RFC 8941 Section 4.2.2]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.2
func setMember[S ~[]sfMember](members S, key string, item sfItem) S {
	for i := range members {
		if members[i].key == key {
			members[i].item = item
			return members
		}
	}
	return append(members, sfMember{key, item})
}

// itemOrInnerList implements [RFC 8941 Section 4.2.1.1].
//
// [RFC 8941 Section 4.2.1.1]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.1.1
func (p *sfReader) itemOrInnerList() (sfItem, bool) {
	if p.peek() == '(' {
		return p.innerList()
	}
	return p.item()
}

// innerList implements [RFC 8941 Section 4.2.1.2].
//
// [RFC 8941 Section 4.2.1.2]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.1.2
func (p *sfReader) innerList() (sfItem, bool) {
	p.i++ // "("
	list := sfItem{kind: sfKindInnerList, inner: []sfItem{}}
	for !p.done() {
		p.skipSP()
		if p.peek() == ')' {
			p.i++
			var ok bool
			list.params, ok = p.parameters()
			return list, ok
		}
		item, ok := p.item()
		if !ok {
			return sfItem{}, false
		}
		list.inner = append(list.inner, item)
		if c := p.peek(); c != ' ' && c != ')' {
			return sfItem{}, false
		}
	}
	return sfItem{}, false // no ")"
}

// item implements [RFC 8941 Section 4.2.3]: a bare item and its parameters.
//
// [RFC 8941 Section 4.2.3]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.3
func (p *sfReader) item() (sfItem, bool) {
	item, ok := p.bareItem()
	if !ok {
		return sfItem{}, false
	}
	item.params, ok = p.parameters()
	return item, ok
}

// parameters implements [RFC 8941 Section 4.2.3.2].
//
// [RFC 8941 Section 4.2.3.2]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.3.2
func (p *sfReader) parameters() ([]sfMember, bool) {
	var params []sfMember
	for p.peek() == ';' {
		p.i++
		p.skipSP()
		key, ok := p.key()
		if !ok {
			return nil, false
		}
		value := sfItem{kind: sfKindBoolean, boolean: true}
		if p.peek() == '=' {
			p.i++
			if value, ok = p.bareItem(); !ok {
				return nil, false
			}
		}
		params = setMember(params, key, value)
	}
	return params, true
}

// key implements [RFC 8941 Section 4.2.3.3]:
//
//	key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
//
// [RFC 8941 Section 4.2.3.3]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.3.3
func (p *sfReader) key() (string, bool) {
	start := p.i
	if c := p.peek(); !sfLCAlpha(c) && c != '*' {
		return "", false
	}
	for p.i++; !p.done(); p.i++ {
		c := p.s[p.i]
		if !sfLCAlpha(c) && !sfDigit(c) && c != '_' && c != '-' && c != '.' && c != '*' {
			break
		}
	}
	return p.s[start:p.i], true
}

// bareItem implements [RFC 8941 Section 4.2.3.1].
//
// [RFC 8941 Section 4.2.3.1]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.3.1
func (p *sfReader) bareItem() (sfItem, bool) {
	switch c := p.peek(); {
	case c == '-' || sfDigit(c):
		return p.number()
	case c == '"':
		return p.quotedString()
	case sfAlpha(c) || c == '*':
		return p.token(), true
	case c == ':':
		return p.byteSequence()
	case c == '?':
		return p.boolean()
	}
	return sfItem{}, false
}

// number implements [RFC 8941 Section 4.2.4]: an Integer or a Decimal.
//
// [RFC 8941 Section 4.2.4]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.4
func (p *sfReader) number() (sfItem, bool) {
	sign := int64(1)
	if p.peek() == '-' {
		p.i++
		sign = -1
	}
	if !sfDigit(p.peek()) {
		return sfItem{}, false
	}
	var n int64 // the digits read, as an integer
	whole := -1 // the number of digits before ".", once one is read
	digits := 0 // the number of digits read
	for ; !p.done(); p.i++ {
		c := p.s[p.i]
		if sfDigit(c) {
			n = n*10 + int64(c-'0')
			digits++
		} else if c == '.' && whole < 0 {
			if digits > sfMaxDecimalWhole {
				return sfItem{}, false
			}
			whole = digits
		} else {
			break
		}
		// 15 digits is the most an Integer has, and a Decimal too (12 + 3;
		// how they split is checked at the point and at the end). Stopping
		// here also keeps n from overflowing.
		if digits > sfMaxIntegerDigits {
			return sfItem{}, false
		}
	}
	if whole < 0 {
		return sfItem{kind: sfKindInteger, num: sign * n}, true
	}
	frac := digits - whole
	if frac == 0 || frac > sfMaxDecimalFrac {
		return sfItem{}, false // "1." or "1.2345"
	}
	for ; frac < sfMaxDecimalFrac; frac++ {
		n *= 10
	}
	return sfItem{kind: sfKindDecimal, num: sign * n}, true
}

// quotedString implements [RFC 8941 Section 4.2.5]: printable ASCII between
// double quotes, in which a backslash escapes only `"` and `\`.
//
// [RFC 8941 Section 4.2.5]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.5
func (p *sfReader) quotedString() (sfItem, bool) {
	p.i++ // `"`
	start := p.i
	escaped := false
	for ; !p.done(); p.i++ {
		switch c := p.s[p.i]; {
		case c == '\\':
			p.i++
			if c := p.peek(); c != '"' && c != '\\' {
				return sfItem{}, false
			}
			escaped = true
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			if escaped {
				s = sfUnescaper.Replace(s)
			}
			return sfItem{kind: sfKindString, str: s}, true
		case c < 0x20 || c > 0x7e:
			return sfItem{}, false
		}
	}
	return sfItem{}, false // no closing quote
}

// sfUnescaper undoes the two escapes of an sf-string, which the parser has
// checked are the only ones.
var sfUnescaper = strings.NewReplacer(`\"`, `"`, `\\`, `\`)

// token implements [RFC 8941 Section 4.2.6]; the first byte, an ALPHA or
// "*", is checked by the caller.
//
// [RFC 8941 Section 4.2.6]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.6
func (p *sfReader) token() sfItem {
	start := p.i
	for p.i++; !p.done(); p.i++ {
		if c := p.s[p.i]; !tokenChars[c] && c != ':' && c != '/' {
			break
		}
	}
	return sfItem{kind: sfKindToken, str: p.s[start:p.i]}
}

// byteSequence implements [RFC 8941 Section 4.2.7]: base64 between colons.
// As the section advises, it accepts a value whose "=" padding is missing,
// or short ("synthesizing padding if necessary"), and one whose pad bits are
// not zero; it refuses "=" anywhere but at the end, and more of it than the
// length calls for, which no padding can make valid.
//
// [RFC 8941 Section 4.2.7]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.7
func (p *sfReader) byteSequence() (sfItem, bool) {
	p.i++ // ":"
	end := strings.IndexByte(p.s[p.i:], ':')
	if end < 0 {
		return sfItem{}, false
	}
	b64 := p.s[p.i : p.i+end]
	p.i += end + 1
	for i := 0; i < len(b64); i++ {
		if c := b64[i]; !sfAlpha(c) && !sfDigit(c) && c != '+' && c != '/' && c != '=' {
			return sfItem{}, false // also keeps out the CR and LF that package base64 skips
		}
	}
	data := strings.TrimRight(b64, "=")
	if pad := len(b64) - len(data); pad > (4-len(data)%4)%4 {
		return sfItem{}, false
	}
	b, err := base64.RawStdEncoding.DecodeString(data) // refuses an "=" left inside
	if err != nil {
		return sfItem{}, false
	}
	return sfItem{kind: sfKindBytes, str: string(b)}, true
}

// boolean implements [RFC 8941 Section 4.2.8]: ?0 or ?1.
//
// [RFC 8941 Section 4.2.8]: https://www.rfc-editor.org/rfc/rfc8941#section-4.2.8
func (p *sfReader) boolean() (sfItem, bool) {
	if p.i+1 >= len(p.s) {
		return sfItem{}, false
	}
	c := p.s[p.i+1]
	if c != '0' && c != '1' {
		return sfItem{}, false
	}
	p.i += 2
	return sfItem{kind: sfKindBoolean, boolean: c == '1'}, true
}

func sfDigit(c byte) bool { return '0' <= c && c <= '9' }

func sfLCAlpha(c byte) bool { return 'a' <= c && c <= 'z' }

func sfAlpha(c byte) bool { return sfLCAlpha(c) || 'A' <= c && c <= 'Z' }
