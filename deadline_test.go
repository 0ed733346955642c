package acache_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goroutineID returns the ID of the calling goroutine, as its stack trace
// names it.
func goroutineID() uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(buf[:bytes.IndexByte(buf, ' ')]), 10, 64)
	return id
}

// keeperBackend is a Backend that says whether it keeps its deadlines, and
// records on which goroutine, and under which deadline, its Get and Set
// were called last.
type keeperBackend struct {
	acache.Backend
	keeps              bool
	getOn, setOn       atomic.Uint64
	getTimed, setTimed atomic.Bool
}

func (k *keeperBackend) KeepsDeadlines() bool { return k.keeps }

func (k *keeperBackend) Get(ctx context.Context, key string) (*acache.Entry, error) {
	k.getOn.Store(goroutineID())
	_, timed := ctx.Deadline()
	k.getTimed.Store(timed)
	return k.Backend.Get(ctx, key)
}

func (k *keeperBackend) Set(ctx context.Context, key string, e *acache.Entry) error {
	k.setOn.Store(goroutineID())
	_, timed := ctx.Deadline()
	k.setTimed.Store(timed)
	return k.Backend.Set(ctx, key, e)
}

// A backend that keeps its deadlines (DeadlineKeeper) is called on the
// request's goroutine, under a deadline; any other backend in a goroutine of
// the Cache's, under a deadline too. (A body the cache fills itself, for
// the requests collapsed onto it, is stored from the fill's goroutine: the
// miss here is a no-cache request, which leads no flight.)
func TestDeadlineKeeperIsCalledOnTheRequestsGoroutine(t *testing.T) {
	t.Parallel()
	origin := newCountingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "body of "+r.URL.Path)
	})
	for _, keeps := range []bool{true, false} {
		t.Run(fmt.Sprintf("KeepsDeadlines=%v", keeps), func(t *testing.T) {
			backend := &keeperBackend{Backend: acache.NewLRU(), keeps: keeps}
			tr := &acache.Transport{Transport: newInner(t), Cache: acache.NewCache(backend)}
			t.Cleanup(func() { tr.Close() })
			me := goroutineID()
			url := fmt.Sprintf("%s/keeps-%v", origin.URL, keeps)
			fetchVia(t, tr, url, map[string][]string{"Cache-Control": {"no-cache"}}) // a miss: looked up, then stored as its body is read
			require.NotZero(t, backend.setOn.Load(), "the response was not stored")
			resp, _ := fetchVia(t, tr, url, nil)
			require.True(t, hit(resp))
			assert.Equal(t, keeps, backend.getOn.Load() == me, "the lookup ran on the request's goroutine")
			assert.Equal(t, keeps, backend.setOn.Load() == me, "the store ran on the reader's goroutine")
			assert.True(t, backend.getTimed.Load(), "a lookup without a deadline")
			assert.True(t, backend.setTimed.Load(), "a store without a deadline")
		})
	}
}
