module github.com/acachecontrol/acache/examples/disk

go 1.25.0

require (
	github.com/acachecontrol/acache v0.1.0
	github.com/acachecontrol/acache/diskcache v0.1.0
)

require (
	github.com/pquerna/cachecontrol v0.2.0 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
)
