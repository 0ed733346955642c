package acachetest_test

import (
	"strings"
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
	"github.com/stretchr/testify/assert"
)

// TestBackendGivesEachCheckItsOwnT checks that newBackend gets the *testing.T
// of the check it serves, so that a backend registered for cleanup with it is
// released when that check ends, not when the whole suite does.
func TestBackendGivesEachCheckItsOwnT(t *testing.T) {
	var names []string
	open := 0 // backends made and not yet released
	acachetest.TestBackend(t, func(sub *testing.T) acache.Backend {
		assert.Zero(sub, open, "newBackend called before the backend of the previous check was released")
		names = append(names, sub.Name())
		open++
		sub.Cleanup(func() { open-- })
		return acache.NewLRU()
	})
	assert.Zero(t, open, "backends still open after the suite")
	assert.NotEmpty(t, names, "newBackend was never called")
	seen := map[string]bool{}
	for _, name := range names {
		assert.True(t, strings.HasPrefix(name, t.Name()+"/"), "newBackend got %q, not a subtest of %q", name, t.Name())
		assert.False(t, seen[name], "two checks shared the *testing.T %q", name)
		seen[name] = true
	}
}
