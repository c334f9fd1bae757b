package messageview

import (
	"bytes"
	"encoding/json"
	"testing"
)

// compact must store exactly what json.Compact gives (or the input when that fails), with or
// without its fast path for payloads that are compact already.
func TestCompactMatchesJSONCompact(t *testing.T) {
	inputs := []string{
		`{}`, `{"a":1}`, `{"a": 1}`, "{\"a\":\n 1}", `{"s":"two words"}`, `{"s":"a \" b","t":[1, 2]}`,
		`{"s":"esc \\","n":null}`, `{"s":"\\\" x"}`, `{"a":"x"`, `{"a":"unterminated}`, ` {"a":1}`, `{"a":1} `,
		`[1,2,{"b":"c d"}]`, "{\"a\":\"\\u00e9 \",\t\"b\":true}", `not json`, `{"s":"tab\tinside"}`,
	}
	for _, in := range inputs {
		want := in
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(in)); err == nil {
			want = b.String()
		}
		if got := compact(json.RawMessage(in)); got != want {
			t.Errorf("compact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := compact(nil); got != "{}" {
		t.Errorf("compact(nil) = %q", got)
	}
}
