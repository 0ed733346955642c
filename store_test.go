package acache

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lenHookBackend is an LRU whose Len runs hook once, after it has counted:
// what a store landing while another counts looks like.
type lenHookBackend struct {
	Backend
	hooked atomic.Bool
	hook   func()
}

func (b *lenHookBackend) Len(ctx context.Context) (int, error) {
	n, err := b.Backend.Len(ctx)
	if b.hook != nil && b.hooked.CompareAndSwap(false, true) {
		b.hook()
	}
	return n, err
}

// A store that lands while another store counts the entries is counted:
// the second store makes room for it, and the Cache never holds more than
// WithMaxEntries.
func TestStoreCountsAStoreThatLandsWhileItCounts(t *testing.T) {
	t.Parallel()
	o := newOrigin(t, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "body of "+r.URL.Path)
	})
	backend := &lenHookBackend{Backend: NewLRU()}
	tr := &Transport{Transport: unclosable{testInner}, Cache: NewCache(backend, WithMaxEntries(2))}
	defer tr.Close()
	fetch(t, tr, http.MethodGet, o.URL+"/x", nil) // 1 entry
	backend.hook = func() {
		fetch(t, tr, http.MethodGet, o.URL+"/b", nil) // lands while /a's store counts 1
	}
	fetch(t, tr, http.MethodGet, o.URL+"/a", nil)
	waitInFlight(t, tr.Cache)
	n, err := backend.Len(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, n, "entries held with WithMaxEntries(2)")
	assert.EqualValues(t, 1, tr.Cache.Stats().Evictions, "the store of /a made room for /b's")
}
