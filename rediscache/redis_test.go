package rediscache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// This file holds what the tests need from the machine: the Redis servers,
// and the redis-server binary for the tests that run their own.

// unavailable ends a test that needs what this machine lacks. In CI (CI=true)
// every test must run, so it fails; elsewhere it skips, saying how to run it.
// It is the only place in the repository that skips a test.
func unavailable(tb testing.TB, what, how string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is needed in CI: %s", what, how)
	}
	tb.Skipf("no %s: %s", what, how)
}

// redisAddr returns the address of the single-node server the tests use.
func redisAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("ACACHE_REDIS_ADDR")
	if addr == "" {
		unavailable(tb, "Redis server", "set ACACHE_REDIS_ADDR=127.0.0.1:6379 (bash .ci/run starts a server)")
	}
	return addr
}

// clusterAddrs returns the seed addresses of the Redis Cluster the tests use.
func clusterAddrs(tb testing.TB) []string {
	tb.Helper()
	addrs := os.Getenv("ACACHE_REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		unavailable(tb, "Redis Cluster", "set ACACHE_REDIS_CLUSTER_ADDRS=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 "+
			"to the seeds of a 3-node cluster (bash .ci/run starts one)")
	}
	return strings.Split(addrs, ",")
}

// redisServerBinary returns the path of redis-server, for the tests that
// stop and restart a server of their own.
func redisServerBinary(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(tb, "redis-server binary", "install Redis (apt-get install redis-server) so that redis-server is on PATH")
	}
	return path
}

// newClient returns a client of the single-node server, closed when tb ends.
func newClient(tb testing.TB) *redis.Client {
	tb.Helper()
	client := redis.NewClient(&redis.Options{Addr: redisAddr(tb)})
	tb.Cleanup(func() { client.Close() })
	if err := client.Ping(tb.Context()).Err(); err != nil {
		tb.Fatalf("Redis at %s does not answer: %v", client.Options().Addr, err)
	}
	return client
}

// newClusterClient returns a client of the cluster, closed when tb ends.
func newClusterClient(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterAddrs(tb)})
	tb.Cleanup(func() { client.Close() })
	if err := client.Ping(tb.Context()).Err(); err != nil {
		tb.Fatalf("Redis Cluster at %v does not answer: %v", client.Options().Addrs, err)
	}
	return client
}

// newPrefix returns a prefix no other test uses, and deletes its keys
// through client when tb ends (before client is closed, if client was made
// first).
func newPrefix(tb testing.TB, client redis.UniversalClient) string {
	tb.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "acachetest-" + hex.EncodeToString(b)
	tb.Cleanup(func() { deleteKeys(tb, client, prefix) })
	return prefix
}

// deleteKeys deletes the keys a Store made under prefix: SCAN and DEL, on
// every master of a cluster.
func deleteKeys(tb testing.TB, client redis.UniversalClient, prefix string) {
	ctx := context.Background()
	del := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, "{"+prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	var err error
	switch c := client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, del)
	case *redis.Client:
		err = del(ctx, c)
	}
	if err != nil {
		tb.Errorf("deleting the keys under %q: %v", prefix, err)
	}
}
