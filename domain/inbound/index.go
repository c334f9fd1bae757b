package inbound

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
)

// MessageIndex finds messages by the Message-ID header they were submitted with: the
// fallback link of a report whose VERP envelope was lost. It is served by the message view
// read model (projections/messages), which keeps the normalised Message-ID of every message
// (one row per recipient) under an index, so the lookup is one indexed read, not a scan of
// the event log.
//
// Contract:
//   - ByMessageID returns the messages whose Message-ID header, normalised (angle brackets and
//     surrounding white space removed, lower case), equals msgID normalised the same way, and
//     whose recipient is one of rcpts (case-insensitive; nil or empty: any recipient), queued
//     at or after since, oldest first, at most limit of them. An unknown id gives none.
//   - The recipient filter applies before the limit: a submission to many recipients does not
//     crowd the reported one out.
//   - Each result carries the message's recipient (lower case), so the caller can check it
//     against the report before loading anything from the event log.
//   - The read model lags the log: a message queued an instant ago may be missing. Reports
//     arrive minutes to days after delivery, so the lag does not matter for this use.
type MessageIndex interface {
	ByMessageID(ctx context.Context, msgID string, rcpts []string, since time.Time, limit int) ([]IndexedMessage, error)
}

// IndexedMessage is one message found by MessageIndex.
type IndexedMessage struct {
	ID       string // the message (stream) id
	ServerID string
	RcptTo   string // its recipient, lower case
}

// RefHeader is the header field the delivery worker adds to each outgoing message (one per
// recipient, dispatch.Config.Ref) to name it unforgeably: "<message id>.<tag>", where the tag is an HMAC-SHA256 of
// the message id under the server secret (Ref). A report returning this field with a valid
// tag links to that message as firmly as the VERP envelope does; a wrong tag is ignored.
const RefHeader = "X-Posthaste-Ref"

// refTagLen is the number of HMAC bytes kept in a reference (128 bits).
const refTagLen = 16

// Ref returns the value of RefHeader for message id under key.
func Ref(key []byte, id string) string {
	return id + "." + refTag(key, id)
}

func refTag(key []byte, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("posthaste-ref:v1:"))
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:refTagLen])
}

// VerifyRef returns the message id named by a RefHeader value whose tag is valid under key,
// or "" and false. An empty key verifies nothing.
func VerifyRef(key []byte, value string) (string, bool) {
	if len(key) == 0 {
		return "", false
	}
	v := strings.TrimSpace(value)
	i := strings.LastIndexByte(v, '.')
	if i <= 0 || i == len(v)-1 {
		return "", false
	}
	id, tag := v[:i], v[i+1:]
	if !hmac.Equal([]byte(tag), []byte(refTag(key, id))) {
		return "", false
	}
	return id, true
}
