package acache_test

import (
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
)

func TestLRUConformance(t *testing.T) {
	acachetest.TestBackend(t, func(*testing.T) acache.Backend { return acache.NewLRU() })
}

func TestZeroLRUConformance(t *testing.T) {
	acachetest.TestBackend(t, func(*testing.T) acache.Backend { return acache.NewLRU() })
}
