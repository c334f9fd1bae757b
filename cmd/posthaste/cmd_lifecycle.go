package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/address"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/suppression"
)

// Operator commands of the message lifecycle: holds, suppressions, test sends. Like the tenancy
// commands they write to the store directly and read their own writes from the streams.

func init() {
	register(command{path: "message release", usage: "ID", summary: "deliver a held message", run: runMessageRelease})
	register(command{path: "message cancel-hold", usage: "ID", summary: "drop a held message without delivering it", run: runMessageCancelHold})
	register(command{path: "suppression list", usage: "--server ORG/NAME [--all] [--json]", summary: "list suppressed recipients", run: runSuppressionList})
	register(command{path: "suppression add", usage: "ADDRESS --server ORG/NAME [--reason R] [--ttl 720h]", summary: "stop mail to a recipient", run: runSuppressionAdd})
	register(command{path: "suppression remove", usage: "ADDRESS --server ORG/NAME", summary: "allow mail to a recipient again", run: runSuppressionRemove})
	register(command{path: "send-test", usage: "TO --from ADDR --server ORG/NAME [--json]", summary: "queue a test message through the normal pipeline", run: runSendTest})
}

func runMessageRelease(ctx context.Context, cio cliIO, args []string) error {
	return messageCommand(ctx, cio, "message release", args, func(h *message.Handler, id string, c domain.Cause) (string, error) {
		return "released", h.Release(ctx, id, c)
	})
}

func runMessageCancelHold(ctx context.Context, cio cliIO, args []string) error {
	return messageCommand(ctx, cio, "message cancel-hold", args, func(h *message.Handler, id string, c domain.Cause) (string, error) {
		return "cancelled the hold of", h.CancelHold(ctx, id, c)
	})
}

func messageCommand(ctx context.Context, cio cliIO, path string, args []string, fn func(*message.Handler, string, domain.Cause) (string, error)) error {
	env, pos, err := openTenancy(ctx, newFlagSet(path, true), args, cio, false)
	if err != nil {
		return err
	}
	defer env.Close()
	id, err := oneArg(pos, "ID")
	if err != nil {
		return err
	}
	h, err := message.NewHandler(env.store.Events, domain.Recorder{Clock: time.Now})
	if err != nil {
		return err
	}
	done, err := fn(h, id, domain.Cause{Actor: env.actor})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(cio.stdout, "%s message %s\n", done, id)
	return err
}

type suppressionJSON struct {
	Server    string     `json:"server"`
	Address   string     `json:"address"`
	Reason    string     `json:"reason"`
	CausedBy  string     `json:"caused_by_event,omitempty"`
	AddedAt   time.Time  `json:"added_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	Active    bool       `json:"active"`
}

// openSuppressions opens the store and resolves --server; it returns the handler, the server id,
// the positional arguments and the environment to close.
func openSuppressions(ctx context.Context, path string, args []string, cio cliIO, extra func(fsAdder)) (*suppression.Handler, string, []string, *tenancyEnv, error) {
	fs := newFlagSet(path, true)
	server := fs.String("server", "", "the server, ORG/NAME")
	if extra != nil {
		extra(fs)
	}
	env, pos, err := openTenancy(ctx, fs, args, cio, false)
	if err != nil {
		return nil, "", nil, nil, err
	}
	ref, err := serverFlag(*server)
	if err != nil {
		env.Close()
		return nil, "", nil, nil, err
	}
	srv, err := env.h.GetServer(ctx, ref)
	if err != nil {
		env.Close()
		return nil, "", nil, nil, err
	}
	h, err := suppression.NewHandler(env.store.Events, domain.Recorder{Clock: time.Now})
	if err != nil {
		env.Close()
		return nil, "", nil, nil, err
	}
	return h, srv.ID, pos, env, nil
}

// fsAdder is the part of *flag.FlagSet the extra-flag callbacks use.
type fsAdder interface {
	Bool(name string, value bool, usage string) *bool
	String(name, value, usage string) *string
	Duration(name string, value time.Duration, usage string) *time.Duration
}

func runSuppressionList(ctx context.Context, cio cliIO, args []string) error {
	var all, asJSON *bool
	h, server, pos, env, err := openSuppressions(ctx, "suppression list", args, cio, func(fs fsAdder) {
		all = fs.Bool("all", false, "include removed and expired entries")
		asJSON = fs.Bool("json", false, "print JSON lines")
	})
	if err != nil {
		return err
	}
	defer env.Close()
	if err := noArgs(pos); err != nil {
		return err
	}
	list, err := h.List(ctx, server, *all)
	if err != nil {
		return err
	}
	for _, e := range list {
		if *asJSON {
			if err := writeJSON(cio.stdout, suppressionJSON{Server: e.ServerID, Address: e.Address, Reason: e.Reason,
				CausedBy: e.CausedBy, AddedAt: e.AddedAt.UTC(), ExpiresAt: e.ExpiresAt, Active: e.ActiveAt(time.Now())}); err != nil {
				return err
			}
			continue
		}
		exp := "never"
		if e.ExpiresAt != nil {
			exp = e.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(cio.stdout, "%-40s %-12s added %s expires %s\n", e.Address, e.Reason, e.AddedAt.UTC().Format(time.RFC3339), exp)
	}
	return nil
}

func runSuppressionAdd(ctx context.Context, cio cliIO, args []string) error {
	var reason *string
	var ttl *time.Duration
	h, server, pos, env, err := openSuppressions(ctx, "suppression add", args, cio, func(fs fsAdder) {
		reason = fs.String("reason", suppression.ReasonManual, "why (manual, hard_bounce, complaint, unsubscribe)")
		ttl = fs.Duration("ttl", 0, "expire the entry after this long (0 = never)")
	})
	if err != nil {
		return err
	}
	defer env.Close()
	addr, err := oneArg(pos, "ADDRESS")
	if err != nil {
		return err
	}
	if addr, err = cliAddress(addr); err != nil {
		return err
	}
	if err := h.Add(ctx, server, addr, *reason, "", *ttl, domain.Cause{Actor: env.actor}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cio.stdout, "suppressed %s for %s\n", strings.ToLower(addr), server)
	return err
}

func runSuppressionRemove(ctx context.Context, cio cliIO, args []string) error {
	h, server, pos, env, err := openSuppressions(ctx, "suppression remove", args, cio, nil)
	if err != nil {
		return err
	}
	defer env.Close()
	addr, err := oneArg(pos, "ADDRESS")
	if err != nil {
		return err
	}
	if err := h.Remove(ctx, server, addr, "manual", domain.Cause{Actor: env.actor}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cio.stdout, "removed the suppression of %s for %s\n", strings.ToLower(addr), server)
	return err
}

type sendTestJSON struct {
	SubmissionID string `json:"submission_id"`
	MessageID    string `json:"message_id"`
	Header       string `json:"message_id_header"`
}

// runSendTest queues a small message exactly as an SMTP submission would (same checks: the From
// domain must be a verified domain of the server; same holds), with the actor cli:<user>. A
// running serve (worker role) delivers it.
func runSendTest(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("send-test", true)
	from := fs.String("from", "", "the From address (a verified domain of the server)")
	server := fs.String("server", "", "the server, ORG/NAME")
	asJSON := fs.Bool("json", false, "print the ids as JSON")
	_, pos, err := loadCommandConfig(fs, args, cio)
	if err != nil {
		return err
	}
	to, err := oneArg(pos, "TO")
	if err != nil {
		return err
	}
	if *from == "" {
		return usagef("--from ADDR is required")
	}
	if _, err := cliAddress(to); err != nil {
		return err
	}
	if _, err := cliAddress(*from); err != nil {
		return err
	}
	ref, err := serverFlag(*server)
	if err != nil {
		return err
	}
	sess, caller, err := oldSession(ctx, fs, cio)
	if err != nil {
		return err
	}
	defer sess.Close()
	res, err := sess.App.Commands.SendTest(ctx, caller, platform.SendTest{Server: ref.String(), From: *from, To: to})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, sendTestJSON{SubmissionID: res.SubmissionID, MessageID: res.MessageID, Header: res.Header})
	}
	_, err = fmt.Fprintf(cio.stdout, "queued test message %s to %s (submission %s); follow it with: posthaste events --message %s\n",
		res.MessageID, to, res.SubmissionID, res.MessageID)
	return err
}

// cliAddress checks an address given on the command line with domain/address (display name
// and comments allowed, the address itself a valid RFC 5321 mailbox, ASCII only) and returns
// the mailbox in RFC 5321 form.
func cliAddress(s string) (string, error) {
	h, err := address.ParseAddressField(s, address.Options{})
	if err != nil {
		var ae *address.Error
		if errors.As(err, &ae) {
			return "", fmt.Errorf("%q is not a valid email address: %s (%s)", s, ae.Diagnosis.Text(), ae.Diagnosis.Name())
		}
		return "", err
	}
	return h.Mailbox.String(), nil
}
