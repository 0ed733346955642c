package otelacache

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Option configures the [Metrics] that [New] makes. The zero Option does
// nothing.
type Option struct {
	apply func(*config)
}

// config is what the options set.
type config struct {
	provider metric.MeterProvider
	name     string
}

// WithMeterProvider sets the MeterProvider the instruments are created
// with; nil means the global one, [otel.GetMeterProvider], the default.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return Option{func(c *config) {
		if mp != nil {
			c.provider = mp
		}
	}}
}

// WithCacheName sets the value of the acache.name attribute that every
// measurement carries, which tells several Caches in one process apart;
// the default is "acache", the default cache name of the Cache-Status
// field. Give each Cache a name of its own: two Metrics with one name
// report the same series. An empty name means the default. It does not
// change the Cache-Status field: for that, pass [acache.WithName] to
// [acache.NewCache] too.
func WithCacheName(name string) Option {
	return Option{func(c *config) {
		if name != "" {
			c.name = name
		}
	}}
}

// newConfig returns the configuration that opts set over the defaults.
func newConfig(opts []Option) config {
	cfg := config{name: defaultName}
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(&cfg)
		}
	}
	if cfg.provider == nil {
		cfg.provider = otel.GetMeterProvider()
	}
	return cfg
}
