module github.com/acachecontrol/acache/examples/disk

go 1.25.0

require (
	github.com/acachecontrol/acache v0.0.0
	github.com/acachecontrol/acache/diskcache v0.0.0
)

require (
	github.com/pquerna/cachecontrol v0.2.0 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
)

replace (
	github.com/acachecontrol/acache => ../../
	github.com/acachecontrol/acache/diskcache => ../../diskcache
)
