// Package redisstore keeps in Redis what Posthaste may lose: leadership locks now, rate limits
// and caches later.
//
// It owns the Redis key layout under a configurable prefix. It must never hold anything whose
// loss could lose or duplicate a message (the Redis server keeps nothing on disk): a lost lock
// only lets two leaders overlap for a moment, which the leader work tolerates by design.
package redisstore
