// Package program is a small client written against gregjones/httpcache,
// the way its users write one: a cache in memory, on disk (its diskcache)
// or in Redis (its redis store over a redigo connection), a Transport that
// marks cached responses, and CachedResponse to peek at what is stored.
// The copy in legacy/ imports gregjones/httpcache; the one in migrated/
// differs from it by that import path alone.
package program

import (
	"fmt"
	"io"
	"net/http"

	"github.com/acachecontrol/acache/httpcache"
	"github.com/gomodule/redigo/redis"
	"github.com/gregjones/httpcache/diskcache"
	rediscache "github.com/gregjones/httpcache/redis"
)

// Client fetches URLs through an HTTP cache.
type Client struct {
	cache httpcache.Cache
	http  *http.Client
	conn  redis.Conn
}

// New returns a Client caching in memory ("memory"), in the directory dir
// ("disk") or in the Redis server at addr ("redis").
func New(kind, dir, addr string) (*Client, error) {
	c := &Client{}
	switch kind {
	case "memory":
		c.cache = httpcache.NewMemoryCache()
	case "disk":
		c.cache = diskcache.New(dir)
	case "redis":
		conn, err := redis.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		c.conn = conn
		c.cache = rediscache.NewWithClient(conn)
	default:
		return nil, fmt.Errorf("no cache of kind %q", kind)
	}
	transport := httpcache.NewTransport(c.cache)
	c.http = transport.Client()
	return c, nil
}

// Fetch GETs url and returns its body and whether it came from the cache.
func (c *Client) Fetch(url string) (body string, cached bool, err error) {
	resp, err := c.http.Get(url)
	if err != nil {
		return "", false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", false, err
	}
	return string(b), resp.Header.Get(httpcache.XFromCache) == "1", nil
}

// Peek returns the body stored for url, without a request, and whether one
// is stored.
func (c *Client) Peek(url string) (body string, ok bool, err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", false, err
	}
	resp, err := httpcache.CachedResponse(c.cache, req)
	if err != nil || resp == nil {
		return "", false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err == nil, err
}

// Close closes the Redis connection, if any.
func (c *Client) Close() error {
	if c.conn != nil {
		return c.conn.Close()
	}
	return nil
}
