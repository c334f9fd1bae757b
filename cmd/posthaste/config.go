package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/posthaste/posthaste/adapters/cli"
	"github.com/posthaste/posthaste/adapters/sqlstore"
)

// Config is the whole runtime configuration of the binary, read from POSTHASTE_* environment
// variables, each overridden by a kebab-case flag of the same name (--data-dir, --database-url…).
type Config struct {
	DataDir     string
	DatabaseURL string // mysql://user:pass@host:3306/db
	AMQPURL     string
	RedisURL    string

	// Isolation of one deployment (or one test) on a shared broker and Redis.
	AMQPExchange    string
	AMQPQueuePrefix string
	RedisPrefix     string

	HTTPListen            string
	HTTPSListen           string // HTTPS (API, web) with POSTHASTE_TLS_CERT or a self-signed certificate
	AdminToken            string // bearer token of the management API (/api/v2)
	SMTPListen            []string
	SMTPSListen           []string
	MXListen              []string
	TLSCert, TLSKey       string
	SMTPAllowInsecureAuth bool
	Hostname              string
	ReturnPathDomain      string
	SPFInclude            string
	DNSResolver           string
	SMTPRelays            []string
	MaxMessageSize        int64 // bytes
	RetryInitial          time.Duration
	RetryFactor           float64
	RetryMaxAttempts      int
	WebhookAllowPrivate   bool
	WebhookRetryInitial   time.Duration
	WebhookTimeout        time.Duration
	SecretKey             []byte // 32 bytes; nil until loaded or generated in embedded mode
	LogLevel              slog.Level
	Roles                 []string
	PprofListen           string // net/http/pprof of the worker role; "" = off
}

// Production reports whether the production stack (MariaDB, RabbitMQ, Redis) is configured.
func (c Config) Production() bool { return c.DatabaseURL != "" }

// HasRole reports whether serve runs the named role.
func (c Config) HasRole(r string) bool {
	for _, x := range c.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// allRoles are the roles of `serve --roles`, in start order.
var allRoles = []string{"web", "projector", "relay", "worker", "smtp", "webhooks"}

// optionalRoles are valid roles outside the default list: mx joins the default roles when
// POSTHASTE_MX_LISTEN is set.
var optionalRoles = []string{"mx"}

// configVar describes one variable: its name, default, help and how it lands in Config.
// set returns a problem description (without the variable name) or nil.
type configVar struct {
	env  string
	def  string
	help string
	set  func(c *Config, v string) error
}

// Flag returns the kebab-case flag name of the variable: POSTHASTE_DATA_DIR → data-dir.
func (v configVar) Flag() string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(v.env, "POSTHASTE_")), "_", "-")
}

var configVars = []configVar{
	{"POSTHASTE_DATA_DIR", "./data", "embedded default storage (SQLite file, generated secret key)", func(c *Config, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{"POSTHASTE_DATABASE_URL", "", "MariaDB, mysql://user:pass@host:3306/db (production stack)", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if _, err := sqlstore.ParseMariaDBURL(v); err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "sqlstore: parse url: "))
		}
		c.DatabaseURL = v
		return nil
	}},
	{"POSTHASTE_AMQP_URL", "", "RabbitMQ, amqp://guest:guest@host:5672/ (production stack)", func(c *Config, v string) error {
		c.AMQPURL = v
		return checkURL(v, "amqp", "amqps")
	}},
	{"POSTHASTE_REDIS_URL", "", "Redis, redis://host:6379/0 (production stack)", func(c *Config, v string) error {
		c.RedisURL = v
		return checkURL(v, "redis", "rediss")
	}},
	{"POSTHASTE_AMQP_EXCHANGE", "posthaste.events", "RabbitMQ exchange the relay publishes to", func(c *Config, v string) error {
		c.AMQPExchange = v
		return checkName(v)
	}},
	{"POSTHASTE_AMQP_QUEUE_PREFIX", "posthaste.", "prefix of every RabbitMQ queue name (projection queues, dead-letter queues)", func(c *Config, v string) error {
		c.AMQPQueuePrefix = v
		return nil
	}},
	{"POSTHASTE_REDIS_PREFIX", "posthaste:", "prefix of every Redis key", func(c *Config, v string) error {
		c.RedisPrefix = v
		return nil
	}},
	{"POSTHASTE_HTTP_LISTEN", "127.0.0.1:8090", "web UI, API, /livez, /readyz, /metrics", func(c *Config, v string) error {
		c.HTTPListen = v
		return checkHostPort(v, false)
	}},
	{"POSTHASTE_HTTPS_LISTEN", "", "HTTPS for the web UI and API (e.g. :443), with POSTHASTE_TLS_CERT or a self-signed certificate", func(c *Config, v string) error {
		c.HTTPSListen = v
		return checkHostPort(v, true)
	}},
	{"POSTHASTE_ADMIN_TOKEN", "", "bearer token of the management API (/api/v2, any server); unset = server API keys only", func(c *Config, v string) error {
		c.AdminToken = v
		return nil
	}},
	{"POSTHASTE_SMTP_LISTEN", "127.0.0.1:2525", "submission with STARTTLS; comma list", func(c *Config, v string) (err error) {
		c.SMTPListen, err = hostPortList(v)
		return err
	}},
	{"POSTHASTE_SMTPS_LISTEN", "", "implicit TLS submission (465); comma list", func(c *Config, v string) (err error) {
		c.SMTPSListen, err = hostPortList(v)
		return err
	}},
	{"POSTHASTE_MX_LISTEN", "", "inbound MX for bounces and replies (port 25); comma list", func(c *Config, v string) (err error) {
		c.MXListen, err = hostPortList(v)
		return err
	}},
	{"POSTHASTE_TLS_CERT", "", "PEM certificate for SMTP and HTTPS (self-signed when unset)", func(c *Config, v string) error {
		c.TLSCert = v
		return checkFile(v)
	}},
	{"POSTHASTE_TLS_KEY", "", "PEM private key of POSTHASTE_TLS_CERT", func(c *Config, v string) error {
		c.TLSKey = v
		return checkFile(v)
	}},
	{"POSTHASTE_SMTP_ALLOW_INSECURE_AUTH", "false", "allow AUTH without TLS, from loopback clients only", func(c *Config, v string) (err error) {
		c.SMTPAllowInsecureAuth, err = parseBool(v)
		return err
	}},
	{"POSTHASTE_HOSTNAME", "", "EHLO name and Message-ID right-hand side (default: the machine's)", func(c *Config, v string) error {
		c.Hostname = v
		return checkDomain(v)
	}},
	{"POSTHASTE_RETURN_PATH_DOMAIN", "", "VERP return paths and bounce MX (default rp.<hostname>)", func(c *Config, v string) error {
		c.ReturnPathDomain = v
		return checkDomain(v)
	}},
	{"POSTHASTE_SPF_INCLUDE", "", "what domains' SPF must include (default spf.<hostname>)", func(c *Config, v string) error {
		c.SPFInclude = v
		return checkDomain(v)
	}},
	{"POSTHASTE_DNS_RESOLVER", "", "host:port of the DNS server for MX lookup and verification (default: system)", func(c *Config, v string) error {
		c.DNSResolver = v
		return checkHostPort(v, true)
	}},
	{"POSTHASTE_SMTP_RELAYS", "", "smart hosts, comma list of smtp://[user:pass@]host:port or smtps://", func(c *Config, v string) error {
		c.SMTPRelays = splitList(v)
		var errs []error
		for _, r := range c.SMTPRelays {
			u, err := url.Parse(r)
			if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Port() == "" {
				errs = append(errs, fmt.Errorf("%q is not smtp://[user:pass@]host:port or smtps://…", redactURL(r)))
			}
		}
		return errors.Join(errs...)
	}},
	{"POSTHASTE_MAX_MESSAGE_SIZE", "25MB", "largest accepted message (sizes like 512KB, 25MB, 1GiB)", func(c *Config, v string) (err error) {
		c.MaxMessageSize, err = parseSize(v)
		if err == nil && c.MaxMessageSize < 1024 {
			err = fmt.Errorf("%q is below 1KB", v)
		}
		return err
	}},
	{"POSTHASTE_RETRY_INITIAL", "5m", "wait after the first failed attempt (Go duration)", func(c *Config, v string) (err error) {
		c.RetryInitial, err = parsePositiveDuration(v)
		return err
	}},
	{"POSTHASTE_RETRY_FACTOR", "1.3", "growth of the wait between attempts (>= 1)", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 1 || f > 100 {
			return fmt.Errorf("%q is not a number between 1 and 100", v)
		}
		c.RetryFactor = f
		return nil
	}},
	{"POSTHASTE_RETRY_MAX_ATTEMPTS", "18", "attempts, the first included, before a message expires", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("%q is not a whole number between 1 and 1000", v)
		}
		c.RetryMaxAttempts = n
		return nil
	}},
	{"POSTHASTE_WEBHOOK_ALLOW_PRIVATE", "false", "allow webhook targets on private or loopback addresses", func(c *Config, v string) (err error) {
		c.WebhookAllowPrivate, err = parseBool(v)
		return err
	}},
	{"POSTHASTE_WEBHOOK_RETRY_INITIAL", "30s", "wait after a webhook's first failed attempt; doubles up to 6h, deliveries die after 3 days", func(c *Config, v string) (err error) {
		c.WebhookRetryInitial, err = parsePositiveDuration(v)
		return err
	}},
	{"POSTHASTE_WEBHOOK_TIMEOUT", "10s", "time a webhook receiver has to answer one request", func(c *Config, v string) (err error) {
		c.WebhookTimeout, err = parsePositiveDuration(v)
		return err
	}},
	{"POSTHASTE_SECRET_KEY", "", "32-byte key (hex or base64) encrypting secrets at rest; required in production, generated in the data dir otherwise", func(c *Config, v string) (err error) {
		if v == "" {
			return nil
		}
		c.SecretKey, err = parseSecretKey(v)
		return err
	}},
	{"POSTHASTE_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return fmt.Errorf("%q is not debug, info, warn or error", v)
		}
		return nil
	}},
	{"POSTHASTE_PPROF_LISTEN", "", "host:port serving /debug/pprof from the worker role, for profiling under load (keep it on loopback); unset = off", func(c *Config, v string) error {
		c.PprofListen = v
		return checkHostPort(v, true)
	}},
	{"POSTHASTE_ROLES", strings.Join(allRoles, ","), "roles serve runs: comma list of web, projector, relay, worker, smtp, webhooks, mx (mx by default when POSTHASTE_MX_LISTEN is set)", func(c *Config, v string) error {
		c.Roles = nil
		var errs []error
		for _, r := range splitList(v) {
			if !isRole(r) {
				errs = append(errs, fmt.Errorf("unknown role %q (want %s)", r, strings.Join(append(append([]string(nil), allRoles...), optionalRoles...), ", ")))
				continue
			}
			if !c.HasRole(r) {
				c.Roles = append(c.Roles, r)
			}
		}
		if len(c.Roles) == 0 && len(errs) == 0 {
			errs = append(errs, errors.New("no role given"))
		}
		return errors.Join(errs...)
	}},
}

func isRole(r string) bool {
	for _, x := range append(append([]string(nil), allRoles...), optionalRoles...) {
		if x == r {
			return true
		}
	}
	return false
}

// switches are the variables that are a yes or no (shown as switches by the CLI).
var switches = map[string]bool{"POSTHASTE_SMTP_ALLOW_INSECURE_AUTH": true, "POSTHASTE_WEBHOOK_ALLOW_PRIVATE": true}

// settings lists the configuration variables, in the README's order, for the CLI's flags and help.
func settings() []cli.Setting {
	out := make([]cli.Setting, len(configVars))
	for i, v := range configVars {
		out[i] = cli.Setting{Env: v.env, Flag: v.Flag(), Default: v.def, Usage: v.help, Bool: switches[v.env]}
	}
	return out
}

// loadSettings builds the configuration from the flags set on one command line (by flag name),
// then the environment, then the defaults, and validates it. The error lists every problem at
// once, one per variable, each naming the variable.
func loadSettings(env func(string) string, set map[string]string) (Config, error) {
	var c Config
	var errs []error
	for _, v := range configVars {
		val, ok := set[v.Flag()]
		if !ok {
			val = strings.TrimSpace(env(v.env))
		}
		if val == "" {
			val = v.def
		}
		if err := v.set(&c, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.env, err))
		}
	}
	errs = append(errs, c.crossChecks()...)
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("invalid configuration: %w", err)
	}
	c.fillDefaults()
	return c, nil
}

// crossChecks are the rules spanning several variables.
func (c Config) crossChecks() []error {
	var errs []error
	urls := map[string]string{"POSTHASTE_DATABASE_URL": c.DatabaseURL, "POSTHASTE_AMQP_URL": c.AMQPURL, "POSTHASTE_REDIS_URL": c.RedisURL}
	var have, missing []string
	for _, k := range []string{"POSTHASTE_DATABASE_URL", "POSTHASTE_AMQP_URL", "POSTHASTE_REDIS_URL"} {
		if urls[k] != "" {
			have = append(have, k)
		} else {
			missing = append(missing, k)
		}
	}
	if len(have) > 0 && len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%s: the production stack needs all three of POSTHASTE_DATABASE_URL, POSTHASTE_AMQP_URL and POSTHASTE_REDIS_URL (set: %s); unset all three for the embedded default",
			strings.Join(missing, ", "), strings.Join(have, ", ")))
	}
	if c.DatabaseURL != "" && c.SecretKey == nil {
		errs = append(errs, errors.New("POSTHASTE_SECRET_KEY: required with the production stack (32 random bytes, hex or base64: openssl rand -hex 32)"))
	}
	if c.HasRole("mx") && len(c.MXListen) == 0 {
		errs = append(errs, errors.New("POSTHASTE_ROLES: the mx role needs POSTHASTE_MX_LISTEN"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("POSTHASTE_TLS_CERT, POSTHASTE_TLS_KEY: set both or neither"))
	}
	return errs
}

func (c *Config) fillDefaults() {
	if c.Hostname == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			c.Hostname = h
		} else {
			c.Hostname = "localhost"
		}
	}
	if c.ReturnPathDomain == "" {
		c.ReturnPathDomain = "rp." + c.Hostname
	}
	if c.SPFInclude == "" {
		c.SPFInclude = "spf." + c.Hostname
	}
	if len(c.MXListen) > 0 && !c.HasRole("mx") && strings.Join(c.Roles, ",") == strings.Join(allRoles, ",") {
		c.Roles = append(c.Roles, "mx") // the default roles include mx when its listener is configured
	}
}

// secretKeyFile is where the embedded default keeps its generated key.
func (c Config) secretKeyFile() string { return filepath.Join(c.DataDir, "secret.key") }

// ensureSecretKey loads the embedded default's key from the data dir, generating it (mode 0600)
// on first start. It does nothing when a key is configured. rnd is the randomness source.
func (c *Config) ensureSecretKey(rnd func([]byte) (int, error)) error {
	if c.SecretKey != nil {
		return nil
	}
	if c.Production() {
		return errors.New("config: POSTHASTE_SECRET_KEY is required with the production stack")
	}
	path := c.secretKeyFile()
	b, err := os.ReadFile(path)
	if err == nil {
		k, perr := parseSecretKey(strings.TrimSpace(string(b)))
		if perr != nil {
			return fmt.Errorf("config: secret key file %s: %w", path, perr)
		}
		c.SecretKey = k
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("config: read secret key: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("config: create data dir: %w", err)
	}
	if rnd == nil {
		rnd = rand.Read
	}
	k := make([]byte, 32)
	if _, err := rnd(k); err != nil {
		return fmt.Errorf("config: generate secret key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("config: write secret key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("config: write secret key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("config: write secret key: %w", err)
	}
	c.SecretKey = k
	return nil
}

func parseSecretKey(v string) ([]byte, error) {
	if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("must be 32 bytes, hex (64 characters) or base64")
}

// redactURL hides the password of a URL for error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable URL>"
	}
	return u.Redacted()
}

func checkURL(v string, schemes ...string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL %s://host:port/…", redactURL(v), schemes[0])
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("%q: scheme must be %s", redactURL(v), strings.Join(schemes, " or "))
}

func checkName(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func checkHostPort(v string, optional bool) error {
	if v == "" {
		if optional {
			return nil
		}
		return errors.New("must not be empty (host:port)")
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not 0-65535", v, port)
	}
	return nil
}

func hostPortList(v string) ([]string, error) {
	l := splitList(v)
	var errs []error
	for _, x := range l {
		errs = append(errs, checkHostPort(x, false))
	}
	return l, errors.Join(errs...)
}

func checkFile(v string) error {
	if v == "" {
		return nil
	}
	if _, err := os.Stat(v); err != nil {
		return fmt.Errorf("%q cannot be read: %v", v, errors.Unwrap(err))
	}
	return nil
}

func checkDomain(v string) error {
	if v == "" {
		return nil
	}
	if len(v) > 253 || strings.ContainsAny(v, " /:@") || strings.HasPrefix(v, ".") || strings.HasSuffix(v, "..") {
		return fmt.Errorf("%q is not a domain name", v)
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

func parsePositiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive Go duration like 90s or 5m", v)
	}
	return d, nil
}

// parseSize reads sizes like 25MB, 512KB, 1GiB or a plain byte count. KB/MB/GB are powers of
// 1000, KiB/MiB/GiB powers of 1024.
func parseSize(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	units := []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 || n*float64(mult) > 1<<40 {
		return 0, fmt.Errorf("%q is not a size like 25MB", v)
	}
	return int64(n * float64(mult)), nil
}
