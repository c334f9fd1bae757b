package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// errRawShape: the stored bytes are not an envelope this fast path reads; callers fall back to
// StandardBody.
var errRawShape = errors.New("webhook: stored envelope not understood by the fast path")

// StandardBodyRaw builds exactly the bytes StandardBody gives for the envelope whose stored
// JSON (events.Marshal) is raw, without decoding it into an events.Envelope and encoding the
// payload again: the sender's hot path. Values are copied as stored (encoding/json wrote them,
// so they are already in the form it would write again); only the time is reformatted. An
// error means the bytes are not a stored envelope: use StandardBody (the sender does).
//
// Why a second path beside StandardBody: docs/benchmarks.md, "Webhook deliveries", run of
// 2026-11-24 05:57–06:15 UTC: decoding the envelope and encoding the payload again was the
// sender's largest cost on MariaDB; with this path request building fell from ≈ 45 µs to
// ≈ 11 µs of CPU per delivery. StandardBody stays the fallback and the reference the tests
// compare these bytes with.
func StandardBodyRaw(raw []byte, msg *MessageFacts) ([]byte, error) {
	var f struct {
		id, typ, streamType, streamID, streamVersion, serverID, occurredAt, correlationID, payload []byte
	}
	err := topLevel(raw, func(key string, val []byte) {
		switch key {
		case "id":
			f.id = val
		case "type":
			f.typ = val
		case "stream_type":
			f.streamType = val
		case "stream_id":
			f.streamID = val
		case "stream_version":
			f.streamVersion = val
		case "server_id":
			f.serverID = val
		case "occurred_at":
			f.occurredAt = val
		case "correlation_id":
			f.correlationID = val
		case "payload":
			f.payload = val
		}
	})
	if err != nil {
		return nil, err
	}
	if !isString(f.id) || !isString(f.typ) || !isString(f.streamType) || !isString(f.streamID) || !isString(f.occurredAt) ||
		len(f.streamVersion) == 0 || f.streamVersion[0] == '"' {
		return nil, errRawShape
	}
	var at time.Time
	if err := at.UnmarshalJSON(f.occurredAt); err != nil {
		return nil, errRawShape
	}
	b := make([]byte, 0, len(raw)+256)
	b = append(b, `{"type":`...)
	b = append(b, f.typ...)
	b = append(b, `,"timestamp":`...)
	b, err = at.UTC().AppendText(append(b, '"'))
	if err != nil {
		return nil, errRawShape
	}
	b = append(b, `","data":{"event_id":`...)
	b = append(b, f.id...)
	if isString(f.serverID) && len(f.serverID) > 2 {
		b = append(append(b, `,"server":`...), f.serverID...)
	}
	b = append(append(b, `,"stream_type":`...), f.streamType...)
	b = append(append(b, `,"stream_id":`...), f.streamID...)
	b = append(append(b, `,"stream_version":`...), f.streamVersion...)
	if isString(f.correlationID) && len(f.correlationID) > 2 {
		b = append(append(b, `,"correlation_id":`...), f.correlationID...)
	}
	if string(f.streamType) == `"message"` {
		b = append(append(b, `,"message_id":`...), f.streamID...)
		if msg != nil {
			m, err := json.Marshal(msg)
			if err != nil {
				return nil, fmt.Errorf("webhook: payload message facts: %w", err)
			}
			b = append(append(b, `,"message":`...), m...)
		}
	}
	b = append(b, `,"details":`...)
	if len(f.payload) == 0 {
		b = append(b, "{}"...)
	} else {
		b = append(b, f.payload...)
	}
	return append(b, "}}"...), nil
}

func isString(v []byte) bool { return len(v) >= 2 && v[0] == '"' }

// topLevel calls fn with each key of a JSON object and the raw bytes of its value. Keys with
// escapes are refused (stored envelopes have none).
func topLevel(b []byte, fn func(key string, val []byte)) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errRawShape
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errRawShape
		}
		end, ok := stringEnd(b, i)
		if !ok {
			return errRawShape
		}
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return errRawShape
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errRawShape
		}
		i = skipSpace(b, i+1)
		vend, ok := valueEnd(b, i)
		if !ok {
			return errRawShape
		}
		fn(string(key), b[i:vend])
		i = skipSpace(b, vend)
		if i >= len(b) {
			return errRawShape
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			if skipSpace(b, i+1) != len(b) {
				return errRawShape
			}
			return nil
		default:
			return errRawShape
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the closing quote of the string starting at b[i].
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// valueEnd returns the index after the JSON value starting at b[i]. It checks nesting and
// strings, not the grammar of numbers and literals: the bytes were written by encoding/json.
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := stringEnd(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
			j++
		}
		return j, j > i
	}
}
