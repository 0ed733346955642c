package diskcache

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Caches over Stores opened on one directory behave as one cache.
func TestFleetOfStoresOnOneDirectory(t *testing.T) {
	acachetest.TestFleet(t, func(t *testing.T, n int) []acache.Backend {
		dir := t.TempDir()
		backends := make([]acache.Backend, n)
		for i := range backends {
			backends[i] = openDir(t, dir)
		}
		return backends
	})
}

// fleetSecret is the partition secret of the Caches of TestTwoCachesRacing.
var fleetSecret = []byte("diskcache test partition secret")

// Two Caches over two Stores of one directory store the first copies of
// one URL for many users at once, then one purges the URL, and later the
// other sends it a POST: after each, no user's copy is served by either.
// Before the Store was an acache.Committer, each Cache listed its users'
// copies in an index entry under the URI's key that it read, replaced and
// stored again, holding a lock of its own: the other Cache's store came in
// between and undid it, and the copies it dropped from the index outlived
// the Purge and the POST.
func TestTwoCachesRacingFirstStoresThenInvalidation(t *testing.T) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, "for ", r.Header.Get("Authorization"))
	}))
	t.Cleanup(o.Close)
	dir := t.TempDir()
	var transports []*acache.Transport
	var caches []*acache.Cache
	for range 2 {
		c := acache.NewCache(openDir(t, dir), acache.WithPartitionSecret(fleetSecret),
			acache.WithBackendTimeout(liveness))
		tr := acache.NewTransport(c)
		t.Cleanup(func() { tr.Close() })
		caches, transports = append(caches, c), append(transports, tr)
	}
	url := o.URL + "/shared"
	users := make([]string, 24)
	for i := range users {
		users[i] = fmt.Sprint("user-", i)
	}
	for round := range 3 {
		storeRacing(t, transports, url, users)
		switch round % 2 {
		case 0:
			require.NoError(t, caches[round%2].Purge(t.Context(), url))
		default:
			_, _, err := send(t, transports[round%2], http.MethodPost, url, "someone", false)
			require.NoError(t, err, "POST")
		}
		for i, tr := range transports {
			for _, user := range users {
				_, served, err := send(t, tr, http.MethodGet, url, user, true)
				require.NoError(t, err)
				assert.False(t, served, "round %d: after the %s, Cache %d still serves %s's copy",
					round, []string{"Purge", "POST"}[round%2], i, user)
			}
		}
	}
}

// storeRacing requests url for every user at once, alternating between
// transports, and waits until every user's copy is served from the cache.
func storeRacing(t *testing.T, transports []*acache.Transport, url string, users []string) {
	t.Helper()
	var wg sync.WaitGroup
	for i, user := range users {
		wg.Go(func() {
			_, _, err := send(t, transports[i%len(transports)], http.MethodGet, url, user, false)
			assert.NoError(t, err, "GET as %s", user)
		})
	}
	wg.Wait()
	for _, user := range users {
		require.Eventually(t, func() bool {
			body, served, err := send(t, transports[0], http.MethodGet, url, user, true)
			return err == nil && served && body == "for Bearer "+user
		}, liveness, 5*time.Millisecond, "%s's copy is not served after it was stored", user)
	}
}

// send sends a request as user (an Authorization field) through tr. With
// onlyCached the request may not reach the origin, and served reports
// whether a stored response answered it; without, it reports a hit.
func send(t *testing.T, tr *acache.Transport, method, url, user string, onlyCached bool) (body string, served bool, err error) {
	t.Helper()
	ctx := t.Context()
	if onlyCached {
		ctx = acache.WithControl(ctx, acache.Control{Mode: acache.ModeOnlyIfCached})
	}
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+user)
	resp, err := tr.RoundTrip(req)
	if errors.Is(err, acache.ErrNotCached) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	status, _ := acache.CacheStatusOf(resp)
	return string(b), onlyCached || status.Hit, err
}
