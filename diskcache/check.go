package diskcache

// This file holds the check that Open runs on a database file before bbolt
// reads it. bbolt trusts its file: a page it reads through its memory map is
// used as it is, so damage makes it panic, fault, allocate without bound or
// follow pages in a cycle for ever. The check reads the file with ReadAt
// (never through a memory map, so a short file is an error, not a fault), in
// its caller's goroutine, with a deadline, and lets bbolt open only a file
// whose every page bbolt will follow is where bbolt expects it and says what
// bbolt expects. It keeps to the invariants of bbolt's own Tx.Check; it does
// not use it, since Tx.Check reads through the memory map in a goroutine of
// its own, where a fault would end the process.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"time"
)

// The bbolt file format (go.etcd.io/bbolt/internal/common), in the machine's
// byte order: every page starts with a header, id(8) flags(2) count(2)
// overflow(4); a page of overflow n spans n+1 pages.
const (
	pageHeaderSize = 16
	elementSize    = 16 // a branch element: pos(4) ksize(4) pgid(8); a leaf element: flags(4) pos(4) ksize(4) vsize(4)
	bucketHeader   = 16 // a bucket's value: root(8) sequence(8), then its page if root is 0 (an inline bucket)

	branchPage   = 0x01
	leafPage     = 0x02
	metaPage     = 0x04
	freelistPage = 0x10

	bucketElement = 0x01 // the flag of a leaf element that is a bucket

	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	noFreelist     = math.MaxUint64 // a meta's freelist when the freelist is not stored
	metaSize       = 64             // magic(4) version(4) pageSize(4) flags(4) root(16) freelist(8) pgid(8) txid(8) checksum(8)
	metaChecksumAt = 56             // the checksum covers the meta bytes before it
	maxKeySize     = 32768
	maxValueSize   = 1<<31 - 2
	minPageSize    = 1024
	maxPageSize    = 1 << 16
)

var order = binary.NativeEndian

// fileState is what the check learns of a sound file: the entries the index
// holds and their sizes, which the meta bucket's counters must match.
type fileState struct {
	entries, bytes uint64
}

// checkFile checks the database file f (locked by the caller) and returns an
// error wrapping ErrDamaged if bbolt must not open it: if a meta page, a page
// of any bucket's tree or the freelist is not what bbolt would take it for,
// if a page is used twice or both used and free, if the file is shorter than
// its pages, if the layout is not this package's, or if the check takes
// longer than budget.
func checkFile(f *os.File, budget time.Duration) (fileState, error) {
	info, err := f.Stat()
	if err != nil {
		return fileState{}, fmt.Errorf("diskcache: %w", err)
	}
	if info.Size() == 0 {
		return fileState{}, nil // a new file, which bbolt initializes
	}
	c := &fileCheck{r: f, size: info.Size(), deadline: time.Now().Add(budget), budget: budget}
	state, err := c.run()
	if err != nil { // a read error too: a file that cannot be read cannot be trusted
		return fileState{}, fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	return state, nil
}

// fileCheck is one run of checkFile.
type fileCheck struct {
	r        io.ReaderAt
	size     int64
	deadline time.Time
	budget   time.Duration

	pageSize uint64
	hwm      uint64   // the meta's high-water mark: pages 0 to hwm-1 are in use or free
	used     []uint64 // a bit per page: reachable from the meta
	state    fileState
}

// meta is what checkFile reads from a meta page.
type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64
	txid     uint64
}

// damaged returns an error describing damage; checkFile wraps it in
// ErrDamaged.
func damaged(format string, args ...any) error { return fmt.Errorf(format, args...) }

// run checks the file as bbolt would open it: from the meta page bbolt
// picks, the freelist and the tree of the root bucket.
func (c *fileCheck) run() (fileState, error) {
	m, err := c.meta()
	if err != nil {
		return c.state, err
	}
	c.pageSize, c.hwm = uint64(m.pageSize), m.hwm
	if c.hwm < 4 || c.hwm > uint64(c.size)/c.pageSize {
		return c.state, damaged("the file holds %d bytes, fewer than the %d pages of %d bytes its meta page counts",
			c.size, c.hwm, c.pageSize)
	}
	if m.freelist == noFreelist {
		return c.state, damaged("the meta page stores no freelist")
	}
	c.used = make([]uint64, (c.hwm+63)/64)
	c.mark(0) // the meta pages
	c.mark(1)
	free, err := c.freelist(m.freelist)
	if err != nil {
		return c.state, err
	}
	if _, err := c.tree(m.root, nil, nil, c.root); err != nil {
		return c.state, err
	}
	for _, id := range free {
		if c.isUsed(id) {
			return c.state, damaged("page %d is both in use and free", id)
		}
	}
	return c.state, nil
}

// meta returns the meta page that bbolt uses: the valid one with the higher
// transaction id. Like bbolt, it learns the page size from the first meta
// page, or, if that is not valid, from the second.
func (c *fileCheck) meta() (meta, error) {
	first, err0 := c.readMeta(0)
	pageSize := int64(first.pageSize)
	if err0 != nil {
		for shift := range 7 { // where bbolt looks for the second meta page
			at := int64(minPageSize) << shift
			if m, err := c.readMeta(at); err == nil && int64(m.pageSize) == at {
				pageSize = at
				break
			}
		}
	}
	switch {
	case pageSize == 0:
		return meta{}, damaged("no meta page is valid (the first: %v)", err0)
	case pageSize < minPageSize || pageSize > maxPageSize || pageSize&(pageSize-1) != 0:
		return meta{}, damaged("the meta page gives a page size of %d bytes", pageSize)
	}
	second, err1 := c.readMeta(pageSize)
	if err1 == nil && int64(second.pageSize) != pageSize {
		err1 = damaged("the meta pages disagree on the page size")
	}
	switch {
	case err0 == nil && (err1 != nil || first.txid > second.txid):
		return first, nil
	case err1 == nil:
		return second, nil
	}
	return meta{}, damaged("neither meta page is valid: %v; %v", err0, err1)
}

// readMeta reads and validates the meta page at offset at.
func (c *fileCheck) readMeta(at int64) (meta, error) {
	buf := make([]byte, pageHeaderSize+metaSize)
	if _, err := c.r.ReadAt(buf, at); err != nil {
		return meta{}, damaged("meta page at %d: %v", at, err)
	}
	if order.Uint16(buf[8:]) != metaPage {
		return meta{}, damaged("meta page at %d: flags %#x", at, order.Uint16(buf[8:]))
	}
	b := buf[pageHeaderSize:]
	h := fnv.New64a()
	h.Write(b[:metaChecksumAt])
	switch {
	case order.Uint32(b) != boltMagic:
		return meta{}, damaged("meta page at %d: not a bbolt file", at)
	case order.Uint32(b[4:]) != boltVersion:
		return meta{}, damaged("meta page at %d: bbolt version %d", at, order.Uint32(b[4:]))
	case order.Uint64(b[metaChecksumAt:]) != h.Sum64():
		return meta{}, damaged("meta page at %d: checksum mismatch", at)
	}
	return meta{
		pageSize: order.Uint32(b[8:]),
		root:     order.Uint64(b[16:]),
		freelist: order.Uint64(b[32:]),
		hwm:      order.Uint64(b[40:]),
		txid:     order.Uint64(b[48:]),
	}, nil
}

// page reads the first page of the page run id, checks its header (its id,
// one of flags, its overflow within the file), marks its pages as used, and
// returns it with its header's count and the run's size in bytes.
func (c *fileCheck) page(id uint64, flags uint16) (buf []byte, count int, size uint64, err error) {
	if time.Now().After(c.deadline) {
		return nil, 0, 0, damaged("the check took longer than %v", c.budget)
	}
	if id < 2 || id >= c.hwm {
		return nil, 0, 0, damaged("page %d is out of the file's %d pages", id, c.hwm)
	}
	buf = make([]byte, c.pageSize)
	if _, err := c.r.ReadAt(buf, int64(id*c.pageSize)); err != nil {
		return nil, 0, 0, err
	}
	gotID, gotFlags, overflow := order.Uint64(buf), order.Uint16(buf[8:]), uint64(order.Uint32(buf[12:]))
	switch {
	case gotID != id:
		return nil, 0, 0, damaged("page %d says it is page %d", id, gotID)
	case gotFlags&flags == 0 || gotFlags&(gotFlags-1) != 0:
		return nil, 0, 0, damaged("page %d has flags %#x", id, gotFlags)
	case id+overflow >= c.hwm:
		return nil, 0, 0, damaged("page %d overflows past the file's %d pages", id, c.hwm)
	}
	for p := id; p <= id+overflow; p++ {
		if !c.mark(p) {
			return nil, 0, 0, damaged("page %d is used twice (the second time by page %d)", p, id)
		}
	}
	return buf, int(order.Uint16(buf[10:])), (overflow + 1) * c.pageSize, nil
}

// extend returns the first n bytes of the page run id, of which buf holds
// the first len(buf).
func (c *fileCheck) extend(buf []byte, id, n uint64) ([]byte, error) {
	if n <= uint64(len(buf)) {
		return buf, nil
	}
	more := make([]byte, n)
	copy(more, buf)
	if _, err := c.r.ReadAt(more[len(buf):], int64(id*c.pageSize)+int64(len(buf))); err != nil {
		return nil, err
	}
	return more, nil
}

// mark marks page p as used, reporting false if it already was.
func (c *fileCheck) mark(p uint64) bool {
	if c.isUsed(p) {
		return false
	}
	c.used[p/64] |= 1 << (p % 64)
	return true
}

func (c *fileCheck) isUsed(p uint64) bool { return p < c.hwm && c.used[p/64]&(1<<(p%64)) != 0 }

// freelist checks the freelist page and returns the free pages.
func (c *fileCheck) freelist(id uint64) ([]uint64, error) {
	buf, count, size, err := c.page(id, freelistPage)
	if err != nil {
		return nil, fmt.Errorf("the freelist: %w", err)
	}
	first := uint64(pageHeaderSize)
	n := uint64(count)
	if count == 0xFFFF { // the count does not fit the header: the first id holds it
		n = order.Uint64(buf[pageHeaderSize:])
		first += 8
	}
	if n > (size-first)/8 {
		return nil, damaged("the freelist counts %d pages, more than its page holds", n)
	}
	if buf, err = c.extend(buf, id, first+8*n); err != nil {
		return nil, err
	}
	free := make([]uint64, n)
	seen := make([]uint64, len(c.used))
	for i := range free {
		p := order.Uint64(buf[first+8*uint64(i):])
		if p < 2 || p >= c.hwm || seen[p/64]&(1<<(p%64)) != 0 {
			return nil, damaged("the freelist holds page %d twice or out of the file's %d pages", p, c.hwm)
		}
		seen[p/64] |= 1 << (p % 64)
		free[i] = p
	}
	return free, nil
}

// A visitor is called for each element of a bucket, in key order, with its
// value (which, for a bucket, holds the bucket). It returns the visitor of
// the element's bucket, or nil.
type visitor func(key, value []byte, bucket bool) (visitor, error)

// tree checks the tree of pages whose root is page id, whose keys are all
// at least lo and below hi (nil: no bound), and the buckets in it, and calls
// visit for each leaf element. It returns the last key in the tree. Only
// the values of buckets, and of the elements visit is called for, are read.
func (c *fileCheck) tree(id uint64, lo, hi []byte, visit visitor) (last []byte, err error) {
	buf, count, size, err := c.page(id, branchPage|leafPage)
	if err != nil {
		return nil, err
	}
	branch := order.Uint16(buf[8:]) == branchPage
	if branch && count == 0 {
		return nil, damaged("branch page %d is empty", id)
	}
	if buf, err = c.elements(buf, id, count, size, branch, visit != nil); err != nil {
		return nil, err
	}
	prev := lo
	for i := range count {
		at := uint64(pageHeaderSize + i*elementSize)
		key := elementKey(buf, at, branch)
		if err := keyInOrder(key, prev, hi, i); err != nil {
			return nil, fmt.Errorf("page %d: %w", id, err)
		}
		if branch {
			next := hi
			if i+1 < count {
				next = elementKey(buf, at+elementSize, true)
			}
			if prev, err = c.tree(order.Uint64(buf[at+8:]), key, next, visit); err != nil {
				return nil, err
			}
			continue
		}
		prev = key
		isBucket := order.Uint32(buf[at:]) == bucketElement
		if !isBucket && visit == nil {
			continue
		}
		value := elementValue(buf, at)
		var inner visitor
		if visit != nil {
			if inner, err = visit(key, value, isBucket); err != nil {
				return nil, err
			}
		}
		if isBucket {
			if err := c.bucket(key, value, inner); err != nil {
				return nil, err
			}
		}
	}
	return prev, nil
}

// elementKey returns the key of the element at offset at of a page.
func elementKey(buf []byte, at uint64, branch bool) []byte {
	pos, ksize := order.Uint32(buf[at+4:]), order.Uint32(buf[at+8:])
	if branch {
		pos, ksize = order.Uint32(buf[at:]), order.Uint32(buf[at+4:])
	}
	start := at + uint64(pos)
	return buf[start : start+uint64(ksize)]
}

// elementValue returns the value of the leaf element at offset at of a page.
func elementValue(buf []byte, at uint64) []byte {
	start := at + uint64(order.Uint32(buf[at+4:])) + uint64(order.Uint32(buf[at+8:]))
	return buf[start : start+uint64(order.Uint32(buf[at+12:]))]
}

// elements checks that the count elements of the page run id, of size
// bytes, lie within it, and returns as much of the run as holds their keys
// and the values to read: those of buckets, and all of them if values is
// set.
func (c *fileCheck) elements(buf []byte, id uint64, count int, size uint64, branch, values bool) ([]byte, error) {
	need := uint64(pageHeaderSize + count*elementSize)
	if need > size {
		return nil, damaged("page %d counts %d elements, more than it holds", id, count)
	}
	buf, err := c.extend(buf, id, need)
	if err != nil {
		return nil, err
	}
	for i := range count {
		at := uint64(pageHeaderSize + i*elementSize)
		var pos, ksize, vsize uint64
		read := false
		if branch {
			pos, ksize = uint64(order.Uint32(buf[at:])), uint64(order.Uint32(buf[at+4:]))
		} else {
			flags := order.Uint32(buf[at:])
			if flags&^bucketElement != 0 {
				return nil, damaged("page %d: element %d has flags %#x", id, i, flags)
			}
			pos, ksize, vsize = uint64(order.Uint32(buf[at+4:])), uint64(order.Uint32(buf[at+8:])), uint64(order.Uint32(buf[at+12:]))
			read = values || flags == bucketElement
		}
		end := at + pos + ksize
		if ksize == 0 || ksize > maxKeySize || vsize > maxValueSize || end+vsize > size {
			return nil, damaged("page %d: element %d lies outside the page, or its key or value has a size bbolt never writes", id, i)
		}
		if read {
			end += vsize
		}
		need = max(need, end)
	}
	return c.extend(buf, id, need)
}

// keyInOrder reports an error unless key, the i-th key of a page, comes
// after prev (at or after it for the first key, which may equal its
// parent's key) and before hi, as bbolt's Tx.Check requires.
func keyInOrder(key, prev, hi []byte, i int) error {
	switch {
	case prev != nil && i == 0 && bytes.Compare(prev, key) > 0,
		prev != nil && i > 0 && bytes.Compare(prev, key) >= 0:
		return damaged("key %d out of order", i)
	case hi != nil && bytes.Compare(key, hi) >= 0:
		return damaged("key %d beyond its parent's next key", i)
	}
	return nil
}

// bucket checks the bucket whose value is v: the tree of pages it roots, or
// the page it holds inline.
func (c *fileCheck) bucket(name, v []byte, visit visitor) error {
	if len(v) < bucketHeader {
		return damaged("bucket %q: a value of %d bytes", name, len(v))
	}
	if root := order.Uint64(v); root != 0 {
		_, err := c.tree(root, nil, nil, visit)
		return err
	}
	return c.inline(name, v[bucketHeader:], visit)
}

// inline checks the page p that an inline bucket holds: a leaf page with
// no bucket in it.
func (c *fileCheck) inline(name, p []byte, visit visitor) error {
	if len(p) < pageHeaderSize || order.Uint16(p[8:]) != leafPage {
		return damaged("inline bucket %q: not a leaf page", name)
	}
	count := int(order.Uint16(p[10:]))
	if pageHeaderSize+count*elementSize > len(p) {
		return damaged("inline bucket %q counts %d elements, more than it holds", name, count)
	}
	var prev []byte
	for i := range count {
		at := uint64(pageHeaderSize + i*elementSize)
		flags, pos := order.Uint32(p[at:]), uint64(order.Uint32(p[at+4:]))
		ksize, vsize := uint64(order.Uint32(p[at+8:])), uint64(order.Uint32(p[at+12:]))
		if flags != 0 || ksize == 0 || at+pos+ksize+vsize > uint64(len(p)) {
			return damaged("inline bucket %q: element %d is not a key and value within it", name, i)
		}
		key := p[at+pos : at+pos+ksize]
		if err := keyInOrder(key, prev, nil, i); err != nil {
			return fmt.Errorf("inline bucket %q: %w", name, err)
		}
		prev = key
		if visit != nil {
			if _, err := visit(key, p[at+pos+ksize:at+pos+ksize+vsize], false); err != nil {
				return err
			}
		}
	}
	return nil
}

// root is the visitor of the root bucket: it checks that this package's
// buckets are buckets, the format of the meta bucket, and counts the
// entries of the index.
func (c *fileCheck) root(key, _ []byte, bucket bool) (visitor, error) {
	var known bool
	for _, name := range bucketNames {
		known = known || bytes.Equal(key, name)
	}
	switch {
	case known && !bucket:
		return nil, damaged("%q is not a bucket", key)
	case bytes.Equal(key, indexBucket):
		return c.countIndex, nil
	case bytes.Equal(key, metaBucket):
		return c.checkMeta, nil
	}
	return nil, nil
}

// countIndex is the visitor of the index bucket: it counts the entries the
// index holds, and their sizes, as buckets.remove uncounts them (and as it
// will once Open has upgraded the records of previousFormat).
func (c *fileCheck) countIndex(_, value []byte, _ bool) (visitor, error) {
	if len(value) == indexLen || len(value) == previousIndexLen {
		c.state.entries++
		size := min(binary.BigEndian.Uint64(value[8:]), math.MaxInt64)
		c.state.bytes = min(c.state.bytes+size, math.MaxInt64)
	}
	return nil, nil
}

// checkMeta is the visitor of the meta bucket: it checks the format, this
// package's or the previous one, which Open upgrades.
func (c *fileCheck) checkMeta(key, value []byte, _ bool) (visitor, error) {
	if bytes.Equal(key, metaFormat) && (len(value) != 1 || value[0] != formatVersion && value[0] != previousFormat) {
		return nil, damaged("database format %x, want %d or %d", value, formatVersion, previousFormat)
	}
	return nil, nil
}
