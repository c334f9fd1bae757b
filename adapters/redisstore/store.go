package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// DefaultKeyPrefix prefixes every key the store writes.
const DefaultKeyPrefix = "posthaste:"

// Config says where Redis is.
type Config struct {
	// URL is e.g. "redis://127.0.0.1:6379/0".
	URL string
	// KeyPrefix is prepended to every key (tests use a random one).
	KeyPrefix string
}

// Store is the Redis adapter. Build it with Open; Close it when done.
type Store struct {
	rdb    *redis.Client
	prefix string
	log    *slog.Logger
	random io.Reader
}

// Open connects to Redis and checks it answers. random is the source of lock tokens
// (crypto/rand.Reader in production; tests may pin it).
func Open(ctx context.Context, cfg Config, logger *slog.Logger, random io.Reader) (*Store, error) {
	var errs []error
	if cfg.URL == "" {
		errs = append(errs, errors.New("url is empty"))
	}
	if logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if random == nil {
		errs = append(errs, errors.New("random source is nil"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("redisstore: open: %w", errors.Join(errs...))
	}
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: open: parse url: %w", err)
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	s := &Store{rdb: redis.NewClient(opts), prefix: cfg.KeyPrefix, log: logger, random: random}
	if err := s.Ping(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("redisstore: open: %w", err)
	}
	return s, nil
}

// Ping checks Redis answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// Close closes the client's connections.
func (s *Store) Close() error {
	if err := s.rdb.Close(); err != nil {
		return fmt.Errorf("redisstore: close: %w", err)
	}
	return nil
}
