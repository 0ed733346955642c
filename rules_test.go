package acache

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ruleOrigin answers each path as the handlers of the table say, counting
// requests; a path's response changes version with each request.
func ruleOrigin(t *testing.T, clock *testClock, answer func(w http.ResponseWriter, path string)) *testOrigin {
	var n int
	return newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		n++
		answer(w, r.URL.Path)
		fmt.Fprintf(w, "%s version %d", r.URL.Path, n)
	})
}

func TestRulesDefaultFreshness(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := ruleOrigin(t, clock, func(w http.ResponseWriter, path string) {
		switch path {
		case "/explicit-zero":
			w.Header().Set("Cache-Control", "max-age=0")
		case "/not-found":
			w.WriteHeader(http.StatusNotFound)
		}
	})
	plain := newTestTransport(clock)
	fetch(t, plain, "GET", o.URL+"/bare", nil)
	resp, _ := fetch(t, plain, "GET", o.URL+"/bare", nil)
	assert.False(t, isHit(resp), "RFC 9111 alone: no freshness, no validator, not stored")

	tr := newTestTransport(clock, WithDefaultFreshness(time.Minute))
	for _, path := range []string{"/bare", "/not-found"} {
		fetch(t, tr, "GET", o.URL+path, nil)
		resp, _ = fetch(t, tr, "GET", o.URL+path, nil)
		assert.True(t, isHit(resp), "%s is fresh for the default", path)
	}
	fetch(t, tr, "GET", o.URL+"/explicit-zero", nil)
	resp, _ = fetch(t, tr, "GET", o.URL+"/explicit-zero", nil)
	assert.False(t, isHit(resp), "an explicit max-age=0 is the origin's word, not a missing one")
	clock.Advance(61 * time.Second)
	resp, _ = fetch(t, tr, "GET", o.URL+"/bare", nil)
	assert.False(t, isHit(resp), "past the default, the response is stale")
}

func TestRulesMaxFreshness(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := ruleOrigin(t, clock, func(w http.ResponseWriter, path string) {
		w.Header().Set("Cache-Control", "max-age=3600")
	})
	tr := newTestTransport(clock, WithMaxFreshness(time.Minute),
		WithRule(func(*http.Request, *http.Response) Rule { return Rule{FreshFor: time.Hour} }))
	fetch(t, tr, "GET", o.URL+"/", nil)
	clock.Advance(30 * time.Second)
	resp, _ := fetch(t, tr, "GET", o.URL+"/", nil)
	assert.True(t, isHit(resp))
	clock.Advance(time.Minute)
	resp, body := fetch(t, tr, "GET", o.URL+"/", nil)
	assert.False(t, isHit(resp), "the cap holds over the origin's hour and the rule's")
	assert.Equal(t, "/ version 2", body)
}

func TestRulesWithRule(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := ruleOrigin(t, clock, func(w http.ResponseWriter, path string) {
		switch path {
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
		case "/error":
			w.Header().Set("Cache-Control", "max-age=60")
			w.WriteHeader(http.StatusInternalServerError)
		case "/config":
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Set-Cookie", "session=secret")
		case "/volatile":
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", `"v"`)
		case "/redirect":
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(http.StatusFound)
		case "/panic":
			w.Header().Set("Cache-Control", "max-age=60")
		}
	})
	rule := func(req *http.Request, resp *http.Response) Rule {
		switch req.URL.Path {
		case "/missing":
			return Rule{FreshFor: time.Minute}
		case "/error":
			return Rule{Store: StoreNever}
		case "/config", "/redirect":
			return Rule{Store: StoreAlways, FreshFor: 5 * time.Minute}
		case "/volatile":
			return Rule{FreshFor: time.Minute}
		case "/panic":
			panic("the rule failed")
		}
		return Rule{}
	}
	tr := newTestTransport(clock, WithRule(rule))
	twice := func(path string) (first, second *http.Response, body string) {
		t.Helper()
		first, _ = fetch(t, tr, "GET", o.URL+path, nil)
		second, body = fetch(t, tr, "GET", o.URL+path, nil)
		return first, second, body
	}

	_, second, body := twice("/missing")
	assert.True(t, isHit(second), "a 404 for a minute")
	assert.Equal(t, http.StatusNotFound, second.StatusCode)
	assert.Equal(t, "/missing version 1", body)

	first, second, _ := twice("/error")
	assert.False(t, isHit(second), "never a 5xx, whatever its max-age")
	status, _ := CacheStatusOf(first)
	assert.Equal(t, "rule", status.Detail)

	_, second, body = twice("/config")
	assert.True(t, isHit(second), "StoreAlways overrides no-store")
	assert.Equal(t, "/config version 4", body)
	assert.Empty(t, second.Header.Values("Set-Cookie"), "Set-Cookie is never stored, whatever the rule")

	_, second, _ = twice("/redirect")
	assert.True(t, isHit(second), "StoreAlways stores a status not cacheable by default")

	_, second, _ = twice("/volatile")
	assert.True(t, isHit(second), "a rule's freshness replaces the origin's no-cache")

	before := tr.Cache.Stats().Errors
	first, second, _ = twice("/panic")
	assert.Equal(t, http.StatusOK, first.StatusCode, "a rule that panics costs the cache, not the request")
	assert.False(t, isHit(second))
	assert.Greater(t, tr.Cache.Stats().Errors, before)

	clock.Advance(2 * time.Minute)
	resp, _ := fetch(t, tr, "GET", o.URL+"/missing", nil)
	assert.False(t, isHit(resp), "past the rule's minute")
	resp, _ = fetch(t, tr, "GET", o.URL+"/config", nil)
	assert.True(t, isHit(resp), "within the rule's five minutes")
}

// TestRulesStoreAlwaysKeepsUsersApart: no rule stores, in a shared cache, a
// private response or one to a request with Authorization that RFC 9111
// Section 3.5 does not let a shared cache reuse.
func TestRulesStoreAlwaysKeepsUsersApart(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := ruleOrigin(t, clock, func(w http.ResponseWriter, path string) {
		if path == "/private" {
			w.Header().Set("Cache-Control", "private, max-age=60")
		}
	})
	always := func(*http.Request, *http.Response) Rule { return Rule{Store: StoreAlways, FreshFor: time.Minute} }
	tr := newTestTransport(clock, WithShared(), WithRule(always))
	fetch(t, tr, "GET", o.URL+"/private", nil)
	resp, _ := fetch(t, tr, "GET", o.URL+"/private", nil)
	assert.False(t, isHit(resp), "a shared cache stored a private response")
	fetch(t, tr, "GET", o.URL+"/auth", hdr("Authorization", "Bearer a"))
	resp, _ = fetch(t, tr, "GET", o.URL+"/auth", hdr("Authorization", "Bearer a"))
	assert.False(t, isHit(resp), "a shared cache stored a response to a request with Authorization")
}

// TestRulesFreshForIsStoredWithTheEntry: a rule's freshness travels with the
// entry through its durable encoding, to a Cache without the rule.
func TestRulesFreshForIsStoredWithTheEntry(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := ruleOrigin(t, clock, func(w http.ResponseWriter, path string) {})
	backend := newLRU()
	ruled := NewTransport(NewCache(backend, WithClock(clock.Now),
		WithRule(func(*http.Request, *http.Response) Rule { return Rule{FreshFor: time.Minute} })))
	fetch(t, ruled, "GET", o.URL+"/", nil)

	reloaded := newLRU() // as a disk or Redis backend would hand it back
	for key, e := range lruEntries(backend) {
		data, err := e.MarshalBinary()
		require.NoError(t, err)
		var decoded Entry
		require.NoError(t, decoded.UnmarshalBinary(data))
		assert.Equal(t, time.Minute, decoded.FreshFor)
		require.NoError(t, reloaded.Set(context.Background(), key, &decoded))
	}
	plain := NewTransport(NewCache(reloaded, WithClock(clock.Now)))
	clock.Advance(30 * time.Second)
	resp, _ := fetch(t, plain, "GET", o.URL+"/", nil)
	assert.True(t, isHit(resp), "the rule's freshness came with the entry")
	assert.Equal(t, int64(1), o.hits.Load())
}
