package cli

import (
	"encoding/json"
	"io"
	"text/tabwriter"
)

// writeJSON writes v as one JSON line (the --json format: an object per thing).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeJSONLines writes one JSON line per item, converted by toJSON (the --json format of the
// list commands).
func writeJSONLines[T, J any](w io.Writer, items []T, toJSON func(T) J) error {
	for _, it := range items {
		if err := writeJSON(w, toJSON(it)); err != nil {
			return err
		}
	}
	return nil
}

// newTable is the aligned text table of the list commands; Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// updatedVerb starts the text answer of an update command: "updated", or "unchanged:" when the
// values given were the current ones.
func updatedVerb(changed bool) string {
	if changed {
		return "updated"
	}
	return "unchanged:"
}

// orDash shows an empty value as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip shortens s to n runes, ending in "…" when cut.
func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
