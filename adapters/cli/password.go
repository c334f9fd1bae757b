package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// readPassword takes the password from the first line of stdin (--password-stdin) or, on a
// terminal, prompts twice (on prompt) without echo. It never accepts one as an argument.
func readPassword(stdin io.Reader, prompt io.Writer, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("password is missing: stdin was empty")
		}
		return pw, nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("password is missing: stdin is not a terminal; pipe it in with --password-stdin")
	}
	pw, err := promptNoEcho(f, prompt, "Password: ")
	if err != nil {
		return "", err
	}
	again, err := promptNoEcho(f, prompt, "Repeat password: ")
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

// promptNoEcho writes text on prompt and reads one line from the terminal f with echo off.
func promptNoEcho(f *os.File, prompt io.Writer, text string) (string, error) {
	fmt.Fprint(prompt, text)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(prompt)
	if err != nil && !(errors.Is(err, io.EOF) && len(b) == 0) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(string(b), "\r"), nil
}
