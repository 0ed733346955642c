package otelacache

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/acachecontrol/acache"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// BackendObserver returns the option that makes a Cache record each call
// to its backend in the acache.backend.duration histogram of m: pass it
// to [acache.NewCache]. A Cache calls the observer for backends other
// than the in-memory LRU ([acache.NewLRU]), whose calls it does not time;
// over the LRU the histogram stays empty. After [Metrics.Close] the calls
// are no longer recorded.
func (m *Metrics) BackendObserver() acache.Option {
	return acache.WithBackendObserver(m.recordCall)
}

// recordCall records one backend call of operation op that took d and
// returned err, as acache.WithBackendObserver describes.
func (m *Metrics) recordCall(op string, d time.Duration, err error) {
	if m.closed.Load() {
		return
	}
	var attrs metric.RecordOption
	if err == nil {
		attrs = m.operationAttrs(op)
	} else {
		attrs = metric.WithAttributes(m.name, attribute.String(operationKey, op),
			semconv.ErrorTypeKey.String(errorType(err)))
	}
	m.in.backendDuration.Record(context.Background(), d.Seconds(), attrs)
}

// operationAttrs returns the attributes of a successful call of op.
func (m *Metrics) operationAttrs(op string) metric.MeasurementOption {
	if a, ok := m.opAttrs.Load(op); ok {
		return a.(metric.MeasurementOption)
	}
	a := metric.WithAttributeSet(attribute.NewSet(m.name, attribute.String(operationKey, op)))
	m.opAttrs.Store(op, a)
	return a
}

// errorType returns the error.type of a failed backend call: "timeout"
// for an error that is or wraps [context.DeadlineExceeded] or says it is
// a timeout (a net.Error's Timeout method), "canceled" for one that wraps
// [context.Canceled] (the request went away), and otherwise what
// [semconv.ErrorType] gives (the ErrorType method of an error in the
// chain, or the type's package path and name) for the first error in the
// chain that fmt.Errorf did not make, so that a backend's
// fmt.Errorf("rediscache: get: %w", err) is typed by the err it wraps.
func errorType(err error) string {
	var timeout interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &timeout) && timeout.Timeout() {
		return "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	for isFmtWrapper(err) {
		inner := errors.Unwrap(err)
		if inner == nil {
			break
		}
		err = inner
	}
	return semconv.ErrorType(err).Value.AsString()
}

// fmtWrapper is the type of the errors fmt.Errorf makes with one %w.
var fmtWrapper = reflect.TypeOf(fmt.Errorf("%w", errors.New("")))

// isFmtWrapper reports whether err was made by fmt.Errorf with one %w.
func isFmtWrapper(err error) bool {
	return reflect.TypeOf(err) == fmtWrapper
}
