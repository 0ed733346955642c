package otelacache_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/otelacache"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// scope is the instrumentation scope otelacache's meter has.
const scope = "github.com/acachecontrol/acache/otelacache"

// origin is an httptest server that counts the requests it answers.
type origin struct {
	*httptest.Server
	hits atomic.Int64
}

// newOrigin starts an origin answering with handler, closed at the end of
// the test.
func newOrigin(t *testing.T, handler http.HandlerFunc) *origin {
	t.Helper()
	o := new(origin)
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		handler(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

// client returns a client caching through c, whose idle connections are
// closed at the end of the test.
func client(t *testing.T, c *acache.Cache) *http.Client {
	t.Helper()
	tr := acache.NewTransport(c)
	tr.Transport = &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// do sends a request with method and the header fields of kv (name,
// value, ...) to url, reads the body and returns the response's
// Cache-Status field.
func do(t *testing.T, cl *http.Client, method, url string, kv ...string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := cl.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	return resp.Header.Get("Cache-Status")
}

// get sends a GET to url and reads the body, off the test's goroutine.
func get(cl *http.Client, url string) error {
	resp, err := cl.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// newMetrics returns Metrics over a new MeterProvider read by a manual
// reader, and the reader. The provider shuts down at the end of the test.
func newMetrics(t *testing.T, opts ...otelacache.Option) (*otelacache.Metrics, *sdkmetric.ManualReader) {
	t.Helper()
	reader, mp := newProvider(t)
	m, err := otelacache.New(append([]otelacache.Option{otelacache.WithMeterProvider(mp)}, opts...)...)
	require.NoError(t, err)
	return m, reader
}

// newProvider returns a new MeterProvider read by a manual reader, and
// the reader. The provider shuts down at the end of the test.
func newProvider(t *testing.T) (*sdkmetric.ManualReader, *sdkmetric.MeterProvider) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { require.NoError(t, mp.Shutdown(context.Background())) })
	return reader, mp
}

// collected is one collection of otelacache's metrics, by name.
type collected map[string]metricdata.Metrics

// collect collects the metrics of reader, those of otelacache's scope.
func collect(t *testing.T, reader *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	got := make(collected)
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != scope {
			continue
		}
		for _, m := range sm.Metrics {
			got[m.Name] = m
		}
	}
	return got
}

// sum returns the int64 sum or gauge of the data point of name whose
// attributes are exactly attrs, and whether there is one.
func (c collected) sum(name string, attrs ...attribute.KeyValue) (int64, bool) {
	want := attribute.NewSet(attrs...)
	var points []metricdata.DataPoint[int64]
	switch data := c[name].Data.(type) {
	case metricdata.Sum[int64]:
		points = data.DataPoints
	case metricdata.Gauge[int64]:
		points = data.DataPoints
	}
	for _, p := range points {
		if p.Attributes.Equals(&want) {
			return p.Value, true
		}
	}
	return 0, false
}

// points returns the number of data points of name.
func (c collected) points(name string) int {
	switch data := c[name].Data.(type) {
	case metricdata.Sum[int64]:
		return len(data.DataPoints)
	case metricdata.Gauge[int64]:
		return len(data.DataPoints)
	case metricdata.Histogram[float64]:
		return len(data.DataPoints)
	}
	return 0
}

// histogram returns the data point of the float64 histogram name whose
// attributes are exactly attrs, and whether there is one.
func (c collected) histogram(name string, attrs ...attribute.KeyValue) (metricdata.HistogramDataPoint[float64], bool) {
	want := attribute.NewSet(attrs...)
	data, _ := c[name].Data.(metricdata.Histogram[float64])
	for _, p := range data.DataPoints {
		if p.Attributes.Equals(&want) {
			return p, true
		}
	}
	return metricdata.HistogramDataPoint[float64]{}, false
}

// String lists every data point, for failure messages.
func (c collected) String() string {
	var s string
	for name, m := range c {
		switch data := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, p := range data.DataPoints {
				s += fmt.Sprintf("%s%v = %d\n", name, p.Attributes.ToSlice(), p.Value)
			}
		case metricdata.Gauge[int64]:
			for _, p := range data.DataPoints {
				s += fmt.Sprintf("%s%v = %d\n", name, p.Attributes.ToSlice(), p.Value)
			}
		case metricdata.Histogram[float64]:
			for _, p := range data.DataPoints {
				s += fmt.Sprintf("%s%v count %d\n", name, p.Attributes.ToSlice(), p.Count)
			}
		}
	}
	return s
}
