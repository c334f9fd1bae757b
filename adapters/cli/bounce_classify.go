package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/bounce"
)

// bounceRecord is one line of `bounce classify --json`.
type bounceRecord struct {
	File       string `json:"file"`
	Kind       string `json:"kind"`
	Recipient  string `json:"recipient"`
	Class      string `json:"class"`
	Reason     string `json:"reason"`
	Status     string `json:"status"`
	ReplyCode  int    `json:"reply_code,omitempty"`
	Action     string `json:"action,omitempty"`
	RemoteMTA  string `json:"remote_mta,omitempty"`
	Diagnostic string `json:"diagnostic,omitempty"`
	Error      string `json:"error,omitempty"`
}

// bounceClassify is `posthaste bounce classify FILE...`: a tool over files, reading no state (the
// domain's stateless parser; no session).
func bounceClassify() *spec {
	var asJSON bool
	return &spec{path: "bounce classify", synopsis: "FILE... [--json]",
		summary: "parse bounce, complaint and auto-reply messages and print one line per recipient",
		flags:   func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "JSON lines") },
		run: func(c *call) error {
			files := c.args
			if len(files) == 0 {
				return usagef("no file given")
			}
			enc := json.NewEncoder(c.stdout())
			enc.SetEscapeHTML(false)
			failed := 0
			for _, f := range files {
				base := filepath.Base(f)
				var recs []bounceRecord
				raw, err := os.ReadFile(f)
				if err == nil {
					var rep bounce.Report
					rep, err = bounce.Parse(raw)
					for _, r := range rep.Recipients {
						recs = append(recs, bounceRecord{File: base, Kind: string(rep.Kind), Recipient: r.Address,
							Class: string(r.Class), Reason: string(r.Reason), Status: r.Status, ReplyCode: r.ReplyCode,
							Action: r.Action, RemoteMTA: r.RemoteMTA, Diagnostic: r.Diagnostic})
					}
					if err == nil && len(recs) == 0 {
						recs = append(recs, bounceRecord{File: base, Kind: string(rep.Kind), Class: string(bounce.None)})
					}
				}
				if err != nil {
					failed++
					fmt.Fprintf(c.d.Stderr, "posthaste bounce classify: %s: %v\n", f, err)
					recs = append(recs, bounceRecord{File: base, Kind: string(bounce.KindNone), Class: string(bounce.None), Error: err.Error()})
				}
				for _, r := range recs {
					if asJSON {
						if err := enc.Encode(r); err != nil {
							return fmt.Errorf("write: %w", err)
						}
						continue
					}
					fmt.Fprintf(c.stdout(), "%s\t%s\t%s\t%s\t%s\t%s\n", r.File, r.Kind, r.Recipient, r.Class, r.Reason, r.Status)
				}
			}
			if failed == len(files) {
				return fmt.Errorf("no file could be classified")
			}
			return nil
		}}
}
