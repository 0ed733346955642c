package diskcache

import (
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
)

func TestBackendConformance(t *testing.T) {
	acachetest.TestBackend(t, func(t *testing.T) acache.Backend {
		return openTemp(t)
	})
}
