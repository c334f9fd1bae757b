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
	pw, again, err := promptTwice(f, prompt)
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

// promptTwice asks for the password and its repetition at the terminal f, writing the prompts on
// prompt. The terminal is put in raw mode before the first prompt shows, so nothing typed is
// ever echoed; it is restored before returning.
func promptTwice(f *os.File, prompt io.Writer) (string, string, error) {
	fd := int(f.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return "", "", fmt.Errorf("read password: %w", err)
	}
	defer term.Restore(fd, old)
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{f, prompt}, "")
	var pws [2]string
	for i, p := range []string{"Password: ", "Repeat password: "} {
		if pws[i], err = t.ReadPassword(p); errors.Is(err, io.EOF) {
			return "", "", errors.New("read password: interrupted")
		} else if err != nil {
			return "", "", fmt.Errorf("read password: %w", err)
		}
	}
	return pws[0], pws[1], nil
}
