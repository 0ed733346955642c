// Package benchmarks measures acache beside a floor (a bare map of prebuilt
// responses, no policy) and beside github.com/gregjones/httpcache, with each
// backend, in one run on one machine. It is a module of its own so that the
// root module depends on neither gregjones/httpcache nor its backends.
//
// Run it with run.sh, which prints a benchstat table and each
// implementation's ratio to the floor. The Redis rows need a server: set
// ACACHE_REDIS_ADDR (bash .ci/run starts one). redis.sh measures the Redis
// rows alone, acache's and gregjones's runs interleaved, for comparisons
// before and after a change to rediscache.
package benchmarks
