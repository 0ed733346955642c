// Package diskcache is a persistent [acache.Backend]: it keeps a Cache's
// entries in a directory, across restarts of the process.
//
//	store, err := diskcache.Open("/var/cache/myapp")
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	client := &http.Client{Transport: acache.NewTransport(acache.NewCache(store))}
//
// # Why bbolt
//
// The store is one [bbolt] file, dir/acache.db. bbolt is an embedded,
// transactional B+tree in pure Go: a transaction's pages are written with
// copy-on-write and made current by a checksummed meta page written last, so
// a write cut short (a crash, a full disk, an I/O error) leaves the file as
// the last committed transaction left it, and the next Open finds it so. It
// holds any number of entries in one file (no file per entry, no directory
// scan at start), reads from a memory map without a system call, and locks
// the file against other processes. A file per entry (like
// gregjones/httpcache's diskcache) needs temporary files, renames and a
// directory fsync per store to be crash safe, and cannot keep an LRU order,
// a byte total and the entries consistent with one another.
//
// # Layout
//
// A key maps to its SHA-256, so keys of any length and any bytes are safe:
// they never name a file and always fit bbolt's key limit. The record stored
// under the hash holds the full key, compared on every read, and the entry in
// the encoding of [acache.Entry.MarshalBinary] (versioned, CRC-checked). An
// index maps each hash to its place in the recency order and its size; the
// recency bucket maps an increasing sequence number (8 bytes, big-endian,
// the bucket's own bbolt sequence, so it survives restarts) to the hash, the
// oldest first; a meta bucket holds the number of entries and the sum of
// their [acache.Entry.Size]. Every write updates all of them in one
// transaction, so Len and Size are O(1) and exact, after a crash too.
//
// # Durability and fsync
//
// Set, Pop and PopOldest return once their transaction is committed, and
// bbolt commits with fsync (fdatasync on Linux): what they report is on disk.
// Writers that arrive while a commit is under way are committed together by
// the next one (group commit, with no timer): concurrent stores share one
// fsync, and a lone store waits for no batch to fill. The fsync is most of
// the cost of a store (see BenchmarkSet); it is paid off the caller's path,
// since the Cache stores in the background. A Pop of a key that is not
// stored writes nothing.
//
// MoveToEnd, which the Cache calls after every hit, is kept in memory and
// written with the next write of the store, within a second (or sooner after
// 1024 moves), and at Close: a hit costs a read transaction only, and a crash
// loses at most the last second of recency, never an entry. Within the
// process the order is exact, since every write applies the pending moves
// first. A move of a key removed in the meantime does nothing.
//
// # Reads
//
// Get reads in a read-only transaction and decodes the entry there
// (UnmarshalBinary copies what it keeps out of bbolt's memory). Since only
// this process writes the file, the database also keeps the entries it stored
// or decoded, up to 32 MiB of [acache.Entry.Size], in memory, updated after
// every commit in commit order: a hit on one of them returns the very Entry
// the Cache stored (which it then neither re-validates nor re-parses) without
// touching the file. Peek ([acache.Peeker]) answers from these entries alone,
// so that the Cache serves such a hit on the caller's goroutine, without the
// goroutine and timer a Get costs.
//
// Stored bytes that do not decode give an error wrapping
// [acache.ErrCorruptEntry] from Get (the Cache then counts a miss and removes
// them); Pop and PopOldest remove them all the same and report the same
// error, PopOldest with the key.
//
// # Damage
//
// A cache is an optimisation: damage to its file must cost the entries, never
// the process. bbolt trusts its file: given damaged pages, it panics, faults
// on its memory map (SIGBUS, SIGSEGV), allocates without bound or follows
// pages in a cycle for ever. So Open checks the file before bbolt reads it,
// with the file's lock held: it reads both meta pages, rejects a file
// shorter than the pages its meta counts, and follows every page bbolt would
// follow, the freelist and the tree of every bucket, checking each page's
// header, its elements' bounds and key order, and that no page is used twice
// or both used and free, the invariants of bbolt's own Tx.Check (which Open
// does not run: it reads through the memory map in a goroutine of its own,
// where a fault would end the process). The check reads with ReadAt, never
// through the map, skips the overflow pages of large entries, and counts as
// damage if it takes longer than [WithCheckTimeout] (10 seconds by default;
// about 40 ms for a 40 MB file, see BenchmarkOpen).
//
// A file that fails the check (or is not a bbolt file, or holds another
// format of this package) is moved aside, to dir/acache.db.damaged, which
// keeps the last one only, and the store starts empty: Open succeeds, logs
// why ([WithLogger]), and [Store.Damage] returns an error wrapping
// [ErrDamaged]. Open also recounts the entries and their sizes from the
// index, and corrects the stored counters if they disagree.
//
// Damage that comes later (a file cut short or overwritten while open, an
// I/O error on a mapped page) surfaces while bbolt reads. Every bbolt call
// runs with [runtime/debug.SetPanicOnFault] set on its goroutine and a
// recover, and copies what it returns out of the map before its transaction
// ends, so a fault or a panic becomes an error wrapping ErrDamaged and stops
// the database: every method of every Store of the directory then fails at
// once with that error, without touching bbolt, and the Cache serves from the
// origin. A panic inside a commit wakes the writers waiting for it; Close
// returns (it waits at most a second for bbolt); once every Store of the
// directory is closed, the next Open checks the file again.
//
// # Sharing a directory
//
// All Stores opened on one directory in one process share one database (a
// registry keyed by the directory's absolute, symlink-free path counts
// them; the file is closed with the last one), so several Transports may
// share a directory, and Caches over them bound the whole store, since Size
// counts every entry. Another process that opens the directory waits for the
// lock for the lock timeout ([WithLockTimeout]), then fails with an error
// wrapping [ErrLocked]: two processes never write one file.
//
// The file never shrinks: the pages of removed entries are reused, not
// returned to the file system, so it stays at its largest size; the Cache's
// byte limit ([acache.WithMaxBytes]) bounds it, with bbolt's overhead.
//
// [bbolt]: https://pkg.go.dev/go.etcd.io/bbolt
package diskcache
