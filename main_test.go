package acache

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the tests, closes the idle connections that the test
// transports keep (see testInner), and fails if a goroutine is left.
func TestMain(m *testing.M) {
	code := m.Run()
	testInner.CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
