package otelacache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/otelacache"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A Cache reports through Metrics made before it: the Cache takes the
// backend observer, then Observe registers the callback that reads its
// Stats at each collection. A manual reader stands here for an exporter.
func Example() {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	m, err := otelacache.New(otelacache.WithMeterProvider(provider), otelacache.WithCacheName("images"))
	if err != nil {
		fmt.Println(err)
		return
	}
	cache := acache.NewCache(nil, m.BackendObserver())
	defer cache.Close()
	if err := m.Observe(cache); err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "a picture")
	}))
	defer origin.Close()
	client := &http.Client{Transport: acache.NewTransport(cache)}
	for range 3 {
		resp, err := client.Get(origin.URL + "/cat.png")
		if err != nil {
			fmt.Println(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		fmt.Println(err)
		return
	}
	for _, sm := range rm.ScopeMetrics {
		for _, metric := range sm.Metrics {
			if metric.Name != "acache.requests" {
				continue
			}
			for _, p := range metric.Data.(metricdata.Sum[int64]).DataPoints {
				if outcome, _ := p.Attributes.Value("acache.outcome"); p.Value > 0 {
					name, _ := p.Attributes.Value("acache.name")
					fmt.Printf("%s{%s, %s} %d\n", metric.Name, name.Emit(), outcome.Emit(), p.Value)
				}
			}
		}
	}
	// Unordered output:
	// acache.requests{images, hit} 2
	// acache.requests{images, miss} 1
}
