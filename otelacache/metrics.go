package otelacache

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/acachecontrol/acache"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// scope is the instrumentation scope of the meter: this module's path.
const scope = "github.com/acachecontrol/acache/otelacache"

// Metrics exports the counters of one [acache.Cache] as the OpenTelemetry
// metrics of the package documentation's table. Make one per Cache with
// [New]; pass [Metrics.BackendObserver] to [acache.NewCache], then hand
// the Cache to [Metrics.Observe]; [Metrics.Close] stops the export.
//
// A Metrics is safe for concurrent use by multiple goroutines. Its zero
// value is not usable: make it with New.
type Metrics struct {
	meter metric.Meter
	name  attribute.KeyValue // acache.name
	in    *instruments
	// opAttrs holds the attributes of a successful call of each backend
	// operation, made once: op (string) to metric.MeasurementOption.
	opAttrs sync.Map
	// closed is set by Close; the backend observer records no more.
	closed atomic.Bool

	// mu guards observing and registration.
	mu           sync.Mutex
	observing    bool                // Observe was called
	registration metric.Registration // of the callback Observe registered, until Close
}

// New creates the instruments of the package documentation's table on a
// meter of the MeterProvider that [WithMeterProvider] sets (by default the
// global one, read now), and returns the Metrics that reports one Cache
// through them. It fails only when the MeterProvider refuses an
// instrument.
func New(opts ...Option) (*Metrics, error) {
	cfg := newConfig(opts)
	meter := cfg.provider.Meter(scope, metric.WithInstrumentationVersion(version()))
	in, err := newInstruments(meter)
	if err != nil {
		return nil, fmt.Errorf("otelacache: %w", err)
	}
	return &Metrics{meter: meter, name: attribute.String(nameKey, cfg.name), in: in}, nil
}

// Observe registers, on the meter of m, the callback that reads c's
// [acache.Stats] at each collection and reports them through the
// asynchronous instruments. Serving requests costs nothing more: Stats is
// read when the metrics are collected, not when a request is served.
//
// Call it once, with the Cache that [Metrics.BackendObserver] was passed
// to, if it was; it fails for a nil Cache, for a second call, after
// [Metrics.Close], and when the MeterProvider refuses the callback.
func (m *Metrics) Observe(c *acache.Cache) error {
	if c == nil {
		return errors.New("otelacache: Observe of a nil Cache")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed.Load():
		return errors.New("otelacache: Observe after Close")
	case m.observing:
		return errors.New("otelacache: Observe called twice; make one Metrics per Cache")
	}
	r := newStatsReader(c, m.in, m.name)
	reg, err := m.meter.RegisterCallback(r.observe, m.in.observables()...)
	if err != nil {
		return fmt.Errorf("otelacache: %w", err)
	}
	m.observing, m.registration = true, reg
	return nil
}

// Close stops the export: it unregisters the callback that
// [Metrics.Observe] registered, so that collections no longer report the
// Cache, and the backend observer records no more calls. It does not close
// the Cache. Close is idempotent; it returns the error of the
// unregistration, if any.
func (m *Metrics) Close() error {
	m.mu.Lock()
	m.closed.Store(true)
	reg := m.registration
	m.registration = nil
	m.mu.Unlock()
	if reg == nil {
		return nil
	}
	if err := reg.Unregister(); err != nil {
		return fmt.Errorf("otelacache: %w", err)
	}
	return nil
}

// version returns the version of this module the program was built with,
// for the meter's instrumentation version, or "" when it is not known (a
// build inside the repository).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := bi.Main.Version
	if bi.Main.Path != scope {
		v = ""
		for _, dep := range bi.Deps {
			if dep.Path == scope {
				v = dep.Version
				if dep.Replace != nil {
					v = dep.Replace.Version
				}
			}
		}
	}
	if v == "(devel)" {
		return ""
	}
	return v
}
