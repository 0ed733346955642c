module github.com/acachecontrol/acache/benchmarks

go 1.25.0

require (
	github.com/acachecontrol/acache v0.1.0
	github.com/acachecontrol/acache/diskcache v0.1.0
	github.com/acachecontrol/acache/rediscache v0.1.0
	github.com/gomodule/redigo v1.9.3
	github.com/gregjones/httpcache v0.0.0-20190611155906-901d90724c79
	github.com/redis/go-redis/v9 v9.22.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/google/btree v1.1.3 // indirect
	github.com/peterbourgon/diskv v2.0.1+incompatible // indirect
	github.com/pquerna/cachecontrol v0.2.0 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
