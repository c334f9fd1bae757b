package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestHelpDescribesEveryFlag runs `CMD --help` and `help CMD` on every command: each exits 0 and
// prints every flag with its description, and each configuration flag with its environment
// variable (and default).
func TestHelpDescribesEveryFlag(t *testing.T) {
	d := toolDeps()
	tr := newTree(d)
	if len(tr.specs) < 45 {
		t.Fatalf("only %d commands", len(tr.specs))
	}
	for _, s := range tr.specs {
		words := strings.Fields(s.path)
		cmd, _, err := tr.root.Find(words)
		if err != nil || pathOf(cmd) != s.path {
			t.Fatalf("%s: found %q, %v", s.path, pathOf(cmd), err)
		}
		for _, args := range [][]string{append(append([]string(nil), words...), "--help"), append([]string{"help"}, words...)} {
			code, out, errOut := runCLI(t, d, nil, args...)
			if code != 0 || errOut != "" {
				t.Errorf("posthaste %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
				continue
			}
			if !strings.HasPrefix(out, "usage: posthaste "+s.path+" "+s.synopsis+"\n\n"+s.summary+"\n") {
				t.Errorf("posthaste %s: help does not start with the synopsis and summary:\n%s", strings.Join(args, " "), out)
			}
			cmd.Flags().VisitAll(func(f *pflag.Flag) {
				line := flagLine(out, f.Name)
				if line == "" || !strings.Contains(line, f.Usage) {
					t.Errorf("posthaste %s: --%s is not described (%q):\n%s", strings.Join(args, " "), f.Name, f.Usage, out)
				}
			})
			if !s.config {
				continue
			}
			for _, st := range d.Settings {
				line := flagLine(out, st.Flag)
				if !strings.Contains(line, st.Usage) || !strings.Contains(line, "env "+st.Env) ||
					st.Default != "" && !strings.Contains(line, "default "+st.Default) {
					t.Errorf("posthaste %s: --%s does not name %s and its default: %q", strings.Join(args, " "), st.Flag, st.Env, line)
				}
			}
		}
	}
}

// flagLine returns the help line of --name ("" when there is none).
func flagLine(help, name string) string {
	for _, l := range strings.Split(help, "\n") {
		f := strings.Fields(l)
		for i, w := range f {
			if w == "--"+name && (i == 0 || f[i-1] == "-h,") {
				return l
			}
		}
	}
	return ""
}

func TestServeHelpNamesEveryVariable(t *testing.T) {
	d := toolDeps()
	code, out, _ := runCLI(t, d, nil, "serve", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"usage: posthaste serve [--roles smtp,worker,relay,projector,web,webhooks,mx]",
		"--data-dir string", "embedded default storage (env POSTHASTE_DATA_DIR, default ./data)",
		"--webhook-allow-private true|false", "(env POSTHASTE_WEBHOOK_ALLOW_PRIVATE, default false)",
		"-h, --help",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out)
		}
	}
}

// TestRootHelp: `posthaste help` and --help list every command and the configuration flags, exit
// 0; `posthaste` alone prints the same and exits 2.
func TestRootHelp(t *testing.T) {
	d := toolDeps()
	var first string
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {}} {
		code, out, _ := runCLI(t, d, nil, args...)
		if want := map[bool]int{true: 2, false: 0}[len(args) == 0]; code != want {
			t.Errorf("posthaste %v: exit %d, want %d", args, code, want)
		}
		if first == "" {
			first = out
		} else if out != first {
			t.Errorf("posthaste %v prints another help:\n%s", args, out)
		}
	}
	for _, s := range newTree(d).specs {
		if !strings.Contains(first, "\n  "+strings.TrimSpace(s.path+" "+s.synopsis)) {
			t.Errorf("posthaste help does not list %s", s.path)
		}
	}
	for _, st := range d.Settings {
		if !strings.Contains(flagLine(first, st.Flag), "env "+st.Env) {
			t.Errorf("posthaste help does not name --%s with %s", st.Flag, st.Env)
		}
	}
	// A group's help lists its commands.
	code, out, _ := runCLI(t, d, nil, "help", "webhook")
	if code != 0 || !strings.Contains(out, "  webhook rotate-secret ID [--json]") || strings.Contains(out, "org create") {
		t.Errorf("help webhook: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, d, nil, "org", "--help"); code != 0 || !strings.Contains(out, "  org create NAME [--json]") {
		t.Errorf("org --help: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, d, nil, "help", "nonsense"); code != 2 || errOut != "posthaste: unknown command \"nonsense\" (see 'posthaste help')\n" {
		t.Errorf("help nonsense: exit %d, %q", code, errOut)
	}
}

func TestCompletionScripts(t *testing.T) {
	d := toolDeps()
	for shell, want := range map[string]string{"bash": "complete -o default -F __start_posthaste posthaste", "zsh": "#compdef posthaste",
		"fish": "complete -c posthaste"} {
		code, out, errOut := runCLI(t, d, nil, "completion", shell)
		if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d, stderr %q, script lacks %q", shell, code, errOut, want)
		}
	}
	if code, _, errOut := runCLI(t, d, nil, "completion", "tcsh"); code != 2 || !strings.Contains(errOut, "(usage: posthaste completion bash|zsh|fish)") {
		t.Errorf("completion tcsh: exit %d, %q", code, errOut)
	}
	// What the scripts ask the binary: the commands of a group, the flags of a command.
	code, out, _ := runCLI(t, d, nil, "__complete", "webhook", "")
	for _, w := range []string{"create\t", "rotate-secret\t", "replay\t"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("__complete webhook: exit %d, lacks %q:\n%s", code, w, out)
		}
	}
	code, out, _ = runCLI(t, d, nil, "__complete", "messages", "--")
	for _, w := range []string{"--server\t", "--cursor\t", "--data-dir\t", "--dns-resolver\t"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("__complete messages --: exit %d, lacks %q:\n%s", code, w, out)
		}
	}
}

func TestManPages(t *testing.T) {
	d := toolDeps()
	dir := filepath.Join(t.TempDir(), "man1")
	if code, _, errOut := runCLI(t, d, nil, "man", "--dir", dir); code != 0 {
		t.Fatalf("man: exit %d, %q", code, errOut)
	}
	for _, s := range newTree(d).specs {
		if s.path == "help" {
			continue // posthaste.1 says it
		}
		name := "posthaste-" + strings.ReplaceAll(s.path, " ", "-") + ".1"
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", s.path, err)
			continue
		}
		page := string(b)
		if !strings.Contains(page, `.TH "POSTHASTE" "1"`) || !strings.Contains(page, s.summary[:min(len(s.summary), 20)]) {
			t.Errorf("%s: not a man page of the command:\n%s", name, page)
		}
		if s.config && !strings.Contains(page, "POSTHASTE_DATA_DIR") {
			t.Errorf("%s: the configuration flags lack their variables", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "posthaste.1")); err != nil {
		t.Errorf("no posthaste.1: %v", err)
	}
	if code, _, errOut := runCLI(t, d, nil, "man"); code != 2 || !strings.Contains(errOut, "--dir DIR is required") {
		t.Errorf("man without --dir: exit %d, %q", code, errOut)
	}
}
