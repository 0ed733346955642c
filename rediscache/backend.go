package rediscache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
)

// This file holds the methods of acache.Backend and acache.Sizer but
// MoveToEnd (touches.go); those of acache.Committer are in commit.go. Reads are single commands (Get, a hit, is one
// round trip); every change goes through a script of scripts.go.

// Contains reports whether an entry is stored under key, without changing
// its recency.
func (s *Store) Contains(ctx context.Context, key string) (bool, error) {
	if s.client == nil {
		return false, errNoClient
	}
	sh, member := s.locate(key)
	n, err := s.client.Exists(ctx, sh.entryPrefix+member).Result()
	if err != nil {
		return false, fmt.Errorf("rediscache: contains: %w", err)
	}
	return n > 0, nil
}

// Len returns the number of entries in the LRU order: the sum over the
// shards, in one pipeline. It counts an entry whose value Redis has expired
// until PopOldest, Pop, Set, MoveToEnd or Commit comes across it.
func (s *Store) Len(ctx context.Context) (int, error) {
	if s.client == nil {
		return 0, errNoClient
	}
	if len(s.shards) == 1 {
		n, err := s.client.ZCard(ctx, s.shards[0].keys[0]).Result()
		if err != nil {
			return 0, fmt.Errorf("rediscache: len: %w", err)
		}
		return int(n), nil
	}
	cmds := make([]*redis.IntCmd, len(s.shards))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range s.shards {
			cmds[i] = p.ZCard(ctx, s.shards[i].keys[0])
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rediscache: len: %w", err)
	}
	var n int64
	for _, cmd := range cmds {
		n += cmd.Val()
	}
	return int(n), nil
}

// Size returns the number of entries in the LRU order and the sum of their
// [acache.Entry.Size], which the scripts keep beside the order: one pipeline
// (one round trip) over the shards. Like Len, it counts an entry whose value
// expired until it is come across. A shard's sum that cannot be right is
// recounted (see the package documentation).
func (s *Store) Size(ctx context.Context) (entries int, bytes int64, err error) {
	if s.client == nil {
		return 0, 0, errNoClient
	}
	counts := make([]*redis.IntCmd, len(s.shards))
	sums := make([]*redis.StringCmd, len(s.shards))
	// Each command's error is read below.
	s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range s.shards {
			counts[i] = p.ZCard(ctx, s.shards[i].keys[0])
			sums[i] = p.HGet(ctx, s.shards[i].keys[2], "bytes")
		}
		return nil
	})
	var failed error
	for i := range s.shards {
		err := cmp.Or(counts[i].Err(), sums[i].Err())
		if err != nil && !errors.Is(err, redis.Nil) { // Nil: a shard never written, or expired
			failed = cmp.Or(failed, s.repair(ctx, &s.shards[i], err))
		}
	}
	if failed != nil {
		return 0, 0, fmt.Errorf("rediscache: size: %w", failed)
	}
	var n, sum int64
	for i := range s.shards {
		count, v := counts[i].Val(), cmp.Or(sums[i].Val(), "0")
		n += count
		sum += s.shardSum(ctx, &s.shards[i], count, v)
	}
	return int(n), sum, nil
}

// Get returns the entry stored under key, or (nil, nil): one GET. A value
// that does not decode, or a key of another type than a string in its
// place, is an error wrapping [acache.ErrCorruptEntry], after which the
// Cache pops it; a value that holds another key's entry is a miss.
func (s *Store) Get(ctx context.Context, key string) (*acache.Entry, error) {
	if s.client == nil {
		return nil, errNoClient
	}
	sh, member := s.locate(key)
	data, err := s.client.Get(ctx, sh.entryPrefix+member).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if wrongType(err) {
		err = errWrongType
	}
	if err != nil {
		return nil, fmt.Errorf("rediscache: get: %w", err)
	}
	e, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("rediscache: get: %w", err)
	}
	if e.Key != key {
		return nil, nil
	}
	return e, nil
}

// Set stores e under key as the newest entry, replacing any other, with the
// idle TTL, and records its [acache.Entry.Version] (none for 0). It refuses
// an entry whose [acache.Entry.Size] is more than 256 MiB, the largest
// encoding [acache.Entry.UnmarshalBinary] accepts, so that a shard's sum
// has a bound. It lists nothing in an index, leaves a listing of key as it
// is, and makes no room (see Commit).
func (s *Store) Set(ctx context.Context, key string, e *acache.Entry) error {
	if s.client == nil {
		return errNoClient
	}
	size := e.Size()
	if size > maxEntrySize {
		return fmt.Errorf("rediscache: set: an entry of %d bytes, more than the %d an entry may take", size, maxEntrySize)
	}
	data, err := e.MarshalBinary()
	if err != nil {
		return fmt.Errorf("rediscache: set: %w", err)
	}
	s.flushBefore(ctx)
	sh, keys, member := s.entryKeys(key)
	version := strconv.FormatUint(e.Version, 10)
	err = setScript.Run(ctx, s.client, keys, member, data, size, version, s.idleMillis, s.metaMillis).Err()
	if err != nil {
		return fmt.Errorf("rediscache: set: %w", s.repair(ctx, sh, err))
	}
	return nil
}

// Pop removes the entry stored under key and returns it, or returns
// (nil, nil) if there is none. In the same script, it unlists key from the
// index listing it and, when key is a URI key, removes every entry its index
// lists and the index ([acache.Committer]). A value that does not decode,
// or a key of another type than a string in its place, is removed all the
// same, and reported with an error wrapping [acache.ErrCorruptEntry].
func (s *Store) Pop(ctx context.Context, key string) (*acache.Entry, error) {
	if s.client == nil {
		return nil, errNoClient
	}
	s.flushBefore(ctx)
	sh, keys, member := s.entryKeys(key)
	keys = append(keys, sh.indexPrefix+member) // the index of key, as a URI key
	res, err := popScript.Run(ctx, s.client, keys, member).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rediscache: pop: %w", s.repair(ctx, sh, err))
	}
	if res == int64(1) {
		return nil, fmt.Errorf("rediscache: pop: %w", errWrongType)
	}
	data, _ := res.(string)
	e, err := decode([]byte(data))
	if err != nil {
		return nil, fmt.Errorf("rediscache: pop: %w", err)
	}
	if e.Key != key {
		return nil, nil // another key's entry, gone with the value it overwrote
	}
	return e, nil
}

// maxPopRounds bounds the scripts one PopOldest runs: each pops an entry,
// forgets up to 100 expired members, or finds that another process emptied
// the shard it chose.
const maxPopRounds = 1000

// PopOldest removes the least recently used entry and returns it with its
// key, or returns ("", nil, nil) when the Store is empty. It unlists the
// entry from the index listing it, and leaves the entry's own index alone.
// With several shards it pops the oldest entry of the shard whose oldest
// entry was the oldest a moment before. A value that does not decode, or a key of another
// type than a string in its place, is removed, and reported with an error
// wrapping [acache.ErrCorruptEntry].
func (s *Store) PopOldest(ctx context.Context) (string, *acache.Entry, error) {
	if s.client == nil {
		return "", nil, errNoClient
	}
	s.flushBefore(ctx)
	for range maxPopRounds {
		sh, err := s.oldestShard(ctx)
		if err != nil {
			return "", nil, fmt.Errorf("rediscache: pop oldest: %w", err)
		}
		if sh == nil {
			return "", nil, nil
		}
		res, err := popOldestScript.Run(ctx, s.client, sh.all).Result()
		if errors.Is(err, redis.Nil) {
			if len(s.shards) == 1 {
				return "", nil, nil
			}
			continue // another process emptied it: look again
		}
		if err != nil {
			return "", nil, fmt.Errorf("rediscache: pop oldest: %w", s.repair(ctx, sh, err))
		}
		if res == int64(1) {
			return "", nil, fmt.Errorf("rediscache: pop oldest: %w", errWrongType)
		}
		data, ok := res.(string)
		if !ok {
			continue // only expired members were forgotten
		}
		e, err := decode([]byte(data))
		if err != nil {
			return "", nil, fmt.Errorf("rediscache: pop oldest: %w", err)
		}
		return e.Key, e, nil
	}
	return "", nil, errors.New("rediscache: pop oldest: the Store keeps changing under it")
}

// oldestShard returns the shard whose oldest entry is the oldest of all, or
// nil when every shard is empty. With one shard, it is that shard: the
// script finds out whether it is empty.
func (s *Store) oldestShard(ctx context.Context) (*shard, error) {
	if len(s.shards) == 1 {
		return &s.shards[0], nil
	}
	cmds := make([]*redis.ZSliceCmd, len(s.shards))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range s.shards {
			cmds[i] = p.ZRangeWithScores(ctx, s.shards[i].keys[0], 0, 0)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var oldest *shard
	var score float64
	for i, cmd := range cmds {
		if z := cmd.Val(); len(z) > 0 && (oldest == nil || z[0].Score < score) {
			oldest, score = &s.shards[i], z[0].Score
		}
	}
	return oldest, nil
}

// flushBefore sends the touches queued before a change, so that the change
// follows them in the order, as it followed them in calls. A failure is
// kept for MoveToEnd to report: it costs recency only.
func (s *Store) flushBefore(ctx context.Context) {
	if err := s.flush(ctx); err != nil {
		s.touches.failed.Store(&err)
	}
}

// decode decodes a stored value, which go-redis read into memory of its
// own: the entry's body shares it ([acache.DecodeEntry]). Its errors wrap
// [acache.ErrCorruptEntry].
func decode(data []byte) (*acache.Entry, error) {
	return acache.DecodeEntry(data)
}
