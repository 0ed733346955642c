package httpcache_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/httpcache"
)

// Whatever bytes a store holds under a key's digest (another program's,
// gregjones/httpcache's, damaged ones), NewBackend returns the key's own
// entry, nothing, or an error wrapping acache.ErrCorruptEntry, never
// another key's entry, and never panics.
func FuzzNewBackendReadsWhatAStoreHolds(f *testing.F) {
	entry := &acache.Entry{Key: "GET http://example.com/", StatusCode: http.StatusOK,
		Header: http.Header{"Cache-Control": {"max-age=60"}}, Body: []byte("hello")}
	encoded, err := entry.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(encoded, entry.Key)
	f.Add(encoded, "GET http://example.com/other")
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), entry.Key)
	f.Add(encoded[:len(encoded)-1], entry.Key)
	f.Fuzz(func(t *testing.T, stored []byte, key string) {
		if key == "" {
			return
		}
		store := newMapCache()
		sum := sha256.Sum256([]byte(key))
		store.m[hex.EncodeToString(sum[:])] = stored
		backend := httpcache.NewBackend(store)
		e, err := backend.Get(context.Background(), key)
		switch {
		case err != nil:
			if !errors.Is(err, acache.ErrCorruptEntry) {
				t.Fatalf("an error that is not ErrCorruptEntry: %v", err)
			}
		case e != nil && e.Key != key:
			t.Fatalf("the entry of %q served for %q", e.Key, key)
		}
		if _, err := backend.Pop(context.Background(), key); err != nil {
			t.Fatalf("Pop: %v", err)
		}
		if n, _ := backend.Len(context.Background()); n != 0 {
			t.Fatalf("%d entries after Pop", n)
		}
	})
}

// digest matches the keys a Transport gives a Cache.
var digest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// MemoryCache.Set takes any bytes under any key without panicking: under
// a digest, the key a Transport gives any Cache, Get returns them as they
// were set; under gregjones/httpcache's keys, what Get returns reads as a
// response.
func FuzzMemoryCacheSet(f *testing.F) {
	f.Add("http://example.com/a", []byte("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add("GET http://example.com/a", []byte("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add("HEAD http://example.com/a", []byte("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n\r\n"))
	f.Add("http://example.com/a", []byte("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 1\r\n\r\nx"))
	f.Add("/relative", []byte("HTTP/1.1 200 OK\r\n\r\n"))
	f.Add("0000000000000000000000000000000000000000000000000000000000000000", []byte("0"))
	f.Fuzz(func(t *testing.T, key string, response []byte) {
		cache := httpcache.NewMemoryCache()
		defer cache.Cache().Close()
		cache.Set(key, response)
		stored, ok := cache.Get(key)
		if digest.MatchString(key) {
			if !ok || !bytes.Equal(stored, response) {
				t.Fatalf("under a digest, Get returned %q, %v after Set of %q", stored, ok, response)
			}
			return
		}
		if !ok {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(stored)), nil)
		if err != nil {
			t.Fatalf("Get returned bytes that are not a response: %v\n%q", err, stored)
		}
		resp.Body.Close()
	})
}
