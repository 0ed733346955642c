package rediscache

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// The first stores of different users' copies of one URL race from two
// Caches in two processes (two clients), then one Cache purges the URL, and
// later a POST through the other invalidates it: no copy is servable after
// either. Over the Store without Commit, each Cache kept the URL's index in
// an entry it read, changed and wrote back: racing stores lost members of
// it, and those copies outlived the Purge.
func TestRacingUsersThenInvalidation(t *testing.T) {
	for _, shards := range []int{1, 3} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			racingUsers(t, shards)
		})
	}
}

func racingUsers(t *testing.T, shards int) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, "for ", r.Header.Get("Authorization"))
	}))
	t.Cleanup(o.Close)
	addr := redisAddr(t)
	secret := []byte("one secret for the fleet")
	var transports []*acache.Transport
	var caches []*acache.Cache
	var prefix string
	for i := range 2 {
		client := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		if i == 0 {
			prefix = newPrefix(t, client)
		}
		store := New(client, WithPrefix(prefix), WithShards(shards))
		cache := acache.NewCache(store, acache.WithPartitionSecret(secret), acache.WithBackendTimeout(10*time.Second))
		transport := acache.NewTransport(cache)
		t.Cleanup(func() {
			transport.Close()
			store.Close()
		})
		caches, transports = append(caches, cache), append(transports, transport)
	}
	users := make([]string, 24)
	for i := range users {
		users[i] = fmt.Sprint("user-", i)
	}
	url := o.URL + "/shared"
	for round := range 3 {
		raceUsers(t, transports, url, users)
		require.NoError(t, caches[1].Purge(t.Context(), url))
		assertNoCopy(t, transports, url, users, fmt.Sprintf("round %d: Purge", round))
		raceUsers(t, transports, url, users)
		resp := userGet(t, transports[0], http.MethodPost, url, "someone", false)
		require.NotNil(t, resp)
		resp.Body.Close()
		assertNoCopy(t, transports, url, users, fmt.Sprintf("round %d: a POST", round))
	}
}

// raceUsers has every user GET url at once, through the transports in
// turn, and checks that each user's copy is then served.
func raceUsers(t *testing.T, transports []*acache.Transport, url string, users []string) {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, user := range users {
		wg.Go(func() {
			<-start
			if resp := userGet(t, transports[i%len(transports)], http.MethodGet, url, user, false); resp != nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	close(start)
	wg.Wait()
	for _, user := range users {
		resp := userGet(t, transports[1], http.MethodGet, url, user, true)
		require.NotNil(t, resp, "%s's copy is not served once stored", user)
		resp.Body.Close()
	}
}

// assertNoCopy checks that no transport serves any user's copy of url.
func assertNoCopy(t *testing.T, transports []*acache.Transport, url string, users []string, after string) {
	t.Helper()
	for i, tr := range transports {
		for _, user := range users {
			if resp := userGet(t, tr, http.MethodGet, url, user, true); resp != nil {
				resp.Body.Close()
				t.Errorf("after %s, Cache %d still serves %s's copy", after, i, user)
			}
		}
	}
}

// userGet sends a request for url as user through tr and returns the
// response, or nil when onlyCached and nothing stored matches
// (acache.ErrNotCached). Any other error fails t.
func userGet(t *testing.T, tr http.RoundTripper, method, url, user string, onlyCached bool) *http.Response {
	t.Helper()
	ctx := t.Context()
	if onlyCached {
		ctx = acache.WithControl(ctx, acache.Control{Mode: acache.ModeOnlyIfCached})
	}
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+user)
	resp, err := tr.RoundTrip(req)
	if onlyCached && err != nil {
		require.ErrorIs(t, err, acache.ErrNotCached)
		return nil
	}
	require.NoError(t, err)
	return resp
}
