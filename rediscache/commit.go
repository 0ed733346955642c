package rediscache

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
)

// This file holds the methods of acache.Committer: Commit, one script
// (commitScript) per attempt that compares the version, lists the key in its
// URI's index, makes room and writes the entry atomically on the shard's
// node, and Listed, one script that reads an index.

const (
	// maxRemovals bounds the entries one commitScript removes, so that none
	// blocks Redis for long; past it the script writes nothing, and Commit
	// runs it again.
	maxRemovals = 64
	// maxCommitRounds bounds the scripts one Commit runs (each removing up to
	// maxRemovals entries) before it gives up.
	maxCommitRounds = 4096
)

// errDamagedSum reports a Commit that found the byte count of its shard
// damaged, and could not recount it (another recount by this Store was
// just made, or the recount failed).
var errDamagedSum = errors.New("rediscache: commit: the byte count of the shard is damaged; it is being recounted")

// commitCall is one Commit as the script takes it.
type commitCall struct {
	sh   *shard
	keys []string // the bookkeeping, the entry's value, then its index and its lease and channel, if any
	args []any    // ARGV but the touches
}

// Commit stores c.Entry under c.Key as one atomic operation on the key's
// shard ([acache.Committer]): one script, run again while it has to remove
// more than maxRemovals entries first. With n shards ([WithShards]), the
// shard is bounded by c.MaxEntries/n entries (at least 1) and c.MaxBytes/n
// bytes, so the limits hold over the whole Store, and Bytes and Entries are
// the shard's sum and count times n. The touches queued for the shard's keys ride along in the
// script, applied before it evicts. Like Set, it refuses an entry whose
// Size is more than 256 MiB. A key of another type found in place of a
// value is removed, and reported with an error wrapping
// [acache.ErrCorruptEntry]; nothing is stored then.
//
// With c.Lease set, the script that stores the entry also releases the
// lease c.Lease holds on c.Key, if it still holds it, and tells the
// waiters the response is stored ([acache.Leaser]); a Commit that stores
// nothing leaves the lease held, for its holder to renew or release.
func (s *Store) Commit(ctx context.Context, c *acache.Commit) (acache.CommitResult, error) {
	if s.client == nil {
		return acache.CommitResult{}, errNoClient
	}
	call, err := s.commitCall(c)
	if err != nil {
		return acache.CommitResult{}, fmt.Errorf("rediscache: commit: %w", err)
	}
	touched := s.takeTouches(ctx, call.sh)
	var res acache.CommitResult
	recounted := false
	for range maxCommitRounds {
		r, err := s.runCommit(ctx, call, touched)
		touched = nil // applied by the first script
		if err != nil {
			return res, fmt.Errorf("rediscache: commit: %w", err)
		}
		res.Evicted += r.evicted
		switch r.status {
		case "stored":
			n := len(s.shards)
			res.Stored, res.Bytes, res.Entries = true, r.bytes*int64(n), r.entries*n
			return res, nil
		case "conflict":
			res.Conflict = true
			return res, nil
		case "large":
			return res, nil
		case "wrongtype":
			return res, fmt.Errorf("rediscache: commit: %w", errWrongType)
		case "damaged":
			if recounted || !call.sh.mayRecount() {
				return res, errDamagedSum
			}
			recounted = true
			if _, err := s.recount(ctx, call.sh); err != nil {
				return res, fmt.Errorf("rediscache: commit: recounting: %w", err)
			}
		case "again":
		default:
			return res, fmt.Errorf("rediscache: commit: the script answered %q", r.status)
		}
	}
	return res, fmt.Errorf("rediscache: commit: no room made after %d scripts", maxCommitRounds)
}

// commitCall returns c as commitScript takes it: the keys and arguments on
// the shard of c.Key, whose bounds are the limits divided by the shards.
func (s *Store) commitCall(c *acache.Commit) (*commitCall, error) {
	size := c.Entry.Size()
	if size > maxEntrySize {
		return nil, fmt.Errorf("an entry of %d bytes, more than the %d an entry may take", size, maxEntrySize)
	}
	data, err := c.Entry.MarshalBinary()
	if err != nil {
		return nil, err
	}
	sh, keys, member := s.entryKeys(c.Key)
	var indexMember string
	if c.Index != "" {
		if uri, partitioned := uriKey(c.Key); !partitioned || uri != c.Index {
			return nil, fmt.Errorf("the index %q is not the URI key of %q", c.Index, c.Key)
		}
		_, indexMember = s.locate(c.Index)
		keys = append(keys, sh.indexPrefix+indexMember)
	}
	if c.Lease != "" {
		keys = append(keys, sh.leasePrefix+member, sh.channel) // the last two, for the script to release it
	}
	n := int64(len(s.shards))
	maxEntries := max(int64(c.MaxEntries)/n, 1)
	return &commitCall{sh: sh, keys: keys, args: []any{
		member, c.Key, data, size,
		strconv.FormatUint(c.Entry.Version, 10), strconv.FormatUint(c.IfVersion, 10),
		maxEntries, c.MaxBytes / n, max(c.MaxListed, 1), indexMember,
		maxRemovals, s.idleMillis, s.metaMillis, c.Lease,
	}}, nil
}

// commitReply is what commitScript answered: its status, the entries it
// removed, and the shard's sum of sizes and, when it stored, its entries,
// once it was done.
type commitReply struct {
	status           string
	evicted, entries int
	bytes            int64
}

// runCommit runs commitScript once for call, carrying the touched members,
// and returns what it answered.
func (s *Store) runCommit(ctx context.Context, call *commitCall, touched []string) (commitReply, error) {
	args := call.args
	if len(touched) > 0 {
		args = make([]any, 0, len(call.args)+len(touched))
		args = append(args, call.args...)
		for _, member := range touched {
			args = append(args, member)
		}
	}
	res, err := commitScript.Run(ctx, s.client, call.keys, args...).Slice()
	if err != nil {
		return commitReply{}, s.repair(ctx, call.sh, err)
	}
	if len(res) != 4 {
		return commitReply{}, fmt.Errorf("the script answered %v", res)
	}
	var r commitReply
	r.status, _ = res[0].(string)
	evicted, _ := res[1].(int64)
	sum, _ := res[2].(string)
	entries, _ := res[3].(int64)
	r.bytes, _ = strconv.ParseInt(sum, 10, 64) // a damaged sum: the script said so
	r.evicted, r.entries = int(evicted), int(entries)
	return r, nil
}

// Listed returns the keys that the index of the URI key uri lists, earliest
// listed first ([acache.Committer]): one script on uri's shard. Some may
// have no entry any more.
func (s *Store) Listed(ctx context.Context, uri string) ([]string, error) {
	if s.client == nil {
		return nil, errNoClient
	}
	sh, member := s.locate(uri)
	keys, err := listedScript.Run(ctx, s.client, []string{sh.indexPrefix + member, sh.all[4]}).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("rediscache: listed: %w", s.repair(ctx, sh, err))
	}
	return keys, nil
}
