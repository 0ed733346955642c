package rediscache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commandLog is a go-redis hook that records the commands a client sends,
// one name per round trip: a script by its name in scriptNames, a pipeline
// as "pipeline".
type commandLog struct {
	mu    sync.Mutex
	names []string
}

// scriptNames names the scripts by their SHA-1, as EVALSHA sends them.
var scriptNames = map[string]string{
	setScript.Hash():       "set",
	popScript.Hash():       "pop",
	popOldestScript.Hash(): "popoldest",
	touchScript.Hash():     "touch",
	commitScript.Hash():    "commit",
	listedScript.Hash():    "listed",

	getOrLeaseScript.Hash():   "lease",
	renewLeaseScript.Hash():   "renew",
	releaseLeaseScript.Hash(): "release",
}

func (l *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		name := cmd.Name()
		if args := cmd.Args(); name == "evalsha" && len(args) > 1 {
			name = scriptNames[fmt.Sprint(args[1])]
		}
		l.add(name)
		return next(ctx, cmd)
	}
}

func (l *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		l.add("pipeline")
		return next(ctx, cmds)
	}
}

func (l *commandLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = append(l.names, name)
}

// take returns the commands recorded since the last take, once want of
// them arrived or a second passed.
func (l *commandLog) take(want int) []string {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		l.mu.Lock()
		n := len(l.names)
		l.mu.Unlock()
		if n >= want {
			break
		}
	}
	time.Sleep(20 * time.Millisecond) // for any more, which would be wrong
	l.mu.Lock()
	defer l.mu.Unlock()
	names := l.names
	l.names = nil
	return names
}

// The round trips each operation of a Cache costs Redis, as the package
// documentation states them: a hit one GET (and a share of a touch batch),
// a miss and a revalidation answered 304 a GET, the script that takes the
// key's lease and one commit (which releases it),
// an unsafe request one pop per URI key it invalidates (and one Size
// pipeline once the Cache stored under a partition).
func TestRoundTrips(t *testing.T) {
	for _, shards := range []int{1, 3} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			roundTrips(t, shards)
		})
	}
}

func roundTrips(t *testing.T, shards int) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.URL.Path == "/stale" {
			w.Header().Set("Cache-Control", "max-age=0")
		} else {
			w.Header().Set("Cache-Control", "max-age=600")
		}
		fmt.Fprint(w, "body of ", r.URL.Path)
	}))
	t.Cleanup(o.Close)
	client := newClient(t)
	log := &commandLog{}
	client.AddHook(log)
	transport, _, _ := newStoreTransport(t, client, shards)
	fetch(t, transport, o.URL+"/warm") // loads the scripts
	fetch(t, transport, o.URL+"/warm")
	log.take(5) // get, lease, commit, get, touch

	fetch(t, transport, o.URL+"/a")
	assert.Equal(t, []string{"get", "lease", "commit"}, log.take(3), "a miss")
	resp, _ := fetch(t, transport, o.URL+"/a")
	require.True(t, hit(resp))
	assert.Equal(t, []string{"get", "touch"}, log.take(2), "a hit, then its touch, batched")
	fetch(t, transport, o.URL+"/stale")
	log.take(3)
	resp, _ = fetch(t, transport, o.URL+"/stale")
	status, _ := acache.CacheStatusOf(resp)
	require.Equal(t, http.StatusNotModified, status.FwdStatus, "not revalidated: %q", resp.Header.Get("Cache-Status"))
	got := log.take(3)
	assert.Equal(t, []string{"get", "lease", "commit"}, slices.DeleteFunc(got, func(n string) bool { return n == "touch" }),
		"a revalidation answered 304")
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, o.URL+"/a", nil)
	require.NoError(t, err)
	resp, err = transport.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []string{"pop", "pop"}, log.take(2), "a POST: the GET and HEAD keys of the URL")

	// Once the Cache stored under a partition, an invalidation counts what
	// the Pops removed with the URI keys' indexes: one Size pipeline.
	userGet(t, transport, http.MethodGet, o.URL+"/p", "alice", false).Body.Close()
	log.take(3) // get, lease, commit
	userGet(t, transport, http.MethodPost, o.URL+"/p", "alice", false).Body.Close()
	got = log.take(3)
	assert.Equal(t, []string{"pop", "pop", "pipeline"}, slices.DeleteFunc(got, func(n string) bool { return n == "touch" }),
		"a POST after a store under a partition: the GET and HEAD keys of the URL, then Size")
}
