package dkimsign

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// Result is the verdict on one DKIM signature (RFC 8601 section 2.7.1 names).
type Result string

const (
	Pass      Result = "pass"
	Fail      Result = "fail"      // the signature or the body hash did not verify
	PermError Result = "permerror" // unusable signature or key: malformed, no key, rsa-sha1, RSA < 1024 bits
	TempError Result = "temperror" // the key could not be fetched now (DNS failure)
)

// Verdict is the outcome for one DKIM-Signature header field, in header order.
type Verdict struct {
	Domain    string `json:"domain"`
	Selector  string `json:"selector"`
	Algorithm string `json:"algorithm"`
	Result    Result `json:"result"`
	Reason    string `json:"reason,omitempty"`
}

// LookupTXT returns the TXT records of name, one string per record. A name that does not
// exist gives no record and no error; an error means the lookup failed (a temperror).
type LookupTXT func(ctx context.Context, name string) ([]string, error)

// MaxSignatures is the number of signatures verified per message; further ones are
// reported as permerror without being checked.
const MaxSignatures = 16

// Verify checks every DKIM-Signature of msg (RFC 6376, RFC 8463) with public keys from
// lookup. RFC 8301 is enforced: rsa-sha1 and RSA keys under MinRSABits are permerror. Bare LF
// line ends are read as CRLF. It returns no verdict and no error for an unsigned message and
// an error only when msg has no parsable header.
func Verify(ctx context.Context, msg []byte, lookup LookupTXT) ([]Verdict, error) {
	msg = toCRLF(msg)
	sigs, err := signatureTags(msg)
	if err != nil {
		return nil, fmt.Errorf("dkimsign: verify: %w", err)
	}
	if len(sigs) == 0 {
		return nil, nil
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return lookupAdapter(ctx, lookup, name) },
		MaxVerifications: MaxSignatures,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return nil, fmt.Errorf("dkimsign: verify: %w", err)
	}
	out := make([]Verdict, len(sigs))
	for i, tags := range sigs {
		v := Verdict{Domain: tags["d"], Selector: tags["s"], Algorithm: tags["a"]}
		switch {
		case i >= len(verifs):
			v.Result, v.Reason = PermError, fmt.Sprintf("more than %d signatures, not verified", MaxSignatures)
		default:
			v.Result, v.Reason = classify(verifs[i].Err)
		}
		// RFC 8301 section 3.1, whatever the library does.
		if v.Result == Pass && !strings.HasSuffix(strings.ToLower(v.Algorithm), "-sha256") {
			v.Result, v.Reason = PermError, "algorithm "+v.Algorithm+" is not allowed (RFC 8301)"
		}
		out[i] = v
	}
	return out, nil
}

func classify(err error) (Result, string) {
	if err == nil {
		return Pass, ""
	}
	reason := strings.TrimPrefix(err.Error(), "dkim: ")
	switch {
	case dkim.IsTempFail(err):
		return TempError, reason
	case dkim.IsPermFail(err):
		return PermError, reason
	default:
		return Fail, reason
	}
}

// lookupAdapter calls lookup for go-msgauth, which itself refuses RSA keys under 1024 bits
// and rsa-sha1 (RFC 8301; tested in verify_test.go). go-msgauth tells a temporary failure by a net.Error whose
// Temporary() is true, so lookup errors are wrapped in one.
func lookupAdapter(ctx context.Context, lookup LookupTXT, name string) ([]string, error) {
	txts, err := lookup(ctx, name)
	if err != nil {
		return nil, tempLookupError{err}
	}
	return txts, nil
}

type tempLookupError struct{ err error }

func (e tempLookupError) Error() string   { return e.err.Error() }
func (e tempLookupError) Unwrap() error   { return e.err }
func (e tempLookupError) Timeout() bool   { return false }
func (e tempLookupError) Temporary() bool { return true }

var _ net.Error = tempLookupError{}

// signatureTags returns the tags of each DKIM-Signature field of msg's header, in order.
func signatureTags(msg []byte) ([]map[string]string, error) {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		if !bytes.HasSuffix(msg, []byte("\r\n")) {
			return nil, errors.New("message has no header/body separator")
		}
		end = len(msg) - 2
	}
	var fields []string
	sc := bufio.NewScanner(bytes.NewReader(msg[:end+2]))
	sc.Buffer(make([]byte, 0, 64*1024), len(msg)+1)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(fields) > 0 {
			fields[len(fields)-1] += line
			continue
		}
		fields = append(fields, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var out []map[string]string
	for _, f := range fields {
		name, val, ok := strings.Cut(f, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "DKIM-Signature") {
			continue
		}
		tags := map[string]string{}
		for _, t := range strings.Split(val, ";") {
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				continue
			}
			tags[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), "")
		}
		out = append(out, tags)
	}
	return out, nil
}

// KeyFile parses a key file: lines `<selector>._domainkey.<domain> <TXT record>`; blank
// lines and lines starting with # are skipped. A line holding only a record (its first word
// contains '=') answers every query. The returned lookup answers no record for other names.
func KeyFile(data []byte) (LookupTXT, error) {
	keys := map[string]string{}
	bare := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		first, rest := line, ""
		if j := strings.IndexAny(line, " \t"); j >= 0 {
			first, rest = line[:j], line[j+1:]
		}
		if strings.Contains(first, "=") {
			bare = line
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest == "" {
			return nil, fmt.Errorf("dkimsign: key file line %d: no record after %q", i+1, first)
		}
		keys[strings.ToLower(strings.TrimSuffix(first, "."))] = rest
	}
	return func(_ context.Context, name string) ([]string, error) {
		if r, ok := keys[strings.ToLower(strings.TrimSuffix(name, "."))]; ok {
			return []string{r}, nil
		}
		if bare != "" {
			return []string{bare}, nil
		}
		return nil, nil
	}, nil
}
