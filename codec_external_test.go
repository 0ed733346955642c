package acache_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
)

// bytesBackend keeps entries as their durable encoding, as a disk or Redis
// backend does, over an LRU that orders the keys. One mutex makes each
// method atomic.
type bytesBackend struct {
	mu    sync.Mutex
	order acache.Backend // an LRU of empty Entries, one per key, for the recency order
	data  map[string][]byte
}

func newBytesBackend() *bytesBackend {
	return &bytesBackend{order: acache.NewLRU(), data: map[string][]byte{}}
}

// decode decodes what is stored under key; b.mu is held.
func (b *bytesBackend) decode(key string) (*acache.Entry, error) {
	data, ok := b.data[key]
	if !ok {
		return nil, nil
	}
	e := new(acache.Entry)
	if err := e.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return e, nil
}

func (b *bytesBackend) Contains(ctx context.Context, key string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.order.Contains(ctx, key)
}

func (b *bytesBackend) Len(ctx context.Context) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.order.Len(ctx)
}

func (b *bytesBackend) Get(_ context.Context, key string) (*acache.Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.decode(key)
}

func (b *bytesBackend) Set(ctx context.Context, key string, e *acache.Entry) error {
	data, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data[key] = data
	return b.order.Set(ctx, key, &acache.Entry{})
}

func (b *bytesBackend) Pop(ctx context.Context, key string) (*acache.Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := b.decode(key)
	delete(b.data, key)
	b.order.Pop(ctx, key)
	return e, err
}

func (b *bytesBackend) PopOldest(ctx context.Context) (string, *acache.Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key, _, _ := b.order.PopOldest(ctx)
	if key == "" {
		return "", nil, nil
	}
	e, err := b.decode(key)
	delete(b.data, key)
	return key, e, err
}

func (b *bytesBackend) MoveToEnd(ctx context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.order.MoveToEnd(ctx, key)
}

func TestEntryEncodingPassesTheBackendConformanceSuite(t *testing.T) {
	acachetest.TestBackend(t, func(*testing.T) acache.Backend { return newBytesBackend() })
}

func TestEntryEncodingCorruptBytesAreAMissThatRemovesThem(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprint(w, "hello")
	})
	backend := newBytesBackend()
	cache := acache.NewCache(backend)
	tr := &acache.Transport{Transport: newInner(t), Cache: cache}
	fetchVia(t, tr, origin.URL, nil)
	resp, _ := fetchVia(t, tr, origin.URL, nil)
	require.True(t, hit(resp), "served from the decoded entry")

	backend.mu.Lock()
	for key, data := range backend.data {
		data[len(data)/2] ^= 0x01 // a bit flipped on disk
		backend.data[key] = data
	}
	backend.mu.Unlock()
	resp, body := fetchVia(t, tr, origin.URL, nil)
	assert.False(t, hit(resp), "bytes that fail their checksum were served")
	assert.Equal(t, "hello", body)
	assert.Positive(t, cache.Stats().Errors, "the corrupt entry is reported")
	resp, _ = fetchVia(t, tr, origin.URL, nil)
	assert.True(t, hit(resp), "the corrupt entry was replaced by the origin's response")
}
