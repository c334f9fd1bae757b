package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

const testKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadSettings(envOf(nil), nil)
	if err != nil {
		t.Fatalf("defaults must be valid: %v", err)
	}
	if c.DataDir != "./data" || c.HTTPListen != "127.0.0.1:8090" || c.Production() {
		t.Errorf("data dir %q, http %q, production %v", c.DataDir, c.HTTPListen, c.Production())
	}
	if len(c.SMTPListen) != 1 || c.SMTPListen[0] != "127.0.0.1:2525" {
		t.Errorf("smtp listen %v", c.SMTPListen)
	}
	if c.MaxMessageSize != 25_000_000 || c.RetryInitial != 5*time.Minute || c.RetryFactor != 1.3 || c.RetryMaxAttempts != 18 {
		t.Errorf("size %d retry %v %v %d", c.MaxMessageSize, c.RetryInitial, c.RetryFactor, c.RetryMaxAttempts)
	}
	if strings.Join(c.Roles, ",") != strings.Join(allRoles, ",") {
		t.Errorf("roles %v", c.Roles)
	}
	if c.ReturnPathDomain != "rp."+c.Hostname || c.SPFInclude != "spf."+c.Hostname {
		t.Errorf("derived domains %q %q from %q", c.ReturnPathDomain, c.SPFInclude, c.Hostname)
	}
}

func TestLoadConfigValues(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		flags []string
		check func(t *testing.T, c Config)
	}{
		{"size in MiB", map[string]string{"POSTHASTE_MAX_MESSAGE_SIZE": "10MiB"}, nil, func(t *testing.T, c Config) {
			if c.MaxMessageSize != 10<<20 {
				t.Errorf("got %d", c.MaxMessageSize)
			}
		}},
		{"plain bytes", map[string]string{"POSTHASTE_MAX_MESSAGE_SIZE": "2048"}, nil, func(t *testing.T, c Config) {
			if c.MaxMessageSize != 2048 {
				t.Errorf("got %d", c.MaxMessageSize)
			}
		}},
		{"flag overrides env", map[string]string{"POSTHASTE_DATA_DIR": "/env"}, []string{"--data-dir", "/flag"}, func(t *testing.T, c Config) {
			if c.DataDir != "/flag" {
				t.Errorf("got %q", c.DataDir)
			}
		}},
		{"roles subset, deduplicated", nil, []string{"--roles", "relay, web,relay"}, func(t *testing.T, c Config) {
			if strings.Join(c.Roles, ",") != "relay,web" || c.HasRole("smtp") {
				t.Errorf("got %v", c.Roles)
			}
		}},
		{"production stack", map[string]string{
			"POSTHASTE_DATABASE_URL": "mysql://u:p@db:3306/mail", "POSTHASTE_AMQP_URL": "amqp://guest:guest@mq:5672/",
			"POSTHASTE_REDIS_URL": "redis://r:6379/0", "POSTHASTE_SECRET_KEY": testKey,
		}, nil, func(t *testing.T, c Config) {
			if !c.Production() || len(c.SecretKey) != 32 || c.SecretKey[31] != 0x1f {
				t.Errorf("production %v key %x", c.Production(), c.SecretKey)
			}
		}},
		{"durations and lists", map[string]string{"POSTHASTE_RETRY_INITIAL": "90s", "POSTHASTE_SMTP_LISTEN": "0.0.0.0:25, 0.0.0.0:587",
			"POSTHASTE_SMTP_RELAYS": "smtp://u:p@relay:587,smtps://relay2:465", "POSTHASTE_LOG_LEVEL": "debug"}, nil, func(t *testing.T, c Config) {
			if c.RetryInitial != 90*time.Second || len(c.SMTPListen) != 2 || len(c.SMTPRelays) != 2 || c.LogLevel.String() != "DEBUG" {
				t.Errorf("got %v %v %v %v", c.RetryInitial, c.SMTPListen, c.SMTPRelays, c.LogLevel)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := map[string]string{}
			for i := 0; i+1 < len(tt.flags); i += 2 { // "--name", "value" pairs
				set[strings.TrimPrefix(tt.flags[i], "--")] = tt.flags[i+1]
			}
			c, err := loadSettings(envOf(tt.env), set)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // every fragment must appear in the one error
	}{
		{"every problem at once", map[string]string{
			"POSTHASTE_MAX_MESSAGE_SIZE":   "huge",
			"POSTHASTE_RETRY_INITIAL":      "5 minutes",
			"POSTHASTE_RETRY_FACTOR":       "0.5",
			"POSTHASTE_RETRY_MAX_ATTEMPTS": "-1",
			"POSTHASTE_HTTP_LISTEN":        "nowhere",
			"POSTHASTE_LOG_LEVEL":          "loud",
			"POSTHASTE_ROLES":              "web,mailman",
		}, []string{"POSTHASTE_MAX_MESSAGE_SIZE", "POSTHASTE_RETRY_INITIAL", "POSTHASTE_RETRY_FACTOR",
			"POSTHASTE_RETRY_MAX_ATTEMPTS", "POSTHASTE_HTTP_LISTEN", "POSTHASTE_LOG_LEVEL", `unknown role "mailman"`}},
		{"partial production stack", map[string]string{"POSTHASTE_DATABASE_URL": "mysql://root@127.0.0.1:3306/x"},
			[]string{"POSTHASTE_AMQP_URL, POSTHASTE_REDIS_URL: the production stack needs all three", "POSTHASTE_SECRET_KEY: required"}},
		{"secret key required in production", map[string]string{"POSTHASTE_DATABASE_URL": "mysql://root@h/x",
			"POSTHASTE_AMQP_URL": "amqp://h:5672/", "POSTHASTE_REDIS_URL": "redis://h:6379/0"}, []string{"POSTHASTE_SECRET_KEY: required"}},
		{"bad urls, password redacted", map[string]string{"POSTHASTE_DATABASE_URL": "postgres://u:hunter2@h/x",
			"POSTHASTE_AMQP_URL": "http://h/", "POSTHASTE_REDIS_URL": "redis://h:6379/0", "POSTHASTE_SECRET_KEY": "short"},
			[]string{"POSTHASTE_DATABASE_URL", "POSTHASTE_AMQP_URL: \"http://h/\": scheme must be amqp or amqps", "POSTHASTE_SECRET_KEY: must be 32 bytes"}},
		{"database url without database", map[string]string{"POSTHASTE_DATABASE_URL": "mysql://root@h:3306/", "POSTHASTE_AMQP_URL": "amqp://h:5672/",
			"POSTHASTE_REDIS_URL": "redis://h:6379/0", "POSTHASTE_SECRET_KEY": testKey}, []string{"POSTHASTE_DATABASE_URL: want exactly one database name"}},
		{"tls pair", map[string]string{"POSTHASTE_TLS_CERT": "/nonexistent/cert.pem"}, []string{"POSTHASTE_TLS_CERT: \"/nonexistent/cert.pem\" cannot be read", "set both or neither"}},
		{"relays", map[string]string{"POSTHASTE_SMTP_RELAYS": "relay.example:25"}, []string{"POSTHASTE_SMTP_RELAYS"}},
		{"booleans", map[string]string{"POSTHASTE_WEBHOOK_ALLOW_PRIVATE": "perhaps", "POSTHASTE_SMTP_ALLOW_INSECURE_AUTH": "2"},
			[]string{"POSTHASTE_WEBHOOK_ALLOW_PRIVATE", "POSTHASTE_SMTP_ALLOW_INSECURE_AUTH"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadSettings(envOf(tt.env), nil)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}

func TestEnsureSecretKeyGeneratesOnceWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c := Config{DataDir: dir}
	fixed := func(b []byte) (int, error) { return copy(b, bytes.Repeat([]byte{7}, len(b))), nil }
	if err := c.ensureSecretKey(fixed); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key file mode %v, want 0600", fi.Mode().Perm())
	}
	// A second start reads the same key instead of generating a new one.
	c2 := Config{DataDir: dir}
	if err := c2.ensureSecretKey(func([]byte) (int, error) { t.Fatal("generated again"); return 0, nil }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.SecretKey, c2.SecretKey) || c2.SecretKey[0] != 7 {
		t.Errorf("keys differ: %x %x", c.SecretKey, c2.SecretKey)
	}
	// Production never generates.
	p := Config{DataDir: t.TempDir(), DatabaseURL: "mysql://h/x"}
	if err := p.ensureSecretKey(fixed); err == nil {
		t.Error("production without a key must fail")
	}
}
