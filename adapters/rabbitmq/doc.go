// Package rabbitmq is the production event bus: it publishes outbox records to RabbitMQ with
// publisher confirms and feeds each projection from its own durable queue.
//
// It owns the bus topology (topology.go): one durable fanout exchange (default
// "posthaste.events"), one durable queue per projection ("posthaste.projection.<name>") bound
// to it, and a durable direct dead-letter exchange ("<exchange>.dlx") routing each projection's
// rejected messages to its durable dead-letter queue ("posthaste.projection.<name>.dead").
// Queues are quorum queues by default (Config.QueueType; classic on request).
//
// Connections (connection.go): watermill-amqp's ConnectionWrapper is the one connection
// manager. The publisher holds one managed connection and each subscription another; each
// dials once at start (its error is returned) and is redialled with backoff after a broker
// restart, wipe or forced close. Everything else runs on channels of those connections.
//
// Publisher (domain.Publisher) pipelines its confirms (Config.Confirms):
//   - ConfirmsDeferred (default): each batch goes out on one confirm-mode amqp091 channel of
//     the managed connection with amqp091's deferred confirms, up to PublishWindow (1000) in
//     flight; the broker acks many at once (multiple=true). watermill-amqp's own Publish waits
//     for each confirm in turn on the channel it holds, so one call has one message in flight.
//   - ConfirmsPool: watermill-amqp's Publisher over its channel pool (Publish.ChannelPoolSize,
//     ConfirmDelivery) with PublishChannels goroutines calling Publish concurrently, one record
//     each.
//
// Deferred confirms are the default because they cost less CPU on both sides: measured on the
// project machine, ~22 µs client CPU per event against ~51-63 µs for the pool, and 1.3-1.7x
// less broker CPU (the pool costs one ack frame and one goroutine hand-off per message), with
// twice the throughput on quorum queues (docs/benchmarks.md, "Relay into RabbitMQ"). Messages
// are persistent, their body is the stored envelope bytes (events.Marshal), the AMQP message-id
// (the watermill UUID in pool mode) is the event id, and the position travels as the
// "position" header. Publish refuses to run before DeclareTopology, so no record is ever
// confirmed into a queue-less exchange; after a failed publish or a reconnect the topology is
// declared again before the next publish. A nack, a closed channel or a lost connection fails
// the whole Publish: the relay keeps the rows and publishes them again.
//
// Subscriber (projections.Subscriber) consumes with amqp091 on a channel of its managed
// connection, not with watermill-amqp's subscriber: that one requeues on Nack and does not tell
// its caller about reconnects, and a projection needs both a dead-letter that never requeues
// and a reconnect signal to reconcile from the store. Each subscription has a bounded prefetch
// (QoS) and manual acks; when its consumer ends (connection lost, queue deleted) it opens a
// channel again with backoff, declares its topology again and sends on the reconnected
// channel.
//
// It must not decide anything about events: no filtering, ordering or deduplication (consumers
// skip duplicates), and it imports no other adapter.
package rabbitmq
