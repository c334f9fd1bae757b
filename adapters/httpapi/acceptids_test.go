package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/events"
)

type captureAcceptor struct{ got *submission.Acceptance }

func (c captureAcceptor) Accept(_ context.Context, a submission.Acceptance) error {
	*c.got = a
	return nil
}

// acceptance builds a real acceptance for rcpts of server acme/main (nothing written: the
// application of e, with an acceptor that only keeps it) whose Postal ids come from s.
func acceptance(t *testing.T, e *env, s *sqlstore.API, rcpts ...string) (submission.Acceptance, []int64) {
	t.Helper()
	var got submission.Acceptance
	var ids []int64
	app := newApp(t, e.store, e.dialect, func(d *platform.Deps) { d.Acceptor = captureAcceptor{&got} })
	op := platform.Operator(events.Actor{Type: events.ActorCLI, ID: "test"})
	_, err := app.Commands.Submit(context.Background(), op, submission.Submission{
		Principal: submission.Principal{ServerID: "acme/main", CredentialID: "c"}, MailFrom: "app@example.org", Recipients: rcpts,
		Body: []byte("From: app@example.org\r\nSubject: ids\r\n\r\nbody\r\n"), Source: "api",
		PostalIDs: func(ctx context.Context, messageIDs []string) ([]submission.PostalID, error) {
			var err error
			if ids, err = s.NewPostalIDs(ctx, len(messageIDs)); err != nil {
				return nil, err
			}
			out := make([]submission.PostalID, len(ids))
			for i, id := range ids {
				out[i] = submission.PostalID{ID: id, Token: "tok" + messageIDs[i][len(messageIDs[i])-6:]}
			}
			return out, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return got, ids
}

// TestPostalIDsExistExactlyWithTheirMessage: the Postal integer ids are written in the
// acceptance transaction. A send answers ids that resolve to messages that exist; an
// acceptance that fails on its events leaves no id, and one that fails on its id rows leaves
// no body and no event.
func TestPostalIDsExistExactlyWithTheirMessage(t *testing.T) {
	for name, mk := range map[string]func(testing.TB) (backend, string){"sqlite": sqliteBackend, "mariadb": mariadbBackend} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, mk, options{})
			ctx := context.Background()
			s := e.store.API()
			streamLen := func(id string) int {
				t.Helper()
				recs, err := e.store.ReadStream(ctx, events.StreamMessage, id, 1)
				if err != nil {
					t.Fatal(err)
				}
				return len(recs)
			}
			hasBody := func(id string) bool {
				t.Helper()
				_, err := e.store.Body(ctx, id)
				if err != nil && !strings.Contains(err.Error(), "no such body") {
					t.Fatal(err)
				}
				return err == nil
			}

			// Through the API: every id answered resolves to its message, which exists.
			var sent struct {
				Messages []struct {
					ID       string `json:"id"`
					PostalID int64  `json:"postal_id"`
				} `json:"messages"`
			}
			e.v2("POST", "/api/v2/send", map[string]any{"from": "app@example.org", "to": []string{"a@remote.test", "b@remote.test"}, "subject": "s", "text": "t"},
				http.StatusAccepted, &sent)
			if len(sent.Messages) != 2 {
				t.Fatalf("send: %+v", sent)
			}
			for _, m := range sent.Messages {
				mid, _, found, err := s.MessageByID(ctx, "acme/main", m.PostalID)
				if err != nil || !found || mid != m.ID || streamLen(m.ID) != 1 {
					t.Fatalf("postal id %d: message %q found=%v err=%v, want %s with its events", m.PostalID, mid, found, err, m.ID)
				}
			}

			// Accepted directly: ids and messages together.
			ok, okIDs := acceptance(t, e, s, "c@remote.test")
			if err := e.store.Accept(ctx, ok); err != nil {
				t.Fatal(err)
			}
			if mid, _, found, err := s.MessageByID(ctx, "acme/main", okIDs[0]); err != nil || !found || mid != ok.Events[0].StreamID {
				t.Fatalf("accepted: id %d -> %q %v %v", okIDs[0], mid, found, err)
			}

			// The events clash: no body, no event, no id.
			bad, badIDs := acceptance(t, e, s, "d@remote.test", "e@remote.test")
			clash := bad.Events[len(bad.Events)-1]
			clash.StreamID, clash.StreamVersion = ok.Events[0].StreamID, 1
			bad.Events[len(bad.Events)-1] = clash
			if err := e.store.Accept(ctx, bad); err == nil {
				t.Fatal("accept with a version clash returned nil")
			}
			for _, id := range badIDs {
				if _, _, found, err := s.MessageByID(ctx, "acme/main", id); err != nil || found {
					t.Fatalf("failed acceptance left postal id %d (found=%v err=%v)", id, found, err)
				}
			}
			if hasBody(bad.BodyID) || streamLen(bad.Events[0].StreamID) != 0 {
				t.Fatal("failed acceptance left its body or events")
			}

			// The ids clash (an id already given): no body, no event.
			dup, _ := acceptance(t, e, s, "f@remote.test")
			dup.PostalIDs[0].ID = okIDs[0]
			if err := e.store.Accept(ctx, dup); err == nil {
				t.Fatal("accept with a duplicate postal id returned nil")
			}
			if hasBody(dup.BodyID) || streamLen(dup.Events[0].StreamID) != 0 {
				t.Fatal("acceptance failing on its postal ids left its body or events")
			}
			if mid, _, found, _ := s.MessageByID(ctx, "acme/main", okIDs[0]); !found || mid != ok.Events[0].StreamID {
				t.Fatalf("the earlier id changed: %q %v", mid, found)
			}
		})
	}
}
