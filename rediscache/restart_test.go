package rediscache

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/acachecontrol/acache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redisProcess is a redis-server of a test's own, which it can stop and
// start again on the same port.
type redisProcess struct {
	t    *testing.T
	bin  string
	port string
	cmd  *exec.Cmd
}

// startRedis starts a redis-server on a free loopback port, stopped when t
// ends.
func startRedis(t *testing.T) *redisProcess {
	bin := redisServerBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	p := &redisProcess{t: t, bin: bin, port: port}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *redisProcess) addr() string { return "127.0.0.1:" + p.port }

// start starts the server and waits until it answers.
func (p *redisProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "--port", p.port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	require.NoError(p.t, p.cmd.Start())
	client := redis.NewClient(&redis.Options{Addr: p.addr(), MaxRetries: -1})
	defer client.Close()
	for range 500 {
		if client.Ping(context.Background()).Err() == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.t.Fatalf("redis-server on port %s does not answer", p.port)
}

// stop kills the server, if it runs, and waits for it to exit.
func (p *redisProcess) stop() {
	if p.cmd != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		p.cmd = nil
	}
}

// Redis stopped under a running Cache: every request still gets the
// origin's answer, without an error, the failures are counted, and hits
// resume once Redis is back on the same address.
func TestRedisDownAndBack(t *testing.T) {
	server := startRedis(t)
	client := redis.NewClient(&redis.Options{
		Addr:          server.addr(),
		DialTimeout:   100 * time.Millisecond,
		DialerRetries: 1,
		ReadTimeout:   200 * time.Millisecond,
		WriteTimeout:  200 * time.Millisecond,
		PoolTimeout:   200 * time.Millisecond,
		MaxRetries:    -1,
	})
	t.Cleanup(func() { client.Close() })
	store := New(client, WithPrefix("down-and-back"))
	cache := acache.NewCache(store, acache.WithBackendTimeout(300*time.Millisecond))
	transport := acache.NewTransport(cache)
	t.Cleanup(func() {
		transport.Close()
		store.Close()
	})
	o := newOrigin(t, 100, cacheable)

	fetch(t, transport, o.URL+"/before")
	resp, _ := fetch(t, transport, o.URL+"/before")
	require.True(t, hit(resp), "no hit before Redis stopped")

	server.stop()
	errorsBefore := cache.Stats().Errors
	for i := range 6 {
		path := fmt.Sprintf("/down/%d", i%2) // each path twice: no hit without Redis
		resp, body := fetch(t, transport, o.URL+path)
		assert.Equal(t, 200, resp.StatusCode, "request %d while Redis is down", i)
		assert.False(t, hit(resp), "request %d while Redis is down was a hit", i)
		assert.Contains(t, body, path+" ", "request %d while Redis is down got another body", i)
	}
	assert.Greater(t, cache.Stats().Errors, errorsBefore, "failures while Redis is down were not counted")
	t.Logf("while Redis was down: %+v", cache.Stats())

	server.start()
	// The pool may still hold a connection to the old server, which fails
	// once, and the circuit breaker, open after the failures in a row,
	// probes Redis again a second after it opened: hits resume then.
	resumed := false
	restarted := time.Now()
	for i := range 40 {
		if resp, _ := fetch(t, transport, o.URL+"/after"); hit(resp) {
			t.Logf("the first hit after the restart was request %d, %v after it", i+1, time.Since(restarted).Round(time.Millisecond))
			resumed = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.True(t, resumed, "no hit after Redis came back")
}
