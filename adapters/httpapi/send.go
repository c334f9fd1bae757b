package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/submission"
)

// sent is one accepted submission as the API reports it.
type sent struct {
	MessageID  string // Message-ID header without angle brackets
	Recipients []sentRcpt
}

type sentRcpt struct {
	Address  string
	StreamID string
	ID       int64
	Token    string
}

// accept submits one message for rcpts as the caller (Commands.Submit: an API key acts for its
// server; the admin token for the server in scope, with the credential id "admin") and gives
// each message stream its integer id and token. The ids are recorded in the acceptance
// transaction (submission.Submission.PostalIDs): a client told an id can always look it up, and
// a failed acceptance leaves no id behind. The application wakes the delivery workers.
func (a *API) accept(ctx context.Context, p principal, mailFrom string, rcpts []string, body []byte, ip string) (sent, error) {
	var ids []int64
	var tokens []string
	sub := submission.Submission{
		Principal:  submission.Principal{ServerID: p.ServerID},
		MailFrom:   mailFrom,
		Recipients: rcpts,
		Body:       body,
		ClientIP:   ip,
		TLS:        true,
		Source:     "api",
		PostalIDs: func(ctx context.Context, messageIDs []string) ([]submission.PostalID, error) {
			tokens = make([]string, len(messageIDs))
			for i := range tokens {
				t, err := randomToken(a.cfg.Random, 12)
				if err != nil {
					return nil, err
				}
				tokens[i] = t
			}
			var err error
			if ids, err = a.cfg.Store.NewPostalIDs(ctx, len(messageIDs)); err != nil {
				return nil, err
			}
			out := make([]submission.PostalID, len(ids))
			for i, id := range ids {
				out[i] = submission.PostalID{MessageID: messageIDs[i], ID: id, Token: tokens[i]}
			}
			return out, nil
		},
	}
	if p.Admin {
		sub.Principal.CredentialID = adminActor.ID
	}
	res, err := a.app.Commands.Submit(ctx, p.caller, sub)
	if err != nil {
		return sent{}, err
	}
	if len(ids) != len(res.MessageIDs) {
		return sent{}, fmt.Errorf("httpapi: accept: %d ids for %d messages", len(ids), len(res.MessageIDs))
	}
	// Submit dedupes recipients in order; map them back the same way.
	out := sent{MessageID: strings.TrimSuffix(strings.TrimPrefix(res.MessageID, "<"), ">")}
	seen := map[string]bool{}
	i := 0
	for _, r := range rcpts {
		r = strings.TrimSpace(r)
		k := r // the same key as submission's dedupe: the domain compared case-insensitively
		if at := strings.LastIndexByte(r, '@'); at >= 0 {
			k = r[:at] + "@" + strings.ToLower(r[at+1:])
		}
		if r == "" || seen[k] || i >= len(ids) {
			continue
		}
		seen[k] = true
		out.Recipients = append(out.Recipients, sentRcpt{Address: r, StreamID: res.MessageIDs[i], ID: ids[i], Token: tokens[i]})
		i++
	}
	return out, nil
}

// replyError returns the submission refusal inside err, if any.
func replyError(err error) (*submission.ReplyError, bool) {
	var re *submission.ReplyError
	if errors.As(err, &re) {
		return re, true
	}
	return nil, false
}

// outcome is a finished response: stored for an Idempotency-Key unless Temporary.
type outcome struct {
	Status    int
	Type      string // Content-Type
	Body      []byte
	Temporary bool // a failure a retry may cure: the key is released, nothing stored
}

// idemConflict says why a key cannot be used for this request.
type idemConflict int

const (
	idemReused   idemConflict = iota + 1 // same key, different request
	idemInFlight                         // the first request with the key still runs
)

// idempotent runs handle at most once per (server, Idempotency-Key): a repeat of the same
// request gets the stored response, a different request under the key gets conflict.
func (a *API) idempotent(w http.ResponseWriter, r *http.Request, p principal, raw []byte,
	handle func() outcome, conflict func(idemConflict) outcome) {
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" {
		writeOutcome(w, handle())
		return
	}
	if len(key) > 255 {
		key = key[:255]
	}
	sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), raw...))
	hash := hex.EncodeToString(sum[:])
	ctx := r.Context()
	got, reserved, err := a.cfg.Store.Reserve(ctx, p.ServerID, key, hash, a.cfg.Clock(), a.cfg.IdempotencyTTL)
	if err != nil {
		a.log.Error("httpapi: idempotency key", "err", err)
		writeOutcome(w, conflict(0))
		return
	}
	if reserved {
		o := handle()
		// Store with a context that outlives a client that hung up: the acceptance happened.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if o.Temporary {
			if err := a.cfg.Store.Release(sctx, p.ServerID, key); err != nil {
				a.log.Error("httpapi: release idempotency key", "err", err)
			}
		} else if err := a.cfg.Store.Complete(sctx, p.ServerID, key, o.Status, encodeStored(o)); err != nil {
			a.log.Error("httpapi: store idempotent response", "err", err)
		}
		writeOutcome(w, o)
		return
	}
	// Someone used the key before: wait for its result when it is still running.
	deadline := a.cfg.Clock().Add(15 * time.Second)
	for got.Status == 0 {
		if got.RequestHash != hash {
			writeOutcome(w, conflict(idemReused))
			return
		}
		if a.cfg.Clock().After(deadline) {
			writeOutcome(w, conflict(idemInFlight))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
		var found bool
		got, found, err = a.cfg.Store.Lookup(ctx, p.ServerID, key)
		if err != nil || !found { // released by a temporary failure: the client retries
			writeOutcome(w, conflict(idemInFlight))
			return
		}
	}
	if got.RequestHash != hash {
		writeOutcome(w, conflict(idemReused))
		return
	}
	o := decodeStored(got.Response)
	o.Status = got.Status
	w.Header().Set("Idempotent-Replayed", "true")
	writeOutcome(w, o)
}

// encodeStored keeps the content type beside the body: "<type>\n<body>".
func encodeStored(o outcome) []byte { return append([]byte(o.Type+"\n"), o.Body...) }

func decodeStored(b []byte) outcome {
	typ, body, _ := bytes.Cut(b, []byte("\n"))
	return outcome{Status: http.StatusOK, Type: string(typ), Body: body}
}

func writeOutcome(w http.ResponseWriter, o outcome) {
	if o.Type != "" {
		w.Header().Set("Content-Type", o.Type)
	}
	if o.Status == 0 {
		o.Status = http.StatusOK
	}
	w.WriteHeader(o.Status)
	w.Write(o.Body)
}
