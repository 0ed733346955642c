package otelacache_test

import (
	"math"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// prometheusNames are the documented Prometheus names of the instruments,
// as the OpenTelemetry exporter translates them, and their types.
var prometheusNames = map[string]dto.MetricType{
	"acache_requests_total":           dto.MetricType_COUNTER,
	"acache_refusals_total":           dto.MetricType_COUNTER,
	"acache_stores_total":             dto.MetricType_COUNTER,
	"acache_evictions_total":          dto.MetricType_COUNTER,
	"acache_errors_total":             dto.MetricType_COUNTER,
	"acache_revalidations_total":      dto.MetricType_COUNTER,
	"acache_not_modified_total":       dto.MetricType_COUNTER,
	"acache_bodies_cut_total":         dto.MetricType_COUNTER,
	"acache_stored_count":             dto.MetricType_GAUGE,
	"acache_stored_usage_bytes":       dto.MetricType_GAUGE,
	"acache_in_flight_usage_bytes":    dto.MetricType_GAUGE,
	"acache_breaker_open":             dto.MetricType_GAUGE,
	"acache_breaker_trips_total":      dto.MetricType_COUNTER,
	"acache_breaker_skips_total":      dto.MetricType_COUNTER,
	"acache_backend_calls_total":      dto.MetricType_COUNTER,
	"acache_backend_errors_total":     dto.MetricType_COUNTER,
	"acache_backend_duration_seconds": dto.MetricType_HISTOGRAM,
}

// scrape gets url over HTTP and parses the text exposition format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err, "parsing /metrics")
	return families
}

// value returns the value of the counter or gauge series of family whose
// labels include labels (name, value, ...), and whether there is one.
func value(family *dto.MetricFamily, labels ...string) (float64, bool) {
series:
	for _, m := range family.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}
			if !found {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// Scraped over HTTP from the Prometheus exporter, every documented
// instrument appears under its documented name and type, and the hit
// counter rises by exactly the hits between two scrapes.
func TestPrometheusScrape(t *testing.T) {
	t.Parallel()
	o := scenarioOrigin(t)
	cache, metrics, closeAll, err := servePrometheus(newRemote(), "images")
	require.NoError(t, err)
	defer closeAll()
	cl := client(t, cache)
	do(t, cl, "GET", o.URL+"/cat.png") // a miss, stored
	do(t, cl, "GET", o.URL+"/nostore") // a refusal

	first := scrape(t, metrics.URL+"/metrics")
	for name, typ := range prometheusNames {
		family, ok := first[name]
		if assert.True(t, ok, "%s missing from /metrics", name) {
			assert.Equal(t, typ, family.GetType(), "type of %s", name)
		}
	}
	for name := range first {
		if name != "target_info" {
			assert.Contains(t, prometheusNames, name, "%s on /metrics, not documented", name)
		}
	}
	refused, _ := value(first["acache_refusals_total"], "acache_name", "images", "acache_refusal_reason", "no-store")
	assert.Equal(t, 1.0, refused, `acache_refusals_total{acache_refusal_reason="no-store"}`)
	durations := first["acache_backend_duration_seconds"].GetMetric()
	require.NotEmpty(t, durations, "acache_backend_duration_seconds has no series")
	var bounds []float64
	for _, b := range durations[0].GetHistogram().GetBucket() {
		bounds = append(bounds, b.GetUpperBound())
	}
	assert.Equal(t, append(durationBounds[:len(durationBounds):len(durationBounds)], math.Inf(1)), bounds, "the le labels of acache_backend_duration_seconds_bucket")

	hitsBefore, ok := value(first["acache_requests_total"], "acache_name", "images", "acache_outcome", "hit")
	require.True(t, ok, "no hit series")
	missesBefore, _ := value(first["acache_requests_total"], "acache_name", "images", "acache_outcome", "miss")
	const n = 25
	for range n {
		require.Contains(t, do(t, cl, "GET", o.URL+"/cat.png"), "hit")
	}
	second := scrape(t, metrics.URL+"/metrics")
	hitsAfter, _ := value(second["acache_requests_total"], "acache_name", "images", "acache_outcome", "hit")
	missesAfter, _ := value(second["acache_requests_total"], "acache_name", "images", "acache_outcome", "miss")
	assert.Equal(t, float64(n), hitsAfter-hitsBefore, "acache_requests_total{acache_outcome=\"hit\"} after %d hits", n)
	assert.Equal(t, missesBefore, missesAfter, "misses between two scrapes of hits only")
}
