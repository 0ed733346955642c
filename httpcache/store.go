package httpcache

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/acachecontrol/acache"
)

// Cache is the interface of gregjones/httpcache's stores, which the
// Transport keeps its responses in: a map from keys to bytes. Its own
// diskcache, leveldbcache, memcache and redis packages implement it, and
// so do third-party stores; each plugs into this package's Transport
// unchanged.
//
// The keys the Transport passes are hexadecimal SHA-256 digests (64
// characters: safe for memcache, file names and Redis alike) of acache's
// keys, and the bytes are acache's encoding of an entry
// ([acache.Entry.MarshalBinary]), which carries the full key, checked on
// each read: not the httputil.DumpResponse output gregjones/httpcache
// stores. Responses stored by gregjones/httpcache are therefore not read;
// they stay in the store until it drops them.
type Cache interface {
	// Get returns the bytes stored under key, and whether there were any.
	Get(key string) (responseBytes []byte, ok bool)
	// Set stores responseBytes under key, replacing what key held.
	Set(key string, responseBytes []byte)
	// Delete removes what is stored under key, if anything.
	Delete(key string)
}

// NewBackend returns an [acache.Backend] that stores entries in c, for
// [acache.NewCache] and the native API: keys hashed and entries encoded as
// [Cache] says, calls into c made one at a time (gregjones/httpcache's
// redis store wraps one redigo connection, which is not safe for
// concurrent use), and a panic in c reported as an error.
//
// A Cache of gregjones/httpcache keeps keys and bytes, with no order and
// no size, so the backend keeps an index of the keys it stores, their
// sizes and their recency, in the memory of the process: over it the
// acache Cache holds its limits of entries and bytes ([acache.WithMaxEntries],
// [acache.WithMaxBytes]) and evicts the least recently used entries from c.
// The index does not survive a restart: an entry stored by an earlier run
// joins it, as the least recently used, when a request first reads it;
// until then it is not counted, and one never read again stays in c until
// c drops it. Two backends over one c keep two indexes: share one Transport
// or one acache Cache instead.
func NewBackend(c Cache) acache.Backend {
	return &store{c: c, order: list.New(), at: make(map[string]*list.Element)}
}

// store is the Backend of NewBackend: the entries are in c, and their keys
// in order and at, oldest first.
type store struct {
	mu    sync.Mutex // serialises the calls into c and guards the index
	c     Cache
	order *list.List               // of *indexed, the least recently used first
	at    map[string]*list.Element // by key
	bytes int64                    // the sum of the sizes in the index
}

// indexed is one key of the index and the size of its entry.
type indexed struct {
	key  string
	size int64
}

// storeKey is the key under which the entry of key is stored in a Cache.
func storeKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Contains reports whether an entry is stored under key, in c or the index.
func (s *store) Contains(ctx context.Context, key string) (bool, error) {
	e, err := s.Get(ctx, key)
	return e != nil, err
}

// Len returns the number of entries in the index.
func (s *store) Len(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len(), nil
}

// Size returns the number of entries in the index and their sizes: the
// Cache bounds what the index counts ([acache.Sizer]).
func (s *store) Size(context.Context) (int, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len(), s.bytes, nil
}

// Get reads the entry of key from c. An entry the index does not list (an
// earlier run stored it) joins it as the least recently used.
func (s *store) Get(_ context.Context, key string) (*acache.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read(key)
}

// Set stores e under key in c, as the most recently used entry.
func (s *store) Set(_ context.Context, key string, e *acache.Entry) error {
	b, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call(func() { s.c.Set(storeKey(key), b) }); err != nil {
		return err
	}
	s.forget(key)
	s.at[key] = s.order.PushBack(&indexed{key: key, size: e.Size()})
	s.bytes += e.Size()
	return nil
}

// Pop removes the entry of key from c and the index, and returns it. Bytes
// that do not decode are removed too, and return no entry.
func (s *store) Pop(_ context.Context, key string) (*acache.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, found, err := s.remove(key)
	if !found {
		return nil, err
	}
	return e, err
}

// PopOldest removes the least recently used entry of the index from c and
// returns it. Keys whose entries c no longer holds (it dropped them, or
// another process deleted them) or holds corrupt leave the index on the
// way.
func (s *store) PopOldest(context.Context) (string, *acache.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.order.Len() > 0 {
		key := s.order.Front().Value.(*indexed).key
		e, _, err := s.remove(key)
		if e != nil || err != nil {
			return key, e, err
		}
	}
	return "", nil, nil
}

// remove removes key from c and from the index and returns its entry.
// found reports that c held bytes for key, its entry or corrupt ones; err
// is the failure of a call into c. s.mu is held.
func (s *store) remove(key string) (e *acache.Entry, found bool, err error) {
	e, err = s.read(key)
	corrupt := errors.Is(err, acache.ErrCorruptEntry)
	if err != nil && !corrupt {
		return nil, false, err
	}
	s.forget(key)
	if e == nil && !corrupt {
		return nil, false, nil
	}
	if err := s.call(func() { s.c.Delete(storeKey(key)) }); err != nil {
		return nil, true, err
	}
	return e, true, nil
}

// MoveToEnd makes key the most recently used key of the index; c is not
// called.
func (s *store) MoveToEnd(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.at[key]; ok {
		s.order.MoveToBack(el)
	}
	return nil
}

// read returns the entry of key that c holds, or nil, and updates the index
// with what it found. Bytes that do not decode are an error wrapping
// [acache.ErrCorruptEntry], and the Cache removes them; an entry stored for
// another key (bytes under the digest of key that are not its entry) is a
// miss. s.mu is held.
func (s *store) read(key string) (*acache.Entry, error) {
	var b []byte
	var ok bool
	if err := s.call(func() { b, ok = s.c.Get(storeKey(key)) }); err != nil {
		return nil, err
	}
	if !ok {
		s.forget(key)
		return nil, nil
	}
	e, err := acache.DecodeEntry(b)
	if err != nil {
		return nil, err
	}
	if e.Key != key {
		return nil, nil
	}
	if _, listed := s.at[key]; !listed {
		s.at[key] = s.order.PushFront(&indexed{key: key, size: e.Size()})
		s.bytes += e.Size()
	}
	return e, nil
}

// forget removes key from the index. s.mu is held.
func (s *store) forget(key string) {
	if el, ok := s.at[key]; ok {
		s.bytes -= el.Value.(*indexed).size
		s.order.Remove(el)
		delete(s.at, key)
	}
}

// call runs f, a call into c, and returns a panic in it as an error.
func (s *store) call(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("httpcache: the Cache panicked: %v", p)
		}
	}()
	f()
	return nil
}
