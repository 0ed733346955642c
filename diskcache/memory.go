package diskcache

// This file holds the entries a database keeps decoded in memory, so that a
// hit on an entry this process stored or read before costs no decoding.

import (
	"sync"

	"github.com/acachecontrol/acache"
)

// maxMemoryBytes bounds the sizes ([acache.Entry.Size]) of the entries a
// database keeps decoded; an entry larger than an eighth of it is not kept.
const maxMemoryBytes = 32 << 20

// memory holds decoded entries by slot. Only this process writes the file
// (the lock keeps others out), so memory is exact if every committed write
// updates it, in commit order: the committing writer does, right after the
// commit (see write.after). A Get that decoded an entry adds it only if no
// write was committed meanwhile (gen), so it never brings back an entry
// removed or replaced while it read.
type memory struct {
	// mu guards the fields below it.
	mu      sync.Mutex
	entries map[slot]memoryEntry
	bytes   int64
	gen     uint64 // counts the committed writes
}

type memoryEntry struct {
	key string
	e   *acache.Entry
}

// get returns the entry stored in s under key, and the generation to pass to
// add if there is none.
func (m *memory) get(s *slot, key string) (*acache.Entry, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if me, ok := m.entries[*s]; ok && me.key == key {
		return me.e, m.gen
	}
	return nil, m.gen
}

// add keeps e, decoded from s under key while the generation was gen.
func (m *memory) add(s *slot, key string, e *acache.Entry, gen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen == m.gen {
		m.keep(s, key, e)
	}
}

// stored records a committed write that stored e in s under key.
func (m *memory) stored(s *slot, key string, e *acache.Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	m.forget(s)
	m.keep(s, key, e)
}

// removed records a committed write that emptied s (or may have: a failed one).
func (m *memory) removed(s *slot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	m.forget(s)
}

func (m *memory) forget(s *slot) {
	if me, ok := m.entries[*s]; ok {
		m.bytes -= me.e.Size()
		delete(m.entries, *s)
	}
}

// keep adds e to the entries, dropping others (whichever the map yields) to
// stay within maxMemoryBytes. The caller holds mu.
func (m *memory) keep(s *slot, key string, e *acache.Entry) {
	size := e.Size()
	if size > maxMemoryBytes/8 {
		return
	}
	m.forget(s)
	for other := range m.entries {
		if m.bytes+size <= maxMemoryBytes {
			break
		}
		m.forget(&other)
	}
	if m.entries == nil {
		m.entries = make(map[slot]memoryEntry)
	}
	m.entries[*s] = memoryEntry{key: key, e: e}
	m.bytes += size
}
