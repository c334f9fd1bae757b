package spf

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// checkMacroString checks macro-string (RFC 7208 7.1); exp allows the letters c, r, t and
// spaces (explain-string).
func checkMacroString(s string, exp bool) error {
	_, err := expandMacros(context.Background(), s, nil, exp)
	return err
}

// expandMacros expands s; with e nil it only checks the syntax.
func expandMacros(ctx context.Context, s string, e *evaluation, exp bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if c < 0x21 && !(exp && c == ' ') || c > 0x7e {
				return "", fmt.Errorf("character 0x%02x not allowed in %q", c, s)
			}
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("'%%' at the end of %q", s)
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
			continue
		case '_':
			b.WriteByte(' ')
			continue
		case '-':
			b.WriteString("%20")
			continue
		case '{':
		default:
			return "", fmt.Errorf("bad macro '%%%c' in %q", s[i], s)
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated macro in %q", s)
		}
		body := s[i+1 : i+end]
		i += end
		v, err := expandOne(ctx, body, e, exp)
		if err != nil {
			return "", fmt.Errorf("macro %%{%s} in %q: %w", body, s, err)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func expandOne(ctx context.Context, body string, e *evaluation, exp bool) (string, error) {
	if body == "" {
		return "", fmt.Errorf("no macro letter")
	}
	letter := body[0]
	lower := letter | 0x20
	switch lower {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		if !exp {
			return "", fmt.Errorf("letter %c only allowed in exp= text", letter)
		}
	default:
		return "", fmt.Errorf("unknown macro letter %q", letter)
	}
	rest := body[1:]
	j := 0
	for j < len(rest) && isDigit(rest[j]) {
		j++
	}
	keep := -1
	if j > 0 {
		n, err := strconv.Atoi(rest[:j])
		if err != nil || n == 0 {
			return "", fmt.Errorf("bad digit transformer %q", rest[:j])
		}
		keep = n
	}
	rest = rest[j:]
	reverse := false
	if rest != "" && (rest[0] == 'r' || rest[0] == 'R') {
		reverse, rest = true, rest[1:]
	}
	for k := 0; k < len(rest); k++ {
		if !strings.ContainsRune(".-+,/_=", rune(rest[k])) {
			return "", fmt.Errorf("bad delimiter %q", rest[k])
		}
	}
	if e == nil {
		return "", nil
	}
	v := e.macroValue(ctx, lower)
	if keep >= 0 || reverse || rest != "" {
		delims := rest
		if delims == "" {
			delims = "."
		}
		parts := splitAny(v, delims)
		if reverse {
			for a, b := 0, len(parts)-1; a < b; a, b = a+1, b-1 {
				parts[a], parts[b] = parts[b], parts[a]
			}
		}
		if keep >= 0 && keep < len(parts) {
			parts = parts[len(parts)-keep:]
		}
		v = strings.Join(parts, ".")
	}
	if letter != lower {
		v = urlEscape(v)
	}
	return v, nil
}

func splitAny(s, delims string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(delims, s[i]) >= 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// urlEscape escapes everything but the URI unreserved characters (RFC 3986).
func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
