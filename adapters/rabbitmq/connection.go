package rabbitmq

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	amqp "github.com/rabbitmq/amqp091-go"
)

// errNotConnected: the managed connection is down and being redialled.
var errNotConnected = errors.New("not connected")

// dial opens a managed connection to the broker, the package's one connection manager: the
// publisher and every subscription hold one. watermill-amqp's ConnectionWrapper dials at once
// (its error is returned) and, after the connection is lost, redials in the background with
// backoff (100 ms, ×1.5, ±50 %, capped at cfg.ReconnectMax) until Close. Callers open their
// channels on live(conn) and open them again after a loss.
func dial(cfg Config, logger *slog.Logger) (*wmamqp.ConnectionWrapper, error) {
	conn, err := wmamqp.NewConnection(wmamqp.ConnectionConfig{
		AmqpURI: cfg.URL,
		Reconnect: &wmamqp.ReconnectConfig{
			BackoffInitialInterval:     100 * time.Millisecond,
			BackoffRandomizationFactor: 0.5,
			BackoffMultiplier:          1.5,
			BackoffMaxInterval:         cfg.ReconnectMax,
		},
	}, watermillLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}

// watermillLogger adapts logger for watermill, which logs every connection and channel pool
// event at info: those go to debug.
func watermillLogger(logger *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(logger.With(slog.String("component", "watermill-amqp")), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})
}

// live returns conn's current connection, or errNotConnected while it is being redialled.
func live(conn *wmamqp.ConnectionWrapper) (*amqp.Connection, error) {
	c := conn.Connection()
	if !conn.IsConnected() || c == nil || c.IsClosed() {
		return nil, errNotConnected
	}
	return c, nil
}
