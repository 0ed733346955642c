package otelacache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
)

// netTimeout is an error that says it is a timeout, as a net.Error does.
type netTimeout struct{}

func (netTimeout) Error() string { return "i/o timeout" }
func (netTimeout) Timeout() bool { return true }

// typed is an error that names its own error.type.
type typed struct{}

func (typed) Error() string     { return "typed" }
func (typed) ErrorType() string { return "backend_unavailable" }

// errorType gives error.type a low-cardinality value that says what failed,
// through the wrapping of fmt.Errorf.
func TestErrorType(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"plain", errors.New("boom"), "*errors.errorString"},
		{"deadline", context.DeadlineExceeded, "timeout"},
		{"wrapped deadline", fmt.Errorf("redis: get: %w", context.DeadlineExceeded), "timeout"},
		{"net timeout", fmt.Errorf("get: %w", netTimeout{}), "timeout"},
		{"wrapped by fmt.Errorf", fmt.Errorf("disk: get: %w", &os.PathError{Op: "open", Err: os.ErrNotExist}), "*fs.PathError"},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", netTimeout{})), "timeout"},
		{"ErrorType method", fmt.Errorf("a: %w", typed{}), "backend_unavailable"},
		{"fmt.Errorf without %w", fmt.Errorf("boom %d", 1), "*errors.errorString"},
		{"two %w", fmt.Errorf("%w and %w", typed{}, os.ErrClosed), "backend_unavailable"},
		{"joined", errors.Join(os.ErrClosed, os.ErrExist), "*errors.joinError"},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), "canceled"},
	} {
		if got := errorType(tt.err); got != tt.want {
			t.Errorf("%s: errorType(%v) = %q; want %q", tt.name, tt.err, got, tt.want)
		}
	}
}
