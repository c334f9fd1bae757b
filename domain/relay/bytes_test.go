package relay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/posthaste/posthaste/adapters/bustest"
	"github.com/posthaste/posthaste/adapters/rabbitmq"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/relay"
	"github.com/posthaste/posthaste/events"
)

// TestPublishedBodiesAreMarshalledEnvelopes: the relay publishes the stored bytes as they are
// (no decode and re-encode), so every message body must still be byte for byte what
// events.Marshal makes of the appended envelope, whatever form the envelope had when appended
// (a non-UTC time, a payload with spaces), with the position header beside it.
func TestPublishedBodiesAreMarshalledEnvelopes(t *testing.T) {
	for name, open := range map[string]func(testing.TB) domain.EventStore{
		"mariadb": func(t testing.TB) domain.EventStore { return sqlstoretest.MariaDB(t) },
		"sqlite":  func(t testing.TB) domain.EventStore { return sqlstoretest.SQLite(t) },
	} {
		t.Run(name, func(t *testing.T) {
			store := open(t)
			recs := bustest.Records(0, 250)
			paris := time.FixedZone("CET", 3600)
			for i := range recs {
				if i%2 == 0 {
					recs[i].Envelope.OccurredAt = recs[i].Envelope.OccurredAt.In(paris)
					recs[i].Envelope.Payload = json.RawMessage("{ \"n\" : [1, 2],\n \"s\": \"é<&>\" }")
				}
			}
			cfg := rabbitConfig(t, "raw")
			pub := newPublisher(t, cfg, "raw")
			appendAll(t, store, recs)
			r, err := relay.New(fast(), store.(domain.Outbox), pub, redisLocker(t), quiet(), time.Now)
			if err != nil {
				t.Fatal(err)
			}
			runRelay(t, r)

			conn, err := amqp.Dial(cfg.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ch, err := conn.Channel()
			if err != nil {
				t.Fatal(err)
			}
			ds, err := ch.ConsumeWithContext(context.Background(), cfg.QueuePrefix+"raw", "", true, false, false, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{}
			for _, rec := range recs {
				b, err := events.Marshal(rec.Envelope)
				if err != nil {
					t.Fatal(err)
				}
				want[rec.Envelope.ID] = b
			}
			seen := map[string]bool{}
			deadline := time.After(30 * time.Second)
			for len(seen) < len(recs) {
				select {
				case d := <-ds:
					w, ok := want[d.MessageId]
					if !ok {
						t.Fatalf("unexpected message %q", d.MessageId)
					}
					if !bytes.Equal(d.Body, w) {
						t.Fatalf("message %s body\n%s\nwant\n%s", d.MessageId, d.Body, w)
					}
					if _, ok := d.Headers[rabbitmq.HeaderPosition].(int64); !ok {
						t.Fatalf("message %s: position header %#v", d.MessageId, d.Headers[rabbitmq.HeaderPosition])
					}
					seen[d.MessageId] = true
				case <-deadline:
					t.Fatalf("%d of %d messages after 30s", len(seen), len(recs))
				}
			}
		})
	}
}
