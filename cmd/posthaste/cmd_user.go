package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/posthaste/posthaste/domain/tenancy"
)

func init() {
	register(command{path: "user create", usage: "--email E [--admin] [--org ORG [--role member|admin]] [--password-stdin] [--json]",
		summary: "create a user (password prompted, or read from stdin; never an argument)", run: runUserCreate})
	register(command{path: "user list", usage: "[--json]", summary: "list users", run: runUserList})
}

type userJSON struct {
	Email     string            `json:"email"`
	Admin     bool              `json:"admin"`
	Orgs      map[string]string `json:"orgs"`
	CreatedAt time.Time         `json:"created_at"`
}

func toUserJSON(u tenancy.User) userJSON {
	orgs := u.Orgs
	if orgs == nil {
		orgs = map[string]string{}
	}
	return userJSON{Email: u.Email, Admin: u.Admin, Orgs: orgs, CreatedAt: u.CreatedAt.UTC()}
}

func runUserCreate(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("user create", true)
	email := fs.String("email", "", "the user's email address (required)")
	admin := fs.Bool("admin", false, "make the user a global administrator")
	org := fs.String("org", "", "organization the user joins")
	role := fs.String("role", tenancy.RoleMember, "role in --org: member or admin")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	asJSON := fs.Bool("json", false, "print the user as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *email == "" {
		return usagef("--email is required")
	}
	// The password is read before the store opens, so a failed read writes nothing.
	password, err := readPassword(cio, *fromStdin)
	if err != nil {
		return err
	}
	env, _, err := openTenancy(ctx, fs, nil, cio, false)
	if err != nil {
		return err
	}
	defer env.Close()
	c := tenancy.CreateUser{Email: *email, Password: password, Admin: *admin, Org: *org, Actor: env.actor}
	if *org != "" {
		c.Role = *role
	}
	u, err := env.h.CreateUser(ctx, c)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(cio.stdout, toUserJSON(u))
	}
	kind := "user"
	if u.Admin {
		kind = "administrator"
	}
	_, err = fmt.Fprintf(cio.stdout, "created %s %s\n", kind, u.Email)
	return err
}

func runUserList(ctx context.Context, cio cliIO, args []string) error {
	fs := newFlagSet("user list", true)
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	env, pos, err := openTenancy(ctx, fs, args, cio, false)
	if err != nil {
		return err
	}
	defer env.Close()
	if err := noArgs(pos); err != nil {
		return err
	}
	users, err := env.h.ListUsers(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONLines(cio.stdout, users, toUserJSON)
	}
	tw := newTable(cio.stdout)
	fmt.Fprintln(tw, "EMAIL\tADMIN\tORGANIZATIONS\tCREATED")
	for _, u := range users {
		var orgs []string
		for _, id := range u.OrgIDs() {
			orgs = append(orgs, id+" ("+u.Orgs[id]+")")
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", u.Email, u.Admin, strings.Join(orgs, ", "), u.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// readPassword takes the password from the first line of stdin (--password-stdin) or, on a
// terminal, prompts twice without echo. It never accepts one as an argument.
func readPassword(cio cliIO, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(cio.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("password is missing: stdin was empty")
		}
		return pw, nil
	}
	f, ok := cio.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return "", errors.New("password is missing: stdin is not a terminal; pipe it in with --password-stdin")
	}
	pw, err := promptNoEcho(f, cio.stderr, "Password: ")
	if err != nil {
		return "", err
	}
	again, err := promptNoEcho(f, cio.stderr, "Repeat password: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("passwords do not match")
	}
	if pw == "" {
		return "", errors.New("password is missing")
	}
	return pw, nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// promptNoEcho turns terminal echo off while reading one line.
func promptNoEcho(f *os.File, prompt io.Writer, text string) (string, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	fmt.Fprint(prompt, text)
	var b []byte
	buf := make([]byte, 1)
	for {
		n, err := f.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			b = append(b, buf[0])
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", fmt.Errorf("read password: %w", err)
		}
	}
	fmt.Fprintln(prompt)
	return strings.TrimRight(string(b), "\r"), nil
}
