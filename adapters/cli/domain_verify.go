package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
)

type checkJSON struct {
	Purpose  string `json:"purpose"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Required bool   `json:"required"`
}

type verifyJSON struct {
	Domain        string      `json:"domain"`
	Verified      bool        `json:"verified"`
	AllRequiredOK bool        `json:"all_required_ok"`
	Records       []checkJSON `json:"records"`
}

// domainVerify is `posthaste domain verify DOMAIN`: each record looked up in DNS (SPF evaluated as
// receivers do); exit 0 only when the required ones are ok.
func domainVerify() *spec {
	var asJSON bool
	return &spec{path: "domain verify", synopsis: "DOMAIN [--json]",
		summary: "look the domain's records up in DNS (SPF evaluated as receivers do, RFC 7208); exit 0 only when verification, SPF and DKIM are ok",
		config:  true,
		flags:   func(f *pflag.FlagSet) { f.BoolVar(&asJSON, "json", false, "print the per-record result as JSON") },
		run: func(c *call) error {
			name, err := c.oneArg("DOMAIN")
			if err != nil {
				return err
			}
			s, err := c.open()
			if err != nil {
				return err
			}
			defer s.Close()
			res, err := s.app.Commands.VerifyDomain(c.ctx, s.op, name)
			if errors.Is(err, platform.ErrNotConfigured) {
				return fmt.Errorf("%w (set POSTHASTE_DNS_RESOLVER to host:port)", err)
			}
			if err != nil {
				return err
			}
			out := verifyJSON{Domain: res.Domain.Name, Verified: res.Verified, AllRequiredOK: res.AllOK}
			var failed []string
			for i, ch := range res.Checks {
				out.Records = append(out.Records, checkJSON{Purpose: ch.Purpose, Type: res.Records[i].Type, Name: ch.Name, Status: ch.Status, Reason: ch.Reason, Required: ch.Required})
				if ch.Required && ch.Status != tenancy.StatusOK {
					failed = append(failed, ch.Purpose+" "+ch.Status)
				}
			}
			if asJSON {
				if err := writeJSON(c.stdout(), out); err != nil {
					return err
				}
			} else {
				for _, r := range out.Records {
					req := ""
					if !r.Required {
						req = " (optional)"
					}
					line := fmt.Sprintf("%-8s %-12s %-5s %s%s", strings.ToUpper(r.Status), r.Purpose, r.Type, r.Name, req)
					if r.Reason != "" {
						line += ": " + r.Reason
					}
					fmt.Fprintln(c.stdout(), line)
				}
				if res.Verified {
					fmt.Fprintf(c.stdout(), "domain %s is verified: it may send\n", res.Domain.Name)
				} else {
					fmt.Fprintf(c.stdout(), "domain %s is not verified: publish the verification record\n", res.Domain.Name)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("domain %s: required records not ok: %s", res.Domain.Name, strings.Join(failed, ", "))
			}
			return nil
		}}
}
