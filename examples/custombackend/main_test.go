package main

import (
	"testing"

	"github.com/acachecontrol/acache"
	"github.com/acachecontrol/acache/acachetest"
)

func TestSliceBackend(t *testing.T) {
	acachetest.TestBackend(t, func() acache.Backend { return new(SliceBackend) })
}
