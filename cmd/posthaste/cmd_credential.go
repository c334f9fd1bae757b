package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/domain/tenancy"
)

func init() {
	register(command{path: "credential create", usage: "--server ORG/NAME --type smtp|api|smtp-ip [--name N] [--cidr CIDR] [--hold] [--json]",
		summary: "create a credential; its secret is printed once", run: runCredentialCreate})
	register(command{path: "credential list", usage: "--server ORG/NAME [--json]", summary: "list a server's credentials", run: runCredentialList})
	register(command{path: "credential update", usage: "ID [--name N] [--hold=true|false] [--json]",
		summary: "rename a credential or change its hold flag", run: runCredentialUpdate})
	register(command{path: "credential revoke", usage: "ID [--reason R] [--json]", summary: "revoke a credential", run: runCredentialRevoke})
}

// newCredentialJSON is the once-only output of credential create: exactly
// {"id","type","username","password"} (smtp), {"id","type","key"} (api), {"id","type","cidr"} (smtp-ip).
type newCredentialJSON struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Key      string `json:"key,omitempty"`
	CIDR     string `json:"cidr,omitempty"`
}

type credentialJSON struct {
	ID        string     `json:"id"`
	Server    string     `json:"server"`
	Type      string     `json:"type"`
	Name      string     `json:"name"`
	Username  string     `json:"username,omitempty"`
	KeyPrefix string     `json:"key_prefix,omitempty"`
	CIDR      string     `json:"cidr,omitempty"`
	Hold      bool       `json:"hold"`
	Revoked   bool       `json:"revoked"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func toCredentialJSON(c tenancy.Credential) credentialJSON {
	out := credentialJSON{ID: c.ID, Server: c.ServerID, Type: c.Type, Name: c.Name, Username: c.Username, KeyPrefix: c.KeyPrefix,
		CIDR: c.CIDR, Hold: c.Hold, Revoked: c.Revoked, CreatedAt: c.CreatedAt.UTC()}
	if c.Revoked {
		t := c.RevokedAt.UTC()
		out.RevokedAt = &t
	}
	return out
}

func runCredentialCreate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("credential create", true)
	server := fs.String("server", "", "the server ORG/NAME (required)")
	typ := fs.String("type", "", "smtp, api or smtp-ip (required)")
	name := fs.String("name", "", "a name for the credential")
	cidr := fs.String("cidr", "", "smtp-ip: the address or range allowed to submit, e.g. 192.0.2.0/24")
	hold := fs.Bool("hold", false, "hold every message submitted with this credential")
	asJSON := fs.Bool("json", false, "print the credential and its secret as JSON")
	env, ref, err := openTenancyServer(ctx, fs, args, cio, server)
	if err != nil {
		return err
	}
	defer env.Close()
	if *typ == "" {
		return usagef("--type smtp|api|smtp-ip is required")
	}
	c, err := env.h.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: *typ, Name: *name, CIDR: *cidr, Hold: *hold, Actor: env.actor})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, newCredentialJSON{ID: c.ID, Type: c.Type, Username: c.Username, Password: c.Password, Key: c.Key, CIDR: c.CIDR})
	}
	w := cio.stdout
	fmt.Fprintf(w, "created %s credential %s for server %s\n", c.Type, c.ID, c.ServerID)
	switch c.Type {
	case tenancy.CredentialSMTP:
		fmt.Fprintf(w, "username: %s\npassword: %s\n", c.Username, c.Password)
	case tenancy.CredentialAPI:
		fmt.Fprintf(w, "key: %s\n", c.Key)
	case tenancy.CredentialSMTPIP:
		fmt.Fprintf(w, "cidr: %s\n", c.CIDR)
	}
	if c.Hold {
		fmt.Fprintln(w, "messages submitted with it are held")
	}
	if c.Password != "" || c.Key != "" {
		fmt.Fprintln(w, "the secret is shown only now: store it safely")
	}
	return nil
}

func runCredentialList(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("credential list", true)
	server := fs.String("server", "", "the server ORG/NAME (required)")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	env, ref, err := openTenancyServer(ctx, fs, args, cio, server)
	if err != nil {
		return err
	}
	defer env.Close()
	cs, err := env.h.ListCredentials(ctx, ref)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLines(cio.stdout, cs, toCredentialJSON)
	}
	tw := newTable(cio.stdout)
	fmt.Fprintln(tw, "ID\tTYPE\tNAME\tIDENTITY\tHOLD\tSTATE\tCREATED")
	for _, c := range cs {
		identity := c.Username
		switch c.Type {
		case tenancy.CredentialAPI:
			identity = c.KeyPrefix + "…"
		case tenancy.CredentialSMTPIP:
			identity = c.CIDR
		}
		state := "active"
		if c.Revoked {
			state = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%s\n", c.ID, c.Type, c.Name, identity, c.Hold, state, c.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func runCredentialRevoke(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("credential revoke", true)
	reason := fs.String("reason", "", "why (kept in the audit trail)")
	asJSON := fs.Bool("json", false, "print the revoked credential as JSON")
	env, id, err := openTenancyArg(ctx, fs, args, cio, false, "ID")
	if err != nil {
		return err
	}
	defer env.Close()
	c, err := env.h.RevokeCredential(ctx, tenancy.RevokeCredential{ID: id, Reason: *reason, Actor: env.actor})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, toCredentialJSON(c))
	}
	_, err = fmt.Fprintf(cio.stdout, "revoked %s credential %s of server %s\n", c.Type, c.ID, c.ServerID)
	return err
}

func runCredentialUpdate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("credential update", true)
	name := fs.String("name", "", "the new name")
	hold := fs.Bool("hold", false, "hold (true) or deliver (false) messages submitted with it")
	asJSON := fs.Bool("json", false, "print the credential as JSON")
	env, id, err := openTenancyArg(ctx, fs, args, cio, false, "ID")
	if err != nil {
		return err
	}
	defer env.Close()
	u := tenancy.UpdateCredential{ID: id, Actor: env.actor}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			u.Name = name
		case "hold":
			u.Hold = hold
		}
	})
	if u.Name == nil && u.Hold == nil {
		return usagef("nothing to change: give --name or --hold")
	}
	c, changed, err := env.h.UpdateCredential(ctx, u)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, toCredentialJSON(c))
	}
	_, err = fmt.Fprintf(cio.stdout, "%s %s credential %s (name %q, hold %v)\n", updatedVerb(changed), c.Type, c.ID, c.Name, c.Hold)
	return err
}
