package acache

// This file holds what a program asks of a Cache by URL rather than by
// request: remove what is stored for a URL (Purge), remove everything
// (Clear), and list what is stored for a URL (Inspect). Each reaches every
// response stored for a URL the way invalidation does (RFC 9111 Section
// 4.4): through the URI's key and the partition index it holds.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/acachecontrol/acache/internal/policy"
)

// Purge removes every response stored for the URL rawURL, for GET and HEAD:
// every variant selected by Vary ([RFC 9111 Section 4.1]) and every user's
// copy: stored under the partition of its Authorization field or of
// [WithPartitionBy], or tied to its credentials by private. It removes them
// the way an unsafe request invalidates a URL ([RFC 9111 Section 4.4]), from
// any [Backend], and waits for the backend to finish.
//
// rawURL must be an absolute URL the cache could store a response for; the
// host is compared as the key compares it (case-insensitive, without the
// scheme's default port) and the fragment is ignored. Purge reaches the
// responses to requests sent with their usual Host field: a response to a
// request whose Host field named another host than its URL (a virtual host
// reached by address) is stored under both names, and is left to expire.
//
// A URL with nothing stored is not an error. Purge returns an error for a
// URL it cannot parse or that the cache never stores, and the backend
// errors it met, joined ([errors.Join]). When ctx is done first, Purge returns its error and the
// removal goes on in the background, each backend call under the backend
// timeout ([WithBackendTimeout]), so that no user's copy is left unlisted.
// A response being stored while Purge runs may land after it.
//
// [RFC 9111 Section 4.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.1
// [RFC 9111 Section 4.4]: https://www.rfc-editor.org/rfc/rfc9111#section-4.4
func (c *Cache) Purge(ctx context.Context, rawURL string) error {
	if err := c.usable(); err != nil {
		return err
	}
	keys, err := c.uriKeys(rawURL)
	if err != nil {
		return err
	}
	job := context.WithoutCancel(ctx)
	return c.await(ctx, "purge", func() error { return c.removeAll(job, keys[:]) })
}

// uriKeys returns the URI keys of the GET and HEAD responses stored for
// rawURL: without a virtual host or a partition.
func (c *Cache) uriKeys(rawURL string) ([2]string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return [2]string{}, fmt.Errorf("acache: %w", err)
	}
	keys := [2]string{c.keyFor(http.MethodGet, u, "", ""), c.keyFor(http.MethodHead, u, "", "")}
	if keys[0] == "" {
		return [2]string{}, fmt.Errorf("acache: %q is not a URL the cache stores responses for", rawURL)
	}
	return keys, nil
}

// Clear removes every entry the backend holds, with PopOldest, and waits for
// it. Nothing it removes counts as an eviction in [Stats], and it changes
// nothing else (counters, options, background work).
//
// Clear removes what the backend holds, whoever stored it: on a backend
// shared by processes (such as rediscache) it clears what every process
// stored, and on an LRU ([NewLRU]) shared by several Caches what each of them stored.
// It pops at most twice as many entries as the backend held when it began,
// so that stores made meanwhile cannot keep it going: some of them may stay.
// When ctx is done first, Clear stops and returns its error; what it
// removed stays removed.
func (c *Cache) Clear(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	return c.await(ctx, "clear", func() error { return c.clear(ctx) })
}

// StoredResponse describes one response a [Cache] holds for a URL, as
// [Cache.Inspect] lists it. It holds copies: changing it changes nothing
// stored.
type StoredResponse struct {
	// Method is the method of the request the response answers: GET or
	// HEAD. A stored GET response also answers HEAD requests.
	Method string
	// StatusCode is the stored status code, e.g. 200.
	StatusCode int
	// Header is a copy of the stored header fields.
	Header http.Header
	// VaryHeader holds a copy of the request fields, named by the
	// response's Vary field, that select this response among the URL's
	// variants ([RFC 9111 Section 4.1]); nil when it has no Vary field.
	// The credential fields (Authorization, Cookie, Proxy-Authorization)
	// read "redacted": whose copy it is is not told.
	//
	// [RFC 9111 Section 4.1]: https://www.rfc-editor.org/rfc/rfc9111#section-4.1
	VaryHeader http.Header
	// Partitioned reports a response served only to one user's requests:
	// stored under the partition of a request's Authorization field
	// ([RFC 9111 Section 2] lets a cache add it to the key) or of
	// [WithPartitionBy], or marked private ([RFC 9111 Section 5.2.2.7])
	// and tied to the credentials of the request that fetched it. Whose it
	// is is not told.
	//
	// [RFC 9111 Section 2]: https://www.rfc-editor.org/rfc/rfc9111#section-2
	// [RFC 9111 Section 5.2.2.7]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2.7
	Partitioned bool
	// Received is when the response was received ("response_time" in
	// [RFC 9111 Section 4.2.3]), or last freshened by a 304.
	//
	// [RFC 9111 Section 4.2.3]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.3
	Received time.Time
	// TTL is how long the response stays fresh from now
	// ([RFC 9111 Section 4.2]): its freshness lifetime minus its current
	// age, negative once it is stale.
	//
	// [RFC 9111 Section 4.2]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2
	TTL time.Duration
	// Size is what the response counts against the Cache's byte limit
	// ([Entry.Size]).
	Size int64
}

// Inspect lists the responses the Cache holds for the URL rawURL, for GET and
// HEAD: each variant selected by Vary, then those stored for each user
// (Partitioned), as [Cache.Purge] would remove them. It reads the backend
// and changes nothing, except that it removes an entry that fails
// validation, as a lookup does; it never lists a response stored for
// another URL. A URL with nothing stored has an empty list.
//
// Inspect returns an error for a URL it cannot parse or that the cache never
// stores, for a backend error, and when ctx is done first.
func (c *Cache) Inspect(ctx context.Context, rawURL string) ([]StoredResponse, error) {
	if c == nil {
		return nil, nil // a nil Cache stores nothing
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	keys, err := c.uriKeys(rawURL)
	if err != nil {
		return nil, err
	}
	var list []StoredResponse
	err = c.await(ctx, "stored", func() error {
		now := c.now()
		for _, uri := range keys {
			index, err := c.read(ctx, uri)
			if err != nil {
				return err
			}
			if index != nil {
				list = c.appendInspected(list, index, false, now)
			}
			partitions, err := c.listed(ctx, uri, index)
			if err != nil {
				return err
			}
			for _, key := range partitions {
				if of, ok := splitPartition(key); !ok || of != uri {
					continue // the index of another URI's key: never read
				}
				e, err := c.read(ctx, key)
				if err != nil {
					return err
				}
				if e != nil {
					list = c.appendInspected(list, e, true, now)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err // list may still be written to
	}
	return list, nil
}

// appendInspected appends the responses of e, stored under a partition or not,
// to list.
func (c *Cache) appendInspected(list []StoredResponse, e *Entry, partitioned bool, now time.Time) []StoredResponse {
	method, _, _ := strings.Cut(e.Key, " ")
	for v := range e.responses() {
		m := c.metaOf(v)
		list = append(list, StoredResponse{
			Method:      method,
			StatusCode:  v.StatusCode,
			Header:      v.Header.Clone(),
			VaryHeader:  redactedVaryHeader(v.VaryHeader),
			Partitioned: partitioned || v.Credentials != "",
			Received:    v.ResponseTime,
			TTL:         policy.TTL(m.Lifetime, policy.CurrentAge(&m.Facts, v.ResponseTime, now)),
			Size:        v.ownSize(),
		})
	}
	return list
}

// redactedVaryHeader returns a copy of h, the request fields an entry keeps
// for Vary, with the value of each credential field replaced by "redacted".
func redactedVaryHeader(h http.Header) http.Header {
	h = h.Clone()
	for name := range h {
		if credentialField(name) {
			h[name] = []string{"redacted"}
		}
	}
	return h
}

// errNilCache reports a method that changes the store called on a nil
// *Cache, which has none.
var errNilCache = errors.New("acache: nil *Cache")

// usable readies c (a zero Cache becomes one of NewCache(nil)) and returns
// why its store cannot be used: a nil c, or a backend that can store
// nothing ([ErrNilBackend]).
func (c *Cache) usable() error {
	if c == nil {
		return errNilCache
	}
	c.ready()
	if err := c.disabled.Load(); err != nil {
		return *err
	}
	return nil
}
