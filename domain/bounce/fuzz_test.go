package bounce

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser without its panic guard: any panic is a bug.
// CI runs only the seed corpus; the long runs are manual:
//
//	go test ./domain/bounce -run '^$' -fuzz FuzzParse -fuzztime 1h
func FuzzParse(f *testing.F) {
	for _, s := range []string{dsnMessage, arfMessage, autoReply, string(crlf(dsnMessage)),
		"From: MAILER-DAEMON@x\nSubject: failure notice\n\n<a@b.example>:\nRemote host said: 550 5.1.1 no\n"} {
		f.Add([]byte(s))
	}
	// A few real samples from the eval set, when it is beside the repository.
	if m, _ := filepath.Glob(filepath.Join(evalDir(), "*.eml")); len(m) > 0 {
		for i := 0; i < len(m); i += 25 {
			if b, err := os.ReadFile(m[i]); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		rep, err := parse(raw)
		if err != nil {
			return
		}
		switch rep.Kind {
		case KindDSN, KindFeedback, KindAutoReply, KindNone:
		default:
			t.Fatalf("unknown kind %q", rep.Kind)
		}
		for _, r := range rep.Recipients {
			if r.Reason == "" {
				t.Fatalf("recipient %q without a reason", r.Address)
			}
			if r.Class != Hard && r.Class != Soft && r.Class != None {
				t.Fatalf("recipient %q with class %q", r.Address, r.Class)
			}
		}
	})
}

// FuzzClassifyReply checks that any reply gets a reason and a class.
func FuzzClassifyReply(f *testing.F) {
	f.Add(550, "5.1.1", "user unknown")
	f.Add(421, "", "4.7.0 try later")
	f.Add(0, "9.9", "")
	f.Fuzz(func(t *testing.T, code int, enhanced, text string) {
		c := classifyText(code, enhanced, text)
		if c.Reason == "" || (c.Class != Hard && c.Class != Soft && c.Class != None) {
			t.Fatalf("classifyText(%d, %q, %q) = %+v", code, enhanced, text, c)
		}
	})
}
