package events

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"time"
)

// Event is a typed payload of the catalogue. EventType returns its stable wire name.
type Event interface {
	EventType() string
}

// ErrUnknownType is returned by Decode for a wire name missing from the catalogue.
var ErrUnknownType = errors.New("events: unknown event type")

type typeInfo struct {
	schemaVersion int
	goType        reflect.Type
}

var registry = map[string]typeInfo{}

// register adds a payload type to the catalogue. It panics on a duplicate wire name, at init time.
func register(ev Event, schemaVersion int) {
	name := ev.EventType()
	if _, dup := registry[name]; dup {
		panic("events: duplicate wire name " + name)
	}
	t := reflect.TypeOf(ev)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	registry[name] = typeInfo{schemaVersion: schemaVersion, goType: t}
}

// Types lists every registered wire name, sorted.
func Types() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// SchemaVersion returns the current schema version of a wire name, or 0 if it is unknown.
func SchemaVersion(wireName string) int { return registry[wireName].schemaVersion }

// Sample returns a zero value of the payload type of a wire name (used by golden tests).
func Sample(wireName string) (Event, bool) {
	ti, ok := registry[wireName]
	if !ok {
		return nil, false
	}
	return reflect.New(ti.goType).Interface().(Event), true
}

// Meta is everything of an envelope except its type and payload.
type Meta struct {
	ID            string // UUIDv7; NewID makes one
	StreamType    string
	StreamID      string
	StreamVersion int64
	ServerID      string // "" for org/user streams
	OccurredAt    time.Time
	Actor         Actor
	CorrelationID string
	CausationID   string
}

// New builds an envelope around a typed payload.
func New(ev Event, m Meta) (Envelope, error) {
	ti, ok := registry[ev.EventType()]
	if !ok {
		return Envelope{}, fmt.Errorf("%w: %s", ErrUnknownType, ev.EventType())
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return Envelope{}, fmt.Errorf("events: encode %s: %w", ev.EventType(), err)
	}
	env := Envelope{
		ID:            m.ID,
		Type:          ev.EventType(),
		SchemaVersion: ti.schemaVersion,
		StreamType:    m.StreamType,
		StreamID:      m.StreamID,
		StreamVersion: m.StreamVersion,
		OccurredAt:    m.OccurredAt.UTC(),
		Actor:         m.Actor,
		CorrelationID: m.CorrelationID,
		CausationID:   m.CausationID,
		Payload:       payload,
	}
	if m.ServerID != "" {
		s := m.ServerID
		env.ServerID = &s
	}
	return env, env.Validate()
}

// Decode returns the typed payload of an envelope.
func Decode(env Envelope) (Event, error) {
	ti, ok := registry[env.Type]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownType, env.Type)
	}
	v := reflect.New(ti.goType).Interface().(Event)
	if err := json.Unmarshal(env.Payload, v); err != nil {
		return nil, fmt.Errorf("events: decode %s payload: %w", env.Type, err)
	}
	return v, nil
}

// NewID returns a UUIDv7 (RFC 9562) for the given time, drawing its random bits from r
// (crypto/rand when r is nil). Inject both in tests to pin the result.
func NewID(now time.Time, r io.Reader) string {
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	ms := uint64(now.UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(b[0:6], ts[2:8])
	if _, err := io.ReadFull(r, b[6:]); err != nil {
		panic("events: random source failed: " + err.Error())
	}
	b[6] = (b[6] & 0x0f) | 0x70 // version 7
	b[8] = (b[8] & 0x3f) | 0x80 // variant 10
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
