package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/posthaste/posthaste/adapters/dnsresolver/dnstest"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
)

// These tests run the built binary as a subprocess, as an operator would, on the embedded
// default and on MariaDB, against a DNS server on loopback serving a zone each test controls.
// Both backends must print byte-identical --json output (after normalizing random ids, keys and
// times): they share one golden file per output (testdata/tenancy_*.golden; POSTHASTE_UPDATE_GOLDEN=1 rewrites them).

// operator runs the binary as an operator at a shell would, with exactly env.
type operator struct {
	t   *testing.T
	env []string
}

func (c *operator) run(stdin string, args ...string) result {
	c.t.Helper()
	return execBin(c.t, c.env, stdin, args...)
}

// ok runs a command that must succeed and returns its stdout.
func (c *operator) ok(args ...string) string {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != 0 {
		c.t.Fatalf("posthaste %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with exit status 1 and exactly one stderr line containing want.
func (c *operator) fails(stdin, want string, args ...string) result {
	c.t.Helper()
	r := c.run(stdin, args...)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.Contains(r.stderr, want) {
		c.t.Fatalf("posthaste %s: exit %d, stderr %q; want exit 1 and one line containing %q", strings.Join(args, " "), r.code, r.stderr, want)
	}
	return r
}

var normalizers = []struct {
	re  *regexp.Regexp
	rep string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`), "<uuid>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`posthaste-verification=[0-9a-f]{32}`), "posthaste-verification=<token>"},
	{regexp.MustCompile(`p=[A-Za-z0-9+/=]{20,}`), "p=<public key>"},
	{regexp.MustCompile(`ph\d{8}([re])`), "ph<date>$1"},
	{regexp.MustCompile(`"(password|key)":"[A-Za-z0-9]{32}"`), `"$1":"<secret>"`},
	{regexp.MustCompile(`"key_prefix":"[A-Za-z0-9]{8}"`), `"key_prefix":"<prefix>"`},
	{regexp.MustCompile(`acme-billing-[a-z0-9]{8}`), "acme-billing-<random>"},
	{regexp.MustCompile(`"name":"[A-Za-z0-9]{8}"`), `"name":"<prefix>"`},
}

func normalize(s string) string {
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.rep)
	}
	return s
}

// tenancyGolden compares normalized output with testdata/tenancy_<name>.golden (checkGolden).
func tenancyGolden(t *testing.T, name, got string) {
	t.Helper()
	checkGolden(t, filepath.Join("testdata", "tenancy_"+name+".golden"), normalize(got))
}

func tenancyBaseEnv(dnsAddr string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "USER=" + os.Getenv("USER"),
		"POSTHASTE_HOSTNAME=mail.example.net",
		"POSTHASTE_SPF_INCLUDE=spf.example.net",
		"POSTHASTE_DNS_RESOLVER=" + dnsAddr,
		"POSTHASTE_LOG_LEVEL=error",
	}
}

func embeddedEnv(t *testing.T, dnsAddr string) []string {
	return append(tenancyBaseEnv(dnsAddr), "POSTHASTE_DATA_DIR="+t.TempDir())
}

func mariadbEnv(t *testing.T, dnsAddr string) []string {
	cfg, err := mysql.ParseDSN(sqlstoretest.MariaDBEmptyDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	u := "mysql://" + cfg.User
	if cfg.Passwd != "" {
		u += ":" + cfg.Passwd
	}
	u += "@" + cfg.Addr + "/" + cfg.DBName
	return append(tenancyBaseEnv(dnsAddr),
		"POSTHASTE_DATA_DIR="+t.TempDir(),
		"POSTHASTE_DATABASE_URL="+u,
		"POSTHASTE_AMQP_URL="+envOr("POSTHASTE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
		"POSTHASTE_REDIS_URL="+envOr("POSTHASTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
		"POSTHASTE_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	)
}

func cliBackends() map[string]func(*testing.T, string) []string {
	return map[string]func(*testing.T, string) []string{"embedded": embeddedEnv, "mariadb": mariadbEnv}
}

type dnsRecordJSON struct {
	Purpose  string `json:"purpose"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Value    string `json:"value"`
	Required bool   `json:"required"`
}

// zone turns `domain dns --json` output into zone-file lines, as an operator pasting them would.
// edit may change or drop (return "") a record's value.
func zone(t *testing.T, dnsJSON string, edit func(r dnsRecordJSON) string) []string {
	t.Helper()
	var out struct {
		Records []dnsRecordJSON `json:"records"`
	}
	if err := json.Unmarshal([]byte(dnsJSON), &out); err != nil {
		t.Fatalf("domain dns --json: %v\n%s", err, dnsJSON)
	}
	var lines []string
	for _, r := range out.Records {
		v := r.Value
		if edit != nil {
			v = edit(r)
		}
		if v == "" {
			continue
		}
		switch r.Type {
		case "TXT":
			lines = append(lines, r.Name+". 300 IN TXT "+dnstest.Quote(v))
		default:
			lines = append(lines, r.Name+". 300 IN "+r.Type+" "+v+".")
		}
	}
	return lines
}

// platformSPF is the platform's own SPF record at POSTHASTE_SPF_INCLUDE, which the operator
// publishes once in the platform's zone; `domain verify` evaluates domains' records through it.
const platformSPF = `spf.example.net. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"`

func withPlatform(lines []string) []string { return append(lines, platformSPF) }

func TestCLITenancy(t *testing.T) {
	for name, envFor := range cliBackends() {
		t.Run(name, func(t *testing.T) {
			dns := dnstest.New(t)
			c := &operator{t: t, env: envFor(t, dns.Addr)}
			operatorFlow(t, c, dns)
		})
	}
}

func operatorFlow(t *testing.T, c *operator, dns *dnstest.Server) {
	// Organizations and servers.
	tenancyGolden(t, "org_create", c.ok("org", "create", "Acme", "--json"))
	c.fails("", `organization "acme" already exists`, "org", "create", "acme")
	c.fails("", `organization "nope" not found`, "server", "create", "nope/billing")
	tenancyGolden(t, "server_create", c.ok("server", "create", "acme/billing", "--mode", "development", "--send-limit", "100", "--json"))
	c.fails("", `server "acme/billing" already exists`, "server", "create", "acme/billing")
	tenancyGolden(t, "server_update", c.ok("server", "update", "acme/billing", "--mode", "live", "--retention-days", "90", "--json"))
	c.fails("", "mode \"test\" (want live or development)", "server", "update", "acme/billing", "--mode", "test")

	// Users: weak or missing passwords write nothing.
	c.fails("short\n", "password is too weak", "user", "create", "--email", "ops@example.com", "--password-stdin")
	c.fails("", "password is missing", "user", "create", "--email", "ops@example.com", "--password-stdin")
	c.fails("", "password is missing", "user", "create", "--email", "ops@example.com")
	tenancyGolden(t, "user_create", c.run("correct horse battery staple\n", "user", "create", "--email", "Ops@Example.com", "--admin", "--org", "acme", "--password-stdin", "--json").stdout)
	c.fails("another long passphrase\n", `user "ops@example.com" already exists`, "user", "create", "--email", "ops@example.com", "--password-stdin")
	c.run("yet another passphrase\n", "user", "create", "--email", "dev@example.com", "--password-stdin")
	tenancyGolden(t, "user_list", c.ok("user", "list", "--json"))

	// Domains.
	tenancyGolden(t, "domain_create", c.ok("domain", "create", "Example.com", "--server", "acme/billing", "--ed25519", "--json"))
	c.fails("", `domain "example.com" already exists`, "domain", "create", "example.com", "--server", "acme/billing")
	c.fails("", `domain name "exa_mple.com" contains '_'`, "domain", "create", "exa_mple.com", "--server", "acme/billing")
	c.fails("", `server "acme/nope" not found`, "domain", "create", "other.com", "--server", "acme/nope")
	tenancyGolden(t, "domain_create_skip", c.ok("domain", "create", "dev.example.org", "--server", "acme/billing", "--skip-verification", "--json"))
	dnsJSON := c.ok("domain", "dns", "example.com", "--json")
	tenancyGolden(t, "domain_dns", dnsJSON)
	if text := c.ok("domain", "dns", "example.com"); !strings.Contains(text, `IN TXT "v=spf1 a mx include:spf.example.net ~all"`) {
		t.Errorf("domain dns text output lacks the SPF line:\n%s", text)
	}

	// Nothing published: verify fails and names every required record.
	r := c.fails("", "required records not ok: verification missing, spf missing, dkim missing, dkim missing", "domain", "verify", "example.com")
	if !strings.Contains(r.stdout, "MISSING  verification TXT   example.com") {
		t.Errorf("verify output:\n%s", r.stdout)
	}

	// The printed records alone: verify passes, and says that the platform's own SPF record
	// (the include's) is not published yet.
	dns.Set(t, zone(t, dnsJSON, nil)...)
	if out := c.ok("domain", "verify", "example.com"); !strings.Contains(out, "OK       spf          TXT   example.com: the record includes spf.example.net, which has no SPF record yet") {
		t.Errorf("verify without the platform's SPF record:\n%s", out)
	}

	// Good records, the platform's included: verify passes.
	dns.Set(t, withPlatform(zone(t, dnsJSON, nil))...)
	tenancyGolden(t, "domain_verify_ok", c.ok("domain", "verify", "example.com", "--json"))

	// Break each record in turn: verify fails naming exactly that record and why.
	otherKey := "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwrongwrongwrongwrong"
	breaks := []struct {
		name, purpose, reason string
		edit                  func(r dnsRecordJSON) string
		exitOK                bool
	}{
		{"verification missing", "verification", `no TXT record "posthaste-verification=`, func(r dnsRecordJSON) string {
			if r.Purpose == "verification" {
				return ""
			}
			return r.Value
		}, false},
		{"spf missing", "spf", "no SPF record", func(r dnsRecordJSON) string {
			if r.Purpose == "spf" {
				return ""
			}
			return r.Value
		}, false},
		{"spf without include", "spf", "SPF record exists but does not include spf.example.net", func(r dnsRecordJSON) string {
			if r.Purpose == "spf" {
				return "v=spf1 a mx ~all"
			}
			return r.Value
		}, false},
		{"spf include that does not resolve", "spf", `SPF record invalid: "include:spf.other.example" at example.com: spf.other.example does not exist`, func(r dnsRecordJSON) string {
			if r.Purpose == "spf" {
				return "v=spf1 a mx include:spf.other.example include:spf.example.net ~all"
			}
			return r.Value
		}, false},
		{"spf too many lookups", "spf", "SPF record invalid: 11 DNS lookups (limit 10)", func(r dnsRecordJSON) string {
			if r.Purpose == "spf" {
				return "v=spf1" + strings.Repeat(" include:spf.example.net", 11) + " ~all"
			}
			return r.Value
		}, false},
		{"spf +all", "spf", "SPF record authorizes any sender: 240.0.0.1, a reserved address, passes", func(r dnsRecordJSON) string {
			if r.Purpose == "spf" {
				return "v=spf1 a mx include:spf.example.net +all"
			}
			return r.Value
		}, false},
		{"spf shadows the platform", "spf", "SPF record does not pass 203.0.113.0, a sending address of spf.example.net: fail", func(r dnsRecordJSON) string {
			if r.Purpose == "spf" {
				return "v=spf1 -ip4:203.0.113.0/24 include:spf.example.net ~all"
			}
			return r.Value
		}, false},
		{"dkim wrong key", "dkim", "has a different public key (p=) than the domain's key", func(r dnsRecordJSON) string {
			if r.Purpose == "dkim" && strings.Contains(r.Value, "k=rsa") {
				return "v=DKIM1; k=rsa; p=" + otherKey
			}
			return r.Value
		}, false},
		{"dkim missing", "dkim", "no DKIM record (TXT) at ph", func(r dnsRecordJSON) string {
			if r.Purpose == "dkim" && strings.Contains(r.Value, "k=ed25519") {
				return ""
			}
			return r.Value
		}, false},
		{"dmarc missing (optional)", "dmarc", "no DMARC record", func(r dnsRecordJSON) string {
			if r.Purpose == "dmarc" {
				return ""
			}
			return r.Value
		}, true},
		{"return path wrong (optional)", "return_path", "return-path CNAME at psrp.example.com points to elsewhere.example, expected rp.mail.example.net", func(r dnsRecordJSON) string {
			if r.Purpose == "return_path" {
				return "elsewhere.example"
			}
			return r.Value
		}, true},
	}
	for _, b := range breaks {
		dns.Set(t, withPlatform(zone(t, dnsJSON, b.edit))...)
		res := c.run("", "domain", "verify", "example.com", "--json")
		if (res.code == 0) != b.exitOK {
			t.Errorf("%s: exit %d, want ok=%v; stderr %s", b.name, res.code, b.exitOK, res.stderr)
		}
		var out struct {
			Records []struct {
				Purpose, Name, Status, Reason string
			} `json:"records"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
			t.Fatalf("%s: %v\n%s", b.name, err, res.stdout)
		}
		var bad []string
		for _, rec := range out.Records {
			if rec.Status != "ok" {
				bad = append(bad, rec.Purpose+": "+rec.Reason)
			}
		}
		if len(bad) != 1 || !strings.HasPrefix(bad[0], b.purpose+": ") || !strings.Contains(bad[0], b.reason) {
			t.Errorf("%s: records not ok = %q; want exactly %s with %q", b.name, bad, b.purpose, b.reason)
		}
		if !b.exitOK && !strings.Contains(res.stderr, "required records not ok: "+b.purpose) {
			t.Errorf("%s: stderr %q does not name %s", b.name, res.stderr, b.purpose)
		}
	}
	// The text form says the same per record.
	dns.Set(t, withPlatform(zone(t, dnsJSON, breaks[2].edit))...)
	r = c.fails("", "required records not ok: spf invalid", "domain", "verify", "example.com")
	if !strings.Contains(r.stdout, "INVALID  spf          TXT   example.com: SPF record exists but does not include spf.example.net") {
		t.Errorf("verify text output:\n%s", r.stdout)
	}

	// Credentials: the secret once, exact JSON keys per type.
	smtp := c.ok("credential", "create", "--server", "acme/billing", "--type", "smtp", "--json")
	tenancyGolden(t, "credential_create_smtp", smtp)
	tenancyGolden(t, "credential_create_api", c.ok("credential", "create", "--server", "acme/billing", "--type", "api", "--name", "app", "--json"))
	tenancyGolden(t, "credential_create_smtp_ip", c.ok("credential", "create", "--server", "acme/billing", "--type", "smtp-ip", "--cidr", "192.0.2.0/24", "--hold", "--json"))
	c.fails("", "has host bits set", "credential", "create", "--server", "acme/billing", "--type", "smtp-ip", "--cidr", "192.0.2.1/24")
	c.fails("", `server "acme/nope" not found`, "credential", "create", "--server", "acme/nope", "--type", "api")
	var created struct{ ID, Password string }
	json.Unmarshal([]byte(smtp), &created)
	c.ok("credential", "update", created.ID, "--hold", "--name", "billing smtp")
	c.ok("credential", "revoke", created.ID, "--reason", "rotated")
	c.fails("", "already revoked", "credential", "revoke", created.ID)
	list := c.ok("credential", "list", "--server", "acme/billing", "--json")
	tenancyGolden(t, "credential_list", list)

	// DKIM rotation: the new key is published first and signs once seen in DNS.
	rot := c.ok("domain", "rotate-dkim", "example.com", "--json")
	tenancyGolden(t, "domain_rotate_dkim", rot)
	var newRec dnsRecordJSON
	json.Unmarshal([]byte(rot), &newRec)
	dns.Set(t, withPlatform(zone(t, dnsJSON, nil))...)
	c.ok("domain", "verify", "example.com") // old key still signs; the new one is optional until seen
	if strings.Contains(c.ok("domain", "dns", "example.com", "--json"), `"name":"`+strings.Split(dnsJSONSelector(t, dnsJSON), ".")[0]+`._domainkey`) == false {
		t.Error("the old key left the records before the new one was seen")
	}
	dns.Set(t, append(withPlatform(zone(t, dnsJSON, nil)), newRec.Name+". 300 IN TXT "+dnstest.Quote(newRec.Value))...)
	c.ok("domain", "verify", "example.com")
	tenancyGolden(t, "domain_dns_rotated", c.ok("domain", "dns", "example.com", "--json"))
	tenancyGolden(t, "domain_list", c.ok("domain", "list", "--server", "acme/billing", "--json"))

	// Concurrent creates of one name: the store's unique (stream, version) key lets exactly one win.
	var wg sync.WaitGroup
	results := make([]result, 4)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = c.run("", "org", "create", "race")
		}(i)
	}
	wg.Wait()
	wins := 0
	for _, r := range results {
		switch {
		case r.code == 0:
			wins++
		case r.code != 1 || !strings.Contains(r.stderr, `organization "race" already exists`):
			t.Errorf("concurrent org create: exit %d, stderr %q", r.code, r.stderr)
		}
	}
	if wins != 1 {
		t.Errorf("%d concurrent creates of one org succeeded, want exactly 1", wins)
	}

	// The audit trail: every change is an event with the CLI actor, and no secret is in it.
	evs := c.ok("events", "--json")
	if strings.Contains(evs, created.Password) {
		t.Error("an SMTP password is in the event log")
	}
	me := cliUser()
	var types []string
	sc := bufio.NewScanner(strings.NewReader(evs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			Type  string `json:"type"`
			Actor struct{ Type, ID string }
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("events --json line: %v", err)
		}
		if e.Actor.Type != "cli" || e.Actor.ID != me {
			t.Errorf("%s by %s:%s, want cli:%s", e.Type, e.Actor.Type, e.Actor.ID, me)
		}
		types = append(types, e.Type)
	}
	count := map[string]int{}
	for _, ty := range types {
		count[ty]++
	}
	want := map[string]int{"org.created": 2, "server.created": 1, "server.updated": 1, "credential.updated": 1, "user.created": 2, "user.membership_changed": 1, "domain.added": 2,
		"domain.verified": 2, "domain.dns_checked": 17, "domain.dkim_rotated": 2, "credential.created": 3, "credential.revoked": 1}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		keys := make([]string, 0, len(count))
		for k := range count {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Errorf("event counts = %v\nwant %v", count, want)
	}
}

// dnsJSONSelector returns the owner name of the first DKIM record of `domain dns --json` output.
func dnsJSONSelector(t *testing.T, dnsJSON string) string {
	var out struct {
		Records []dnsRecordJSON `json:"records"`
	}
	json.Unmarshal([]byte(dnsJSON), &out)
	for _, r := range out.Records {
		if r.Purpose == "dkim" {
			return r.Name
		}
	}
	t.Fatal("no dkim record")
	return ""
}

func cliUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// TestCLIUserPasswordPrompt types the password at a terminal (a pty from util-linux script): it
// is asked twice, never echoed, and a mismatch writes nothing.
func TestCLIUserPasswordPrompt(t *testing.T) {
	bin := binary(t)
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatalf("util-linux script (for a pty) is required: %v", err)
	}
	env := embeddedEnv(t, "127.0.0.1:53")
	type step struct{ prompt, typed string }
	prompt := func(email string, steps []step) (string, int) {
		t.Helper()
		cmd := exec.Command("script", "-qec", bin+" user create --email "+email, "/dev/null")
		cmd.Env = env
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		outR, outW, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = outW, outW
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		outW.Close()
		var seen bytes.Buffer
		buf := make([]byte, 256)
		for _, s := range steps {
			for !strings.HasSuffix(strings.TrimRight(seen.String(), " "), strings.TrimSpace(s.prompt)) {
				n, err := outR.Read(buf)
				seen.Write(buf[:n])
				if err != nil {
					t.Fatalf("waiting for %q: %v; output so far %q", s.prompt, err, seen.String())
				}
			}
			if _, err := in.Write([]byte(s.typed + "\r")); err != nil {
				t.Fatal(err)
			}
			seen.WriteString("|") // so the next prompt is not matched by this one
		}
		rest, _ := io.ReadAll(outR)
		seen.Write(rest)
		in.Close()
		err = cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return seen.String(), code
	}
	const pw = "correct horse battery"
	out, code := prompt("typed@example.com", []step{{"Password:", pw}, {"Repeat password:", pw}})
	if code != 0 || !strings.Contains(out, "created user typed@example.com") || strings.Contains(out, pw) {
		t.Fatalf("exit %d, terminal showed %q (the password must not be echoed)", code, out)
	}
	out, code = prompt("mismatch@example.com", []step{{"Password:", pw}, {"Repeat password:", pw + "x"}})
	if code != 1 || !strings.Contains(out, "passwords do not match") {
		t.Fatalf("mismatch: exit %d, %q", code, out)
	}
	c := &operator{t: t, env: env}
	if list := c.ok("user", "list", "--json"); strings.Contains(list, "mismatch@") || !strings.Contains(list, "typed@example.com") {
		t.Fatalf("user list = %s", list)
	}
}
