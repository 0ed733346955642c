package acache

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	backend := newLRU()
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

// decodingBackend returns, like a backend that decodes what it stores, a new
// Entry on every Get, without what the Cache derived from it.
type decodingBackend struct{ *lru }

func (d decodingBackend) Get(ctx context.Context, key string) (*Entry, error) {
	e, err := d.lru.Get(ctx, key)
	if e == nil || err != nil {
		return e, err
	}
	decode := func(e *Entry) *Entry {
		return &Entry{Key: e.Key, StatusCode: e.StatusCode, Proto: e.Proto, Header: e.Header.Clone(),
			Body: slices.Clone(e.Body), VaryHeader: e.VaryHeader.Clone(), RequestTime: e.RequestTime,
			ResponseTime: e.ResponseTime, Credentials: e.Credentials, Uncompressed: e.Uncompressed,
			Partitions: slices.Clone(e.Partitions), Version: e.Version}
	}
	out := decode(e)
	for _, v := range e.Variants {
		out.Variants = append(out.Variants, decode(v))
	}
	return out, nil
}

func TestEntryDecodedEntriesAreDerivedOnce(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	origin := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprint(w, "hello "+r.Header.Get("Accept-Language"))
	})
	cache := NewCache(decodingBackend{newLRU()}, WithClock(clock.Now))
	tr := NewTransport(cache)
	for _, lang := range []string{"en", "fr"} {
		fetch(t, tr, "GET", origin.URL, hdr("Accept-Language", lang))
	}
	before := cache.derivations.Load()
	for range 10 {
		for _, lang := range []string{"en", "fr"} {
			resp, body := fetch(t, tr, "GET", origin.URL, hdr("Accept-Language", lang))
			require.True(t, isHit(resp))
			require.Equal(t, "hello "+lang, body, "a variant served with what was derived from another")
		}
		clock.Advance(time.Second)
	}
	assert.LessOrEqual(t, cache.derivations.Load()-before, int64(2),
		"20 hits on two decoded variants parsed their headers %d times", cache.derivations.Load()-before)
}

func TestEntryDerivedMemoTellsResponsesApart(t *testing.T) {
	t.Parallel()
	var memo derivedMemo
	a := &Entry{Key: "k", StatusCode: 200, Header: http.Header{"Cache-Control": {"max-age=60"}}, ResponseTime: t0}
	m := deriveMeta(a, &derivation{shared: false})
	memo.remember(a, m)
	same := *a
	same.Header = a.Header.Clone()
	assert.Same(t, m, memo.find(&same), "an equal response decoded again")
	for name, other := range map[string]*Entry{
		"another header value": {Key: "k", StatusCode: 200, Header: http.Header{"Cache-Control": {"no-store"}}, ResponseTime: t0},
		"another field":        {Key: "k", StatusCode: 200, Header: http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*"}}, ResponseTime: t0},
		"another status":       {Key: "k", StatusCode: 404, Header: a.Header, ResponseTime: t0},
		"another request time": {Key: "k", StatusCode: 200, Header: a.Header, ResponseTime: t0, RequestTime: t0.Add(-time.Hour)},
		"another key":          {Key: "j", StatusCode: 200, Header: a.Header, ResponseTime: t0},
	} {
		assert.Nil(t, memo.find(other), "%s: the meta of another response", name)
	}
}
