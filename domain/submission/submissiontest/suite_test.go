package submissiontest_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/domain/submission/submissiontest"
	"github.com/posthaste/posthaste/events"
)

// memAcceptor is the reference implementation the suite is checked against: one mutex is
// its transaction.
type memAcceptor struct {
	mu      sync.Mutex
	bodies  map[string][]byte
	streams map[string][]events.Record
	ids     map[int64]string // postal id -> message id
	next    int64
}

func (m *memAcceptor) Accept(_ context.Context, a submission.Acceptance) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.bodies[a.BodyID]; dup {
		return errors.New("duplicate body id")
	}
	next := map[string]int64{}
	for _, e := range a.Events {
		v, ok := next[e.StreamID]
		if !ok {
			v = int64(len(m.streams[e.StreamID]))
		}
		if e.StreamVersion != v+1 {
			return errors.New("version conflict")
		}
		next[e.StreamID] = v + 1
	}
	keys := map[int64]bool{}
	for _, p := range a.PostalIDs {
		if _, dup := m.ids[p.ID]; dup || keys[p.ID] {
			return errors.New("duplicate postal id")
		}
		keys[p.ID] = true
	}
	for _, p := range a.PostalIDs {
		m.ids[p.ID] = p.MessageID
	}
	m.bodies[a.BodyID] = append([]byte(nil), a.Body...)
	for _, e := range a.Events {
		m.streams[e.StreamID] = append(m.streams[e.StreamID], events.Record{Envelope: e})
	}
	return nil
}

func fixture(m *memAcceptor, acc submission.Acceptor) submissiontest.Fixture {
	return submissiontest.Fixture{
		Acceptor: acc,
		ReadStream: func(_ context.Context, _, id string) ([]events.Record, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			return append([]events.Record(nil), m.streams[id]...), nil
		},
		Body: func(_ context.Context, id string) ([]byte, bool, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			b, ok := m.bodies[id]
			return b, ok, nil
		},
		PostalID: func(messageID string) submission.PostalID {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.next++
			return submission.PostalID{MessageID: messageID, ID: m.next, Token: "t"}
		},
		PostalIDExists: func(_ context.Context, messageID string) (bool, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, mid := range m.ids {
				if mid == messageID {
					return true, nil
				}
			}
			return false, nil
		},
	}
}

func newMem() *memAcceptor {
	return &memAcceptor{bodies: map[string][]byte{}, streams: map[string][]events.Record{}, ids: map[int64]string{}}
}

func TestSuiteAgainstReference(t *testing.T) {
	submissiontest.RunAcceptorSuite(t, func(t *testing.T) submissiontest.Fixture {
		m := newMem()
		return fixture(m, m)
	})
}
