// Command consumer is what .ci/run builds outside the repository against
// the modules as a release serves them: from a module proxy, with no
// replace and no go.work, as a user's `go get` resolves them. It caches
// through each backend, through package httpcache, and with otelacache's
// metrics, and checks that the second request is a hit each time.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/diskcache"
	"github.com/acachecontrol/acache/httpcache"
	"github.com/acachecontrol/acache/otelacache"
	"github.com/acachecontrol/acache/rediscache"
	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func main() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello from the origin")
	}))
	defer origin.Close()
	dir, err := os.MkdirTemp("", "acache-consumer")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	disk, err := diskcache.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer disk.Close()
	shared := rediscache.New(redis.NewClient(&redis.Options{Addr: os.Getenv("ACACHE_REDIS_ADDR")}),
		rediscache.WithPrefix(fmt.Sprintf("consumer-%d", os.Getpid())))
	defer shared.Close()
	for name, backend := range map[string]acache.Backend{"memory": nil, "diskcache": disk, "rediscache": shared} {
		client := &http.Client{Transport: acache.NewTransport(acache.NewCache(backend))}
		twice(client, origin.URL+"/"+name, func(resp *http.Response) bool {
			status, _ := acache.CacheStatusOf(resp)
			return status.Hit
		})
		fmt.Printf("consumer: %s: the second request was a hit\n", name)
	}

	twice(httpcache.NewMemoryCacheTransport().Client(), origin.URL+"/httpcache", func(resp *http.Response) bool {
		return resp.Header.Get(httpcache.XFromCache) == "1"
	})
	fmt.Println("consumer: httpcache: the second request was marked X-From-Cache")

	if hits := countedHits(origin.URL + "/otelacache"); hits != 1 {
		log.Fatalf("otelacache: %d hits counted, want 1", hits)
	}
	fmt.Println("consumer: otelacache: the SDK counted the hit")
}

// twice gets url two times through client and fails unless hit reports
// the first response as not from the cache and the second as from it.
func twice(client *http.Client, url string, hit func(*http.Response) bool) {
	for i := range 2 {
		resp, err := client.Get(url)
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if hit(resp) != (i == 1) {
			log.Fatalf("%s: request %d: from the cache=%v, Cache-Status %q", url, i+1, hit(resp), resp.Header["Cache-Status"])
		}
	}
}

// countedHits gets url twice through a Cache whose metrics otelacache
// reports to the OpenTelemetry SDK, and returns the hits the SDK collected.
func countedHits(url string) int64 {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	m, err := otelacache.New(otelacache.WithMeterProvider(provider))
	if err != nil {
		log.Fatal(err)
	}
	cache := acache.NewCache(nil, m.BackendObserver())
	if err := m.Observe(cache); err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	twice(&http.Client{Transport: acache.NewTransport(cache)}, url, func(resp *http.Response) bool {
		status, _ := acache.CacheStatusOf(resp)
		return status.Hit
	})
	var collected metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &collected); err != nil {
		log.Fatal(err)
	}
	for _, scope := range collected.ScopeMetrics {
		for _, metric := range scope.Metrics {
			sum, ok := metric.Data.(metricdata.Sum[int64])
			if metric.Name != "acache.requests" || !ok {
				continue
			}
			for _, point := range sum.DataPoints {
				if outcome, _ := point.Attributes.Value("acache.outcome"); outcome.AsString() == "hit" {
					return point.Value
				}
			}
		}
	}
	return 0
}
