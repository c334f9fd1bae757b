package messageview

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Query is a parsed operator search. Zero fields do not filter; all given filters must hold.
type Query struct {
	To      []string  // full address (exact, case-insensitive) or a domain ("@example.org" or "example.org")
	From    []string  // envelope sender (exact) or a part of the From header
	Status  []string  // any of these statuses
	Tag     []string  // exact tag
	MsgID   []string  // Message-ID header, with or without <>
	Subject []string  // part of the subject
	Before  time.Time // queued before (exclusive)
	After   time.Time // queued at or after
	Text    []string  // free words: part of the recipient, sender, From header or subject
}

// ParseQuery parses the operators' syntax: space-separated terms, each `key:value` or a free
// word; values may be double-quoted to hold spaces ("subject:\"weekly report\""). Keys: to,
// from, status, tag, msgid, subject, before, after. before/after take RFC 3339 or a date
// (2006-01-02, midnight UTC): "after:2026-11-17 before:2026-11-18" is that whole UTC day.
// Unknown keys and bad values are errors naming the term.
func ParseQuery(s string) (Query, error) {
	var q Query
	terms, err := splitTerms(s)
	if err != nil {
		return q, err
	}
	var errs []error
	for _, t := range terms {
		key, val, ok := strings.Cut(t, ":")
		if !ok || strings.ContainsAny(key, "\" ") || key == "" {
			q.Text = append(q.Text, unquote(t))
			continue
		}
		val = unquote(val)
		if val == "" {
			errs = append(errs, fmt.Errorf("%s: empty value", key))
			continue
		}
		switch strings.ToLower(key) {
		case "to":
			q.To = append(q.To, strings.ToLower(val))
		case "from":
			q.From = append(q.From, strings.ToLower(val))
		case "status":
			v := strings.ToLower(val)
			if !slices.Contains(Statuses, v) {
				errs = append(errs, fmt.Errorf("status:%s: unknown status (want one of %s)", val, strings.Join(Statuses, ", ")))
				continue
			}
			q.Status = append(q.Status, v)
		case "tag":
			q.Tag = append(q.Tag, val)
		case "msgid":
			q.MsgID = append(q.MsgID, NormalizeMsgID(val))
		case "subject":
			q.Subject = append(q.Subject, val)
		case "before", "after":
			tm, err := ParseTime(val)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s:%s: %w", key, val, err))
				continue
			}
			if key == "before" {
				q.Before = tm
			} else {
				q.After = tm
			}
		default:
			// Not a known key: a free word that holds a colon (e.g. a URL or a time).
			q.Text = append(q.Text, unquote(t))
		}
	}
	if len(errs) > 0 {
		return q, fmt.Errorf("messages: query: %w", errors.Join(errs...))
	}
	return q, nil
}

// ParseTime reads RFC 3339 (fractions allowed) or a date (midnight UTC).
func ParseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 (2026-11-24T10:00:00Z) or a date (2026-11-24)")
}

// splitTerms splits on blanks outside double quotes.
func splitTerms(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote := false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			cur.WriteRune(r)
		case (r == ' ' || r == '\t') && !inQuote:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if inQuote {
		return nil, errors.New("messages: query: unterminated quote")
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

func unquote(s string) string { return strings.ReplaceAll(s, `"`, "") }

// Cursor is a position in a listing: the (queued time, message id) of the last row returned.
type Cursor struct {
	QueuedUS  int64
	MessageID string
}

// Encode returns the opaque text form given to clients.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.QueuedUS, 10) + ":" + c.MessageID))
}

// DecodeCursor reads a cursor made by Encode.
func DecodeCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, fmt.Errorf("messages: bad cursor: %w", err)
	}
	ts, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || id == "" {
		return Cursor{}, errors.New("messages: bad cursor")
	}
	return Cursor{QueuedUS: n, MessageID: id}, nil
}
