package acache

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failingGets is an LRU whose Get fails while fail is set.
type failingGets struct {
	*LRU
	fail atomic.Bool
}

var errGetFailed = errors.New("get failed")

func (b *failingGets) Get(ctx context.Context, key string) (*Entry, error) {
	if b.fail.Load() {
		return nil, errGetFailed
	}
	return b.LRU.Get(ctx, key)
}

func TestCacheStatsAndLogger(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, strings.Repeat("z", 100))
	})
	var logs logBuffer
	backend := &failingGets{LRU: NewLRU()}
	c := NewCache(backend, WithClock(clock.Now), WithLogger(logs.logger()))
	tr := NewTransport(c)
	for range 3 {
		fetch(t, tr, "GET", o.URL, nil)
	}
	s := c.Stats()
	assert.EqualValues(t, 2, s.Hits)
	assert.EqualValues(t, 1, s.Misses)
	assert.EqualValues(t, 1, s.Stores)
	assert.Zero(t, s.Errors)
	n, _ := c.backend.Len(context.Background())
	assert.Equal(t, 1, n)
	assert.Greater(t, s.Bytes, int64(100))
	assert.Empty(t, logs.records(t), "the Cache logged a failure although it recovered from none")

	// A backend failure is recovered from: the origin answers, and the
	// failure is counted and logged with what failed.
	backend.fail.Store(true)
	resp, body := fetch(t, tr, "GET", o.URL, nil)
	assert.False(t, isHit(resp), "a failed lookup is a miss")
	assert.Equal(t, strings.Repeat("z", 100), body, "the origin's body after a failed lookup")
	assert.EqualValues(t, 1, c.Stats().Errors, "the failed Get is counted")
	req, err := http.NewRequest("GET", o.URL, nil)
	require.NoError(t, err)
	logged := logs.records(t)
	require.Len(t, logged, 1, "one failure, one log record")
	r := logged[0]
	assert.Equal(t, "WARN", r["level"], "level")
	assert.Equal(t, "acache: cache failure, using the origin", r["msg"], "message")
	assert.Equal(t, "get", r["op"], "the log record must say which backend operation failed")
	assert.Equal(t, c.key(req), r["key"], "the log record must say which key")
	assert.Equal(t, errGetFailed.Error(), r["err"], "the log record must carry the backend's error")
}
