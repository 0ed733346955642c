package acache

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain runs the tests, closes the idle connections that the test
// transports keep (see testInner), and fails if a goroutine is left.
func TestMain(m *testing.M) {
	code := m.Run()
	testInner.CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		// goleak retries for half a second; a loaded machine may take
		// longer to end the goroutines the last tests released.
		err := goleak.Find()
		for deadline := time.Now().Add(backendCallLiveness); err != nil && time.Now().Before(deadline); {
			err = goleak.Find()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
