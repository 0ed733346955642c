package benchmarks

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/diskcache"
	"github.com/acachecontrol/acache/rediscache"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/gregjones/httpcache"
	gjdisk "github.com/gregjones/httpcache/diskcache"
	gjredis "github.com/gregjones/httpcache/redis"
	goredis "github.com/redis/go-redis/v9"
)

// implementation is one cache under measure: a name for the benchmark
// (impl=name, so that benchstat -col /impl sets them side by side) and a
// constructor of a fresh client transport over inner.
type implementation struct {
	name string
	// serial marks an implementation that is not safe for concurrent use
	// (gregjones's redis backend shares one connection): the parallel
	// benchmarks leave it out.
	serial bool
	// inMemory marks an implementation that keeps its entries in the
	// process's heap, which BenchmarkHeapPerEntry measures.
	inMemory bool
	new      func(tb testing.TB, inner http.RoundTripper) http.RoundTripper
}

// implementations returns every implementation this machine can run: the
// Redis ones only when ACACHE_REDIS_ADDR names a server.
func implementations(tb testing.TB) []implementation {
	impls := []implementation{
		{name: "floor", inMemory: true, new: newFloor},
		{name: "acache-lru", inMemory: true, new: newAcacheLRU},
		{name: "acache-disk", new: newAcacheDisk},
		{name: "gregjones-memory", inMemory: true, new: newGregjonesMemory},
		{name: "gregjones-disk", new: newGregjonesDisk},
	}
	if redisAddr() != "" {
		impls = append(impls,
			implementation{name: "acache-redis", new: newAcacheRedis},
			implementation{name: "gregjones-redis", serial: true, new: newGregjonesRedis},
		)
	}
	return impls
}

// redisAddr returns the address of the Redis server the Redis rows use.
func redisAddr() string { return os.Getenv("ACACHE_REDIS_ADDR") }

// bigLimits lets acache hold every response a benchmark stores, as the
// other implementations (unbounded) do.
var bigLimits = []acache.Option{
	acache.WithMaxEntries(10_000_000),
	acache.WithMaxBytes(8 << 30),
}

func newAcacheLRU(tb testing.TB, inner http.RoundTripper) http.RoundTripper {
	return &acache.Transport{Transport: inner, Cache: acache.NewCache(nil, bigLimits...)}
}

func newAcacheDisk(tb testing.TB, inner http.RoundTripper) http.RoundTripper {
	store, err := diskcache.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return &acache.Transport{Transport: inner, Cache: acache.NewCache(store, bigLimits...)}
}

func newAcacheRedis(tb testing.TB, inner http.RoundTripper) http.RoundTripper {
	// As rediscache's documentation advises: the client keeps its contexts'
	// deadlines, so the Cache calls it on the request's goroutine.
	client := goredis.NewClient(&goredis.Options{Addr: redisAddr(), ContextTimeoutEnabled: true})
	prefix := "acache-bench-" + randomName()
	store := rediscache.New(client, rediscache.WithPrefix(prefix))
	tb.Cleanup(func() {
		store.Close()
		deleteRedisKeys(tb, "*"+prefix+"*")
		client.Close()
	})
	return &acache.Transport{Transport: inner, Cache: acache.NewCache(store, bigLimits...)}
}

func newGregjonesMemory(tb testing.TB, inner http.RoundTripper) http.RoundTripper {
	t := httpcache.NewMemoryCacheTransport()
	t.Transport = inner
	return t
}

func newGregjonesDisk(tb testing.TB, inner http.RoundTripper) http.RoundTripper {
	t := httpcache.NewTransport(gjdisk.New(tb.TempDir()))
	t.Transport = inner
	return t
}

func newGregjonesRedis(tb testing.TB, inner http.RoundTripper) http.RoundTripper {
	conn, err := redigo.Dial("tcp", redisAddr())
	if err != nil {
		tb.Fatal(err)
	}
	// gregjones's redis backend keys by "rediscache:" + URL, in one
	// database: a fresh prefix is not possible, so its keys are deleted.
	tb.Cleanup(func() {
		deleteRedisKeys(tb, "rediscache:*")
		conn.Close()
	})
	t := httpcache.NewTransport(gjredis.NewWithClient(conn))
	t.Transport = inner
	return t
}

// floor is the least any cache can do on a hit: a map of prebuilt responses
// behind a RWMutex, the header cloned and the body wrapped per hit, with no
// policy at all (no freshness, no Vary, no limits). A response stored with
// max-age=0 is revalidated on every request with its ETag, and a 304 serves
// the prebuilt one: the least a revalidation costs.
type floor struct {
	inner http.RoundTripper
	mu    sync.RWMutex
	m     map[string]*prebuilt
}

type prebuilt struct {
	status     int
	header     http.Header
	body       []byte
	revalidate bool // stored with max-age=0
}

func newFloor(tb testing.TB, inner http.RoundTripper) http.RoundTripper {
	return &floor{inner: inner, m: map[string]*prebuilt{}}
}

func (f *floor) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.URL.String()
	f.mu.RLock()
	p := f.m[key]
	f.mu.RUnlock()
	if p != nil && p.revalidate {
		out := req.Clone(req.Context())
		out.Header.Set("If-None-Match", p.header.Get("Etag"))
		resp, err := f.inner.RoundTrip(out)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			p = nil // changed: fetched again below
		}
	}
	if p == nil {
		resp, err := f.inner.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		p = &prebuilt{status: resp.StatusCode, header: resp.Header, body: body,
			revalidate: resp.Header.Get("Cache-Control") == "max-age=0"}
		f.mu.Lock()
		f.m[key] = p
		f.mu.Unlock()
	}
	return &http.Response{
		Status:        http.StatusText(p.status),
		StatusCode:    p.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        p.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(p.body)),
		ContentLength: int64(len(p.body)),
		Request:       req,
	}, nil
}
