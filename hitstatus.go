package acache

import (
	"strconv"
	"sync/atomic"
)

// hitStatus makes the Cache-Status members of hits, "name; hit; ttl=N", and
// keeps those of the ttls below hitMembers, so that a hit builds no string.
type hitStatus struct {
	prefix string // name + "; hit; ttl="
	made   [hitMembers]atomic.Pointer[string]
}

// hitMembers is how many Cache-Status members of hits a Cache keeps made:
// one for each ttl in whole seconds below it.
const hitMembers = 4096

// hitMember returns the Cache-Status member of a hit with ttl seconds left,
// "name; hit; ttl=N": made once per ttl below hitMembers and kept, so that a
// hit does not build the same string again.
func (h *hitStatus) member(ttl int64) string {
	if ttl < 0 || ttl >= hitMembers {
		return h.prefix + strconv.FormatInt(ttl, 10)
	}
	if s := h.made[ttl].Load(); s != nil {
		return *s
	}
	s := h.prefix + strconv.FormatInt(ttl, 10)
	h.made[ttl].Store(&s)
	return s
}
