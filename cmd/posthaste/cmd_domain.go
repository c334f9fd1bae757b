package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain/tenancy"
)

func init() {
	register(command{path: "domain create", usage: "DOMAIN --server ORG/NAME [--skip-verification] [--ed25519] [--json]",
		summary: "add a sending domain with a DKIM key (RSA 2048; --ed25519 adds a second key)", run: runDomainCreate})
	register(command{path: "domain dns", usage: "DOMAIN [--json]", summary: "print the DNS records to publish for a domain", run: runDomainDNS})
	register(command{path: "domain verify", usage: "DOMAIN [--json]",
		summary: "look the domain's records up in DNS (SPF evaluated as receivers do, RFC 7208); exit 0 only when verification, SPF and DKIM are ok", run: runDomainVerify})
	register(command{path: "domain list", usage: "--server ORG/NAME [--json]", summary: "list a server's sending domains", run: runDomainList})
	register(command{path: "domain rotate-dkim", usage: "DOMAIN [--ed25519] [--json]",
		summary: "publish a new DKIM key; it signs once domain verify sees it in DNS", run: runDomainRotateDKIM})
}

// zoneTTL is the TTL printed in zone-file lines.
const zoneTTL = 3600

type domainJSON struct {
	Domain             string        `json:"domain"`
	Server             string        `json:"server"`
	Verified           bool          `json:"verified"`
	VerificationMethod string        `json:"verification_method,omitempty"`
	DKIM               []dkimKeyJSON `json:"dkim_keys"`
}

type dkimKeyJSON struct {
	Selector  string `json:"selector"`
	Algorithm string `json:"algorithm"`
	State     string `json:"state"`
}

func runDomainCreate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("domain create", true)
	server := fs.String("server", "", "the server ORG/NAME the domain sends for (required)")
	skip := fs.Bool("skip-verification", false, "mark the domain verified without DNS (development; recorded with your name)")
	ed := fs.Bool("ed25519", false, "add an Ed25519 key beside the RSA key (dual signing)")
	asJSON := fs.Bool("json", false, "print the domain as JSON")
	env, name, err := openTenancyArg(ctx, fs, args, cio, false, "DOMAIN")
	if err != nil {
		return err
	}
	defer env.Close()
	ref, err := serverFlag(*server)
	if err != nil {
		return err
	}
	d, err := env.h.AddDomain(ctx, tenancy.AddDomain{Domain: name, Server: ref, Ed25519: *ed, SkipVerification: *skip, Actor: env.actor})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, toDomainJSON(d))
	}
	w := cio.stdout
	fmt.Fprintf(w, "added domain %s to server %s\n", d.Name, d.ServerID)
	if d.Verified {
		fmt.Fprintf(w, "marked verified without DNS (--skip-verification)\n")
	}
	fmt.Fprintf(w, "publish these records, then run: posthaste domain verify %s\n\n", d.Name)
	return printZone(w, tenancy.DNSRecords(d, env.h.DNSConfig()))
}

// printZone prints records as zone-file lines, each after a comment naming its purpose.
func printZone(w interface{ Write([]byte) (int, error) }, recs []tenancy.DNSRecord) error {
	for _, r := range recs {
		req := "optional"
		if r.Required {
			req = "required"
		}
		if _, err := fmt.Fprintf(w, "; %s (%s)\n%s\n", r.Purpose, req, tenancy.ZoneLine(r, zoneTTL)); err != nil {
			return err
		}
	}
	return nil
}

type dnsJSON struct {
	Domain  string              `json:"domain"`
	Records []tenancy.DNSRecord `json:"records"`
}

func runDomainDNS(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("domain dns", true)
	asJSON := fs.Bool("json", false, `print {"domain": ..., "records": [...]}`)
	env, name, err := openTenancyArg(ctx, fs, args, cio, false, "DOMAIN")
	if err != nil {
		return err
	}
	defer env.Close()
	d, recs, err := env.h.DomainDNSRecords(ctx, name)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, dnsJSON{Domain: d.Name, Records: recs})
	}
	return printZone(cio.stdout, recs)
}

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

func runDomainVerify(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("domain verify", true)
	asJSON := fs.Bool("json", false, "print the per-record result as JSON")
	env, name, err := openTenancyArg(ctx, fs, args, cio, true, "DOMAIN")
	if err != nil {
		return err
	}
	defer env.Close()
	res, err := env.h.CheckDomainDNS(ctx, tenancy.CheckDomainDNS{Domain: name, Actor: env.actor})
	if err != nil {
		return err
	}
	out := verifyJSON{Domain: res.Domain.Name, Verified: res.Verified, AllRequiredOK: res.AllOK}
	var failed []string
	for i, c := range res.Checks {
		out.Records = append(out.Records, checkJSON{Purpose: c.Purpose, Type: res.Records[i].Type, Name: c.Name, Status: c.Status, Reason: c.Reason, Required: c.Required})
		if c.Required && c.Status != tenancy.StatusOK {
			failed = append(failed, c.Purpose+" "+c.Status)
		}
	}
	if *asJSON {
		if err := writeJSON(cio.stdout, out); err != nil {
			return err
		}
	} else {
		for _, c := range out.Records {
			req := ""
			if !c.Required {
				req = " (optional)"
			}
			line := fmt.Sprintf("%-8s %-12s %-5s %s%s", strings.ToUpper(c.Status), c.Purpose, c.Type, c.Name, req)
			if c.Reason != "" {
				line += ": " + c.Reason
			}
			fmt.Fprintln(cio.stdout, line)
		}
		if res.Verified {
			fmt.Fprintf(cio.stdout, "domain %s is verified: it may send\n", res.Domain.Name)
		} else {
			fmt.Fprintf(cio.stdout, "domain %s is not verified: publish the verification record\n", res.Domain.Name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("domain %s: required records not ok: %s", res.Domain.Name, strings.Join(failed, ", "))
	}
	return nil
}

func runDomainRotateDKIM(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("domain rotate-dkim", true)
	ed := fs.Bool("ed25519", false, "rotate the Ed25519 key instead of the RSA key")
	asJSON := fs.Bool("json", false, "print the new key's record as JSON")
	env, name, err := openTenancyArg(ctx, fs, args, cio, false, "DOMAIN")
	if err != nil {
		return err
	}
	defer env.Close()
	alg := tenancy.AlgRSASHA256
	if *ed {
		alg = tenancy.AlgEd25519SHA256
	}
	d, k, err := env.h.RotateDKIM(ctx, tenancy.RotateDKIM{Domain: name, Algorithm: alg, Actor: env.actor})
	if err != nil {
		return err
	}
	var rec tenancy.DNSRecord
	for _, r := range tenancy.DNSRecords(d, env.h.DNSConfig()) {
		if r.Selector == k.Selector {
			rec = r
		}
	}
	if *asJSON {
		return writeJSON(cio.stdout, rec)
	}
	fmt.Fprintf(cio.stdout, "new %s key %s for %s: publish this record, then run: posthaste domain verify %s\n", k.Algorithm, k.Selector, d.Name, d.Name)
	fmt.Fprintln(cio.stdout, "the current key keeps signing until the new one is seen in DNS")
	return printZone(cio.stdout, []tenancy.DNSRecord{rec})
}

func toDomainJSON(d tenancy.SendingDomain) domainJSON {
	out := domainJSON{Domain: d.Name, Server: d.ServerID, Verified: d.Verified, VerificationMethod: d.VerifiedMethod, DKIM: []dkimKeyJSON{}}
	for _, k := range d.Keys {
		out.DKIM = append(out.DKIM, dkimKeyJSON{Selector: k.Selector, Algorithm: k.Algorithm, State: k.State})
	}
	return out
}

func runDomainList(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("domain list", true)
	server := fs.String("server", "", "the server ORG/NAME (required)")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	env, ref, err := openTenancyServer(ctx, fs, args, cio, server)
	if err != nil {
		return err
	}
	defer env.Close()
	ds, err := env.h.DomainsOfServer(ctx, ref)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLines(cio.stdout, ds, toDomainJSON)
	}
	tw := newTable(cio.stdout)
	fmt.Fprintln(tw, "DOMAIN\tVERIFIED\tSIGNING SELECTORS\tLAST DNS CHECK")
	for _, d := range ds {
		var sels []string
		for _, k := range d.SigningKeys() {
			sels = append(sels, k.Selector)
		}
		verified := "no"
		if d.Verified {
			verified = "yes (" + d.VerifiedMethod + ")"
		}
		check := "never"
		if d.LastCheck != nil {
			check = "required records not ok"
			if d.LastCheck.AllOK {
				check = "ok"
			}
			check += " at " + d.LastCheckedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Name, verified, strings.Join(sels, ", "), check)
	}
	return tw.Flush()
}
