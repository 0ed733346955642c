module github.com/acachecontrol/acache/httpcache/migrationtest

go 1.25.0

require (
	github.com/acachecontrol/acache v0.1.0
	github.com/gomodule/redigo v1.9.3
	github.com/gregjones/httpcache v0.0.0-20190611155906-901d90724c79
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/google/btree v1.1.3 // indirect
	github.com/peterbourgon/diskv v2.0.1+incompatible // indirect
	github.com/pquerna/cachecontrol v0.2.0 // indirect
	github.com/sony/gobreaker/v2 v2.4.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
