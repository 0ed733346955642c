package acache

// This file holds what a program asks of a Cache by URL rather than by
// request: remove what is stored for a URL (Purge), remove everything
// (Clear), and list what is stored for a URL (Stored). Each reaches every
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
	return c.await(ctx, "purge", func() error {
		var errs []error
		for _, key := range keys {
			errs = append(errs, c.removeWaiting(job, key))
		}
		return errors.Join(errs...)
	})
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

// removeWaiting is [Cache.remove] in the caller's goroutine, returning the
// backend's errors: it pops the entry stored under the URI key key and
// the partitions its index lists. Partition stores take the URI's lock
// first, so none lands unlisted while it runs. An index that lists a key of
// another URI is corrupt; such a key is left alone.
func (c *Cache) removeWaiting(ctx context.Context, key string) error {
	unlock := c.keys.lock(key)
	defer unlock()
	old, err := c.popWaiting(ctx, key)
	if old == nil {
		return err
	}
	var errs []error
	for _, partition := range old.Partitions {
		if uri, ok := splitPartition(partition); ok && uri == key {
			_, err := c.popWaiting(ctx, partition)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// popWaiting is [Cache.pop], returning the backend's error.
func (c *Cache) popWaiting(ctx context.Context, key string) (*Entry, error) {
	callCtx, cancel := c.callContext(ctx, "pop")
	defer cancel()
	old, err := c.backend.Pop(callCtx, key)
	if err != nil {
		c.report("pop", key, err)
		return nil, fmt.Errorf("acache: removing %q: %w", key, err)
	}
	if old != nil {
		c.usage.removed(old.Size())
	}
	return old, nil
}

// Clear removes every entry the backend holds, with PopOldest, and waits for
// it. Nothing it removes counts as an eviction in [Stats], and it changes
// nothing else (counters, options, background work).
//
// Clear removes what the backend holds, whoever stored it: on a backend
// shared by processes (such as rediscache) it clears what every process
// stored, and on an [LRU] shared by several Caches what each of them stored.
// It pops at most twice as many entries as the backend held when it began,
// so that stores made meanwhile cannot keep it going: some of them may stay.
// When ctx is done first, Clear stops and returns its error; what it
// removed stays removed.
func (c *Cache) Clear(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	return c.await(ctx, "clear", func() error {
		callCtx, cancel := c.callContext(ctx, "len")
		n, err := c.backend.Len(callCtx)
		cancel()
		if err != nil {
			c.report("len", "", err)
			return fmt.Errorf("acache: clear: %w", err)
		}
		for range 2*n + 1 { // +1: to see that it is empty
			if err := ctx.Err(); err != nil {
				return context.Cause(ctx)
			}
			callCtx, cancel := c.callContext(ctx, "pop oldest")
			key, old, err := c.backend.PopOldest(callCtx)
			cancel()
			if err != nil {
				c.report("pop oldest", key, err)
				return fmt.Errorf("acache: clear: %w", err)
			}
			if old == nil {
				c.usage.emptied()
				return nil
			}
			c.usage.removed(old.Size())
			// Partitions go with their index at once, so that none is left
			// unlisted if Clear stops early.
			for _, partition := range old.Partitions {
				if uri, ok := splitPartition(partition); ok && uri == key {
					if _, err := c.popWaiting(ctx, partition); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// StoredResponse describes one response a [Cache] holds for a URL, as
// [Cache.Stored] lists it. It holds copies: changing it changes nothing
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
	// Stored is when the response was received ("response_time" in
	// [RFC 9111 Section 4.2.3]), or last freshened by a 304.
	//
	// [RFC 9111 Section 4.2.3]: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.3
	Stored time.Time
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

// Stored lists the responses the Cache holds for the URL rawURL, for GET and
// HEAD: each variant selected by Vary, then those stored for each user
// (Partitioned), as [Cache.Purge] would remove them. It reads the backend
// and changes nothing, except that it removes an entry that fails
// validation, as a lookup does; it never lists a response stored for
// another URL. A URL with nothing stored has an empty list.
//
// Stored returns an error for a URL it cannot parse or that the cache never
// stores, for a backend error, and when ctx is done first.
func (c *Cache) Stored(ctx context.Context, rawURL string) ([]StoredResponse, error) {
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
			index, err := c.storedEntry(ctx, uri)
			if err != nil {
				return err
			}
			if index == nil {
				continue
			}
			list = c.appendStored(list, index, false, now)
			for _, key := range index.Partitions { // validated: partitions of uri
				e, err := c.storedEntry(ctx, key)
				if err != nil {
					return err
				}
				if e != nil {
					list = c.appendStored(list, e, true, now)
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

// appendStored appends the responses of e, stored under a partition or not,
// to list.
func (c *Cache) appendStored(list []StoredResponse, e *Entry, partitioned bool, now time.Time) []StoredResponse {
	method, _, _ := strings.Cut(e.Key, " ")
	for v := range e.responses() {
		m := c.metaOf(v)
		list = append(list, StoredResponse{
			Method:      method,
			StatusCode:  v.StatusCode,
			Header:      v.Header.Clone(),
			VaryHeader:  redactedVaryHeader(v.VaryHeader),
			Partitioned: partitioned || v.Credentials != "",
			Stored:      v.ResponseTime,
			TTL:         policy.TTL(m.Lifetime, policy.CurrentAge(&m.Facts, v.ResponseTime, now)),
			Size:        v.ownSize(),
		})
	}
	return list
}

// storedEntry is [Cache.lookup] for Stored: the entry stored under key,
// including an index with no response of its own, validated as lookup
// validates it (a bad entry is reported, removed and read as nothing), with
// the backend's error returned rather than read as a miss.
func (c *Cache) storedEntry(ctx context.Context, key string) (*Entry, error) {
	callCtx, cancel := c.callContext(ctx, "get")
	e, err := c.backend.Get(callCtx, key)
	cancel()
	switch {
	case errors.Is(err, ErrCorruptEntry):
		c.report("get", key, err)
		c.remove(ctx, nil, key)
		return nil, nil
	case err != nil:
		c.report("get", key, err)
		return nil, fmt.Errorf("acache: reading %q: %w", key, err)
	case e == nil:
		return nil, nil
	case e.Key != key:
		err = fmt.Errorf("%w: stored under %q", ErrCorruptEntry, e.Key)
	case !c.derivedHere(e):
		err = c.validEntry(e)
	}
	if err != nil {
		c.report("get", key, err)
		c.remove(ctx, nil, key)
		return nil, nil
	}
	return e, nil
}

// await runs job, which calls the backend, and waits until it returns or ctx
// is done. Over the LRU, which never blocks, job runs in the caller's
// goroutine; over any other backend it runs in a goroutine of its own, which
// holds one of the Cache's backend job slots (see [Cache.detached]), so that
// a backend that ignores its contexts cannot hold the caller past ctx. Unlike
// detached, the wait is not bounded by the backend timeout: job may make many
// calls, each of which is. A panic in job is reported and returned as an
// error.
func (c *Cache) await(ctx context.Context, op string, job func() error) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if c.direct {
		return c.guarded(op, job)
	}
	select {
	case c.jobs <- struct{}{}:
	default:
		c.report(op, "", errBackendBusy)
		return errBackendBusy
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-c.jobs }()
		done <- c.guarded(op, job)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done: // it finished as ctx ended
			return err
		default:
			return context.Cause(ctx)
		}
	}
}

// guarded runs job, turning a panic into a reported failure of op and an
// error.
func (c *Cache) guarded(op string, job func() error) (err error) {
	var failed bool
	defer func() {
		if failed {
			err = fmt.Errorf("acache: %s: panic in the cache or its backend", op)
		}
	}()
	defer c.recovered(op, &failed)
	return job()
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
