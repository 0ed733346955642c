package acache

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// corruptingBackend wraps a backend and returns every entry under a wrong key.
type corruptingBackend struct{ Backend }

func (b corruptingBackend) Get(ctx context.Context, key string) (*Entry, error) {
	e, err := b.Backend.Get(ctx, key)
	if e != nil {
		bad := *e
		bad.Key = "GET http://evil.example/"
		return &bad, err
	}
	return e, err
}

func TestTransportCorruptEntryIsAMiss(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "fine")
	})
	backend := NewLRU()
	c := NewCache(corruptingBackend{backend}, WithClock(clock.Now))
	tr := NewTransport(c)
	fetch(t, tr, "GET", o.URL, nil)
	resp, body := fetch(t, tr, "GET", o.URL, nil)
	assert.False(t, isHit(resp), "an entry stored under another key is never served")
	assert.Equal(t, "fine", body)
	assert.EqualValues(t, 2, o.hits.Load())
	assert.EqualValues(t, 1, c.Stats().Errors)
}

// TestEntrySize checks what Size documents: every byte of the body, key,
// header and Vary fields counts, and so does each variant, but not the
// variants of a variant.
func TestEntrySize(t *testing.T) {
	t.Parallel()
	base := func() *Entry {
		return &Entry{
			Key:        "GET http://example.test/",
			StatusCode: 200,
			Proto:      "HTTP/1.1",
			Header:     http.Header{"Content-Type": {"text/plain"}},
			Body:       []byte("body"),
		}
	}
	size := base().Size()
	assert.Positive(t, (&Entry{}).Size(), "an empty entry still costs its Go values")

	for _, tc := range []struct {
		what    string
		change  func(e *Entry)
		exact   int64 // how much Size must grow: exactly, or at least if atLeast
		atLeast bool
	}{
		{"a byte more of body", func(e *Entry) { e.Body = append(e.Body, 'x') }, 1, false},
		{"1000 bytes more of body", func(e *Entry) { e.Body = append(e.Body, make([]byte, 1000)...) }, 1000, false},
		{"a longer key", func(e *Entry) { e.Key += "abc" }, 3, false},
		{"a longer protocol", func(e *Entry) { e.Proto = "HTTP/1.10" }, 1, false},
		{"credentials", func(e *Entry) { e.Credentials = "0123456789" }, 10, false},
		{"a longer value", func(e *Entry) { e.Header["Content-Type"][0] += "; charset=utf-8" }, 15, false},
		{"another value", func(e *Entry) { e.Header["Content-Type"] = append(e.Header["Content-Type"], "abc") }, 3, true},
		{"another field", func(e *Entry) { e.Header["X-Field"] = []string{"value"} }, int64(len("X-Field") + len("value")), true},
		{"a Vary field", func(e *Entry) { e.VaryHeader = http.Header{"Accept": {"text/html"}} }, int64(len("Accept") + len("text/html")), true},
		{"a partition", func(e *Entry) { e.Partitions = []string{"GET http://example.test/\x00auth=00"} }, int64(len("GET http://example.test/\x00auth=00")), true},
	} {
		e := base()
		tc.change(e)
		grown := e.Size() - size
		if tc.atLeast {
			assert.GreaterOrEqual(t, grown, tc.exact, "Size grew by %d for %s", grown, tc.what)
		} else {
			assert.Equal(t, tc.exact, grown, "Size grew by %d for %s", grown, tc.what)
		}
	}

	t.Run("variants", func(t *testing.T) {
		v := base()
		v.Body = []byte("another body")
		e := base()
		e.Variants = []*Entry{v, nil}
		assert.Equal(t, size+v.Size(), e.Size(), "an entry with a variant (and a nil one)")

		alone := *v
		v.Variants = []*Entry{base()}
		assert.Equal(t, size+alone.Size(), e.Size(),
			"a variant's own variants, which a valid entry does not have, are not counted")
	})
}

// TestRFC9111_4_1_EntryResponses checks the iterator over the responses
// stored for one key: the entry, then its variants most recent first,
// without nil variants, variants stored under another key, or an index.
func TestRFC9111_4_1_EntryResponses(t *testing.T) {
	t.Parallel()
	const key = "GET http://example.test/"
	v1 := &Entry{Key: key, StatusCode: 200, Body: []byte("v1")}
	v2 := &Entry{Key: key, StatusCode: 200, Body: []byte("v2")}
	stray := &Entry{Key: "GET http://other.test/", StatusCode: 200}
	e := &Entry{Key: key, StatusCode: 200, Variants: []*Entry{v1, nil, stray, v2}}
	assert.Equal(t, []*Entry{e, v1, v2}, slices.Collect(e.responses()), "the responses of an entry with variants")

	index := &Entry{Key: key, Partitions: []string{key + "\x00auth=00"}, Variants: []*Entry{v1}}
	assert.Equal(t, []*Entry{v1}, slices.Collect(index.responses()), "an index (StatusCode 0) is not a response")

	var first []*Entry
	for r := range e.responses() {
		first = append(first, r)
		break
	}
	assert.Equal(t, []*Entry{e}, first, "the iteration stops when asked")
}
