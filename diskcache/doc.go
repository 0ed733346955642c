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
// A key maps to its SHA-256, its slot, so keys of any length and any bytes
// are safe: they never name a file and always fit bbolt's key limit. The
// record stored under the slot holds the full key, compared on every read,
// and the entry in the encoding of [acache.Entry.MarshalBinary] (versioned,
// CRC-checked, with the entry's [acache.Entry.Version]). An index maps each
// slot to its place in the recency order, its size and its Version; the
// recency bucket maps an increasing sequence number (8 bytes, big-endian,
// the bucket's own bbolt sequence, so it survives restarts) to the slot, the
// oldest first; a meta bucket holds the format of the layout, the number of
// entries and the sum of their [acache.Entry.Size].
//
// The partition indexes that Commit keeps (see "Storing as one operation")
// are two more buckets. The listed bucket maps the slot of a URI key and a
// sequence number (the bucket's own) to a key listed in the URI's index: the
// keys of one URI are adjacent, earliest listed first, and one cursor reads
// them. The listedIn bucket maps the slot of each listed key to its listing,
// so that a key is listed once and its removal unlists it without a scan.
//
// Every write updates all of them in one transaction, so Len and Size are
// O(1) and exact, after a crash too, and an index never lists a key whose
// entry is gone.
//
// The Version is kept twice: in the entry's encoding, which Get returns,
// and in the index record, beside the order and the size, where Commit
// compares it. The index record is 24 bytes among other small values, which
// every write reads anyway; the entry's record may span many overflow pages,
// and its Version costs a decode (a CRC over the whole body, a copy of every
// field). So the compare that every Commit makes costs about what the move
// of a hit does.
//
// This layout is format 2; format 1 had neither the Version in the index
// nor the partition indexes. Open upgrades a file of format 1 in the
// transaction in which it opens it: it creates the two buckets, and decodes
// each entry once to write its Version in its index record (0 for an entry
// that does not decode, which Get still reports as corrupt), which costs a
// read of the whole file, once. The entries, their order and the counters
// are kept. A file of another format is damage (see "Damage"); an earlier
// release of this package, which knows format 1 only, takes a file of
// format 2 for damage too and moves it aside.
//
// # Durability and fsync
//
// Set, Commit, Pop and PopOldest return once their transaction is
// committed, and bbolt commits with fsync (fdatasync on Linux): what they
// report is on disk.
// Writers that arrive while a commit is under way are committed together by
// the next one (group commit, with no timer): concurrent stores share one
// fsync, and a lone store waits for no batch to fill. The fsync is most of
// the cost of a store (see BenchmarkSet); it is paid off the caller's path,
// since the Cache stores in the background. A Pop of a key that holds no
// entry, no listing and no index writes nothing.
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
// every commit in commit order (every entry a commit removes, evicted by
// Commit, dropped from an index past its bound or with the index by Pop,
// leaves memory with it): a hit on one of them returns the very Entry
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
// # Storing as one operation
//
// A Store is an [acache.Committer]: a Cache over it stores every entry
// through Commit, and the Store keeps the partition indexes. Commit is one
// write transaction of the group commit, durable as a Set is. In it, after
// the moves of MoveToEnd pending, Commit:
//
//  1. compares the Version stored under the key (read from the index
//     record; 0 when none) with IfVersion, and changes nothing but reports
//     a Conflict if they differ;
//  2. changes nothing if the entry is larger than MaxBytes;
//  3. lists the key in the index of its URI key, once, where it was first
//     listed; past MaxListed, it unlists the earliest listed keys and
//     removes their entries;
//  4. removes the least recently used entries other than the key's,
//     unlisting each, until the entries, the new one replacing the key's,
//     number at most MaxEntries and sum to at most MaxBytes;
//  5. writes the entry, with its Version, as the most recently used.
//
// The version is compared in the write transaction, never in a read before
// it: a Conflict returns once the commits before it have updated the
// entries held in memory, so that the Get with which the Cache reads the
// entry again finds the one that conflicted.
//
// Pop removes, in one transaction, the key's entry, every entry the key's
// index lists and the index, and unlists the key: a Pop of a URI's key
// invalidates every user's copy. PopOldest unlists the entry it removes.
// Set lists nothing. Listed reads an index in a read-only transaction.
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
// share a directory. Caches over them behave as one cache: every store is a
// transaction of the one database, so none undoes another's, no user's copy
// drops out of its URI's index (a Purge or an unsafe request through any of
// them reaches every copy), and the limits hold for the whole store at
// every commit, since Commit counts every entry. Another process that opens the directory waits for the
// lock for the lock timeout ([WithLockTimeout]), then fails with an error
// wrapping [ErrLocked]: two processes never write one file.
//
// The file never shrinks: the pages of removed entries are reused, not
// returned to the file system, so it stays at its largest size; the Cache's
// byte limit ([acache.WithMaxBytes]) bounds it, with bbolt's overhead.
//
// [bbolt]: https://pkg.go.dev/go.etcd.io/bbolt
package diskcache
