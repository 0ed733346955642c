package otelacache_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/otelacache"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// servePrometheus makes a Cache named name over backend (nil: the
// in-memory LRU) whose metrics Prometheus scrapes: an OpenTelemetry
// MeterProvider read by the Prometheus exporter, which fills a registry
// of its own, served by promhttp on /metrics. It returns the Cache, the
// /metrics server, and the function that closes them.
func servePrometheus(backend acache.Backend, name string) (*acache.Cache, *httptest.Server, func(), error) {
	registry := prometheus.NewRegistry()
	// WithoutScopeInfo leaves the otel_scope_* labels out of each series.
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, nil, nil, err
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))

	m, err := otelacache.New(otelacache.WithMeterProvider(provider), otelacache.WithCacheName(name))
	if err != nil {
		return nil, nil, nil, errors.Join(err, provider.Shutdown(context.Background()))
	}
	cache := acache.NewCache(backend, m.BackendObserver())
	if err := m.Observe(cache); err != nil {
		return nil, nil, nil, errors.Join(err, cache.Close(), provider.Shutdown(context.Background()))
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	server := httptest.NewServer(mux) // in a program: http.ListenAndServe(":9090", mux)
	return cache, server, func() {
		server.Close()
		m.Close()
		cache.Close()
		provider.Shutdown(context.Background())
	}, nil
}

// The Prometheus exporter of OpenTelemetry serves a Cache's metrics on
// /metrics: acache.requests becomes acache_requests_total, with a series
// per outcome.
func Example_prometheus() {
	cache, metrics, closeAll, err := servePrometheus(nil, "images")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeAll()

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
		io.Copy(io.Discard, resp.Body) // the Cache stores a body once it is read
		resp.Body.Close()
	}

	resp, err := http.Get(metrics.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	for lines := bufio.NewScanner(resp.Body); lines.Scan(); {
		if strings.HasPrefix(lines.Text(), "acache_requests_total") || strings.HasPrefix(lines.Text(), "acache_stored_count") {
			fmt.Println(lines.Text())
		}
	}
	// Output:
	// acache_requests_total{acache_name="images",acache_outcome="bypass"} 0
	// acache_requests_total{acache_name="images",acache_outcome="collapsed"} 0
	// acache_requests_total{acache_name="images",acache_outcome="hit"} 2
	// acache_requests_total{acache_name="images",acache_outcome="miss"} 1
	// acache_requests_total{acache_name="images",acache_outcome="revalidated"} 0
	// acache_requests_total{acache_name="images",acache_outcome="stale"} 0
	// acache_stored_count{acache_name="images"} 1
}
