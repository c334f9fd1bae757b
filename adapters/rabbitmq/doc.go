// Package rabbitmq is the production event bus: it publishes outbox records to RabbitMQ with
// publisher confirms (domain.Publisher) and feeds each projection from its own durable queue
// (projections.Subscriber).
//
// It owns three things:
//
//   - The bus topology (topology.go): one durable fanout exchange (default "posthaste.events"),
//     one durable queue per projection ("posthaste.projection.<name>") bound to it, and a
//     durable direct dead-letter exchange ("<exchange>.dlx") routing each projection's rejected
//     messages to its durable dead-letter queue ("posthaste.projection.<name>.dead"). Queues
//     are quorum queues by default (Config.QueueType; classic on request).
//   - The connections (connection.go): managedConnection is the one connection manager. The
//     publisher holds one and each subscription another; each dials once at start (its error
//     is returned), notices when the broker closes it (restart, wipe, forced close, missed
//     heartbeats), redials in the background with capped backoff (100 ms, x1.5, ±50 %, up to
//     Config.ReconnectMax), hands the current *amqp091.Connection to its holder, signals each
//     redial and stops on Close. Every channel is opened on it. It is race-free under the
//     race detector; watermill-amqp's ConnectionWrapper, which it replaces, is not
//     (ThreeDotsLabs/watermill#693).
//   - The message format: messages are persistent, their body is the stored envelope bytes
//     (events.Marshal), the AMQP message-id is the event id and the position travels as the
//     "position" header.
//
// Both production paths use amqp091 directly, because what they need is below what a generic
// pub/sub library offers:
//
//   - Publisher pipelines its confirms: each batch goes out on one confirm-mode channel with
//     amqp091's deferred confirms, up to PublishWindow (1000) in flight, and the broker acks
//     many at once (multiple=true ack frames). watermill-amqp's Publish waits for each confirm
//     in turn on the channel it holds, one message in flight per call; over a pool of channels
//     (ConfirmsPool, confirmspool.go) it costs ~51 µs client CPU per event against ~22 µs,
//     1.3-1.7x the broker CPU and half the throughput on quorum queues (docs/benchmarks.md,
//     "Relay into RabbitMQ"). ConfirmsPool is kept only as that benchmark's yardstick: the
//     binary cannot select it, and it runs on watermill's own connection, outside the
//     connection manager, since it is no production path. Publish refuses to run before
//     DeclareTopology, so no record is ever confirmed into a queue-less exchange; after a
//     failed publish or a redial the topology is declared again before the next publish. A
//     nack, a closed channel or a lost connection fails the whole Publish: the relay keeps the
//     rows and publishes them again.
//   - Subscriber consumes with manual acks and a bounded prefetch (QoS, Config.Prefetch) on a
//     channel of its subscription's managed connection. DeadLetter is a Nack without requeue,
//     so the broker moves the message to the dead-letter queue (watermill-amqp's subscriber
//     requeues on Nack); when the consumer ends (connection lost, queue deleted) the
//     subscription opens a channel again with backoff, on the same connection if it is still
//     up, else as soon as it is redialled, declares its topology again and sends on its
//     reconnected channel, so the projection reconciles from the store (watermill-amqp's
//     subscriber does not tell its caller about reconnects).
//
// It must not decide anything about events: no filtering, ordering or deduplication (consumers
// skip duplicates), and it imports no other adapter.
package rabbitmq
