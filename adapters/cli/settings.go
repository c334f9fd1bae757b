package cli

import (
	"github.com/spf13/pflag"
)

// settingValue is the value of a configuration flag: kept as given (the configuration loader
// parses and validates it, with the environment's), its type named for help.
type settingValue struct {
	v    string
	kind string
}

func (s *settingValue) String() string     { return s.v }
func (s *settingValue) Set(v string) error { s.v = v; return nil }
func (s *settingValue) Type() string       { return s.kind }

// addSettings registers one flag per configuration variable. A flag left unset falls back to the
// environment, then to the default: the flag itself has no default.
func addSettings(f *pflag.FlagSet, settings []Setting) {
	for _, s := range settings {
		kind := "string"
		if s.Bool {
			kind = "true|false"
		}
		fl := f.VarPF(&settingValue{kind: kind}, s.Flag, "", settingUsage(s))
		fl.Annotations = map[string][]string{annotationEnv: {s.Env}}
	}
}

// settingUsage is a configuration flag's help: its usage, its environment variable and default.
func settingUsage(s Setting) string {
	u := s.Usage + " (env " + s.Env
	if s.Default != "" {
		u += ", default " + s.Default
	}
	return u + ")"
}
