package rediscache

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
)

// This file holds how a Store heals a shard that something other than its
// scripts damaged (see the package documentation): a sum no shard can hold
// is recounted from the sizes, and keys of the wrong type are deleted.

// maxEntrySize bounds the Size of an entry that Set stores: the largest
// encoding [acache.Entry.UnmarshalBinary] accepts. A shard of n entries
// therefore sums to at most n*maxEntrySize.
const maxEntrySize = 256 << 20

// recountInterval is how long a Store waits after recounting a shard before
// it recounts it again, however often the sum still looks damaged: a
// recount reads every size of the shard.
const recountInterval = time.Second

// errWrongType reports a key of another type than a string where an entry's
// value belongs. The Cache removes it, as it removes bytes that do not
// decode.
var errWrongType = fmt.Errorf("%w: a key of another type where a value belongs", acache.ErrCorruptEntry)

// plausible reports whether sum can be the sum of the sizes of count
// entries: from 0 to count*maxEntrySize. An empty shard sums to 0.
func plausible(count, sum int64) bool {
	return sum >= 0 && sum <= count*maxEntrySize
}

// shardSum returns the sum of the sizes of sh, which Redis reported as sum
// beside count entries. A sum that is not an integer or not plausible is
// recounted. While another recount of sh by this Store is under way or was
// just made, or if the recount fails, the shard counts as 0 bytes: the
// Cache then evicts nothing for it, where a huge sum would make it evict
// everything. (count and sum are read in one pipeline, not atomically: a
// store landing between them may make the sum of an empty shard look
// damaged, whose recount then costs little.)
func (s *Store) shardSum(ctx context.Context, sh *shard, count int64, sum string) int64 {
	if n, err := strconv.ParseInt(sum, 10, 64); err == nil && plausible(count, n) {
		return n
	}
	if !sh.mayRecount() {
		return 0
	}
	n, err := s.recount(ctx, sh)
	if err != nil {
		return 0
	}
	return n
}

// mayRecount reports whether this Store may recount sh now, and if so
// records that it does: at most once per recountInterval, by one goroutine.
func (sh *shard) mayRecount() bool {
	now := time.Now().UnixNano()
	last := sh.recounted.Load()
	return now-last >= int64(recountInterval) && sh.recounted.CompareAndSwap(last, now)
}

// recount sums the sizes of sh, read in one transaction with the number of
// its entries and the version of its sum, and writes the result back as the
// shard's sum unless a script has changed the sum since (writeBackScript),
// which makes the result stale. The summing is done here, not in a script,
// which would block Redis for as long. A size that is not plausible for one
// entry counts as 0, and the result is at most what the entries can sum to,
// so that the sum written back is plausible.
func (s *Store) recount(ctx context.Context, sh *shard) (int64, error) {
	var count *redis.IntCmd
	var sizes *redis.StringSliceCmd
	var version *redis.StringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		count = p.ZCard(ctx, sh.keys[0])
		sizes = p.HVals(ctx, sh.keys[1])
		version = p.HGet(ctx, sh.keys[2], "version")
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, err
	}
	var sum int64
	for _, size := range sizes.Val() {
		if n, err := strconv.ParseInt(size, 10, 64); err == nil && plausible(1, n) {
			sum += n
		}
	}
	sum = min(sum, count.Val()*maxEntrySize)
	if err := writeBackScript.Run(ctx, s.client, sh.keys, version.Val(), sum).Err(); err != nil {
		return 0, err
	}
	return sum, nil
}

// wrongType reports whether err is Redis's refusal to run a command on a
// key of another type.
func wrongType(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "WRONGTYPE")
}

// repair runs repairScript on sh if err is a refusal of a key's type: one
// of the shard's bookkeeping keys is not of the type the scripts keep
// there, and every call on the shard would fail until it is deleted. It
// returns err.
func (s *Store) repair(ctx context.Context, sh *shard, err error) error {
	if wrongType(err) {
		repairScript.Run(ctx, s.client, sh.all) // a failure leaves it for the next call
	}
	return err
}
