package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/posthaste/posthaste/events"
)

var update = flag.Bool("update", false, "rewrite golden files")

var pinned = time.Date(2026, 11, 24, 10, 30, 0, 123456000, time.UTC)

// fill sets every exported field to a deterministic non-zero value, so the golden file shows
// each field's wire name.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(pinned))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Bool:
		v.SetBool(true)
	}
}

// TestGolden freezes the JSON of every event type of the catalogue. A failing test means a
// payload or envelope changed on the wire: bump schema_version instead of editing in place.
func TestGolden(t *testing.T) {
	for _, name := range events.Types() {
		t.Run(name, func(t *testing.T) {
			ev, _ := events.Sample(name)
			fill(reflect.ValueOf(ev).Elem())
			env, err := events.New(ev, events.Meta{
				ID: "0196f1c2-8a00-7000-8000-000000000001", StreamType: "s", StreamID: "id-1",
				StreamVersion: 3, ServerID: "srv-1", OccurredAt: pinned,
				Actor:         events.Actor{Type: events.ActorCLI, ID: "root"},
				CorrelationID: "corr-1", CausationID: "cause-1",
			})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := events.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, raw, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("missing golden file (run go test ./events -update): %v", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("%s changed on the wire:\n got %s\nwant %s", name, pretty.Bytes(), want)
			}
			// The stored bytes decode back to the same typed payload.
			back, err := events.Unmarshal(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := events.Decode(back)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, ev) {
				t.Errorf("round trip: got %#v want %#v", got, ev)
			}
		})
	}
}

func TestCatalogueCoversDesign(t *testing.T) {
	want := []string{
		"message.queued", "message.held", "message.released", "message.hold_cancelled",
		"message.signed", "message.attempted", "message.delivered", "message.deferred",
		"message.bounced", "message.expired", "message.opened", "message.clicked",
		"message.complained", "message.unsubscribed",
		"org.created", "user.created", "user.membership_changed", "server.created",
		"server.updated", "domain.added", "domain.verified", "domain.dns_checked",
		"domain.dkim_rotated", "credential.created", "credential.updated", "credential.revoked",
		"suppression.added", "suppression.removed", "webhook.created", "webhook.updated",
		"webhook.secret_rotated", "webhook.disabled", "server.send_limit_approaching",
		"server.send_limit_exceeded",
	}
	for _, w := range want {
		if events.SchemaVersion(w) < 1 {
			t.Errorf("catalogue lacks %s", w)
		}
	}
}

func TestNewIDIsUUIDv7OrderedByTime(t *testing.T) {
	zero := bytes.NewReader(make([]byte, 64))
	a := events.NewID(pinned, zero)
	b := events.NewID(pinned.Add(time.Millisecond), bytes.NewReader(make([]byte, 64)))
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !re.MatchString(a) {
		t.Fatalf("%q is not a UUIDv7", a)
	}
	if !(a < b) {
		t.Fatalf("ids not ordered by time: %s !< %s", a, b)
	}
	if a != "01a20d1a-f4bb-7000-8000-000000000000" {
		t.Fatalf("pinned id changed: %s", a)
	}
}

func TestNewRefusesIncompleteEnvelope(t *testing.T) {
	_, err := events.New(events.OrgCreated{Name: "acme"}, events.Meta{OccurredAt: pinned})
	if err == nil {
		t.Fatal("envelope without id, stream and actor accepted")
	}
	for _, part := range []string{"id is empty", "stream_type", "stream_version", "actor.type"} {
		if !bytes.Contains([]byte(err.Error()), []byte(part)) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
}

func TestDecodeUnknownType(t *testing.T) {
	_, err := events.Decode(events.Envelope{Type: "message.teleported", Payload: json.RawMessage(`{}`)})
	if !errors.Is(err, events.ErrUnknownType) {
		t.Fatalf("got %v, want ErrUnknownType", err)
	}
}

func TestServerIDIsNullForOrgStreams(t *testing.T) {
	env, err := events.New(events.OrgCreated{Name: "acme"}, events.Meta{
		ID: "i", StreamType: events.StreamOrg, StreamID: "acme", StreamVersion: 1,
		OccurredAt: pinned, Actor: events.Actor{Type: events.ActorCLI, ID: "root"},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := events.Marshal(env)
	if !bytes.Contains(raw, []byte(`"server_id":null`)) {
		t.Fatalf("server_id not null: %s", raw)
	}
}
