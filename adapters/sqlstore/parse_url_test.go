package sqlstore

import (
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func TestParseMariaDBURL(t *testing.T) {
	dsn, err := ParseMariaDBURL("mysql://posthaste:s3cr%40t@db.example:3307/mail?tls=skip-verify&timeout=5s")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("driver refuses %q: %v", dsn, err)
	}
	if cfg.User != "posthaste" || cfg.Passwd != "s3cr@t" || cfg.Net != "tcp" || cfg.Addr != "db.example:3307" || cfg.DBName != "mail" {
		t.Errorf("got user=%q pass=%q net=%q addr=%q db=%q", cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName)
	}
	if !cfg.ParseTime || cfg.Loc != time.UTC {
		t.Errorf("parseTime=%v loc=%v, want true UTC", cfg.ParseTime, cfg.Loc)
	}
	if cfg.TLSConfig != "skip-verify" || cfg.Timeout != 5*time.Second {
		t.Errorf("query parameters lost: tls=%q timeout=%v", cfg.TLSConfig, cfg.Timeout)
	}
}

func TestParseMariaDBURLDefaultsPortAndAllowsNoPassword(t *testing.T) {
	dsn, err := ParseMariaDBURL("mysql://root@127.0.0.1/posthaste")
	if err != nil {
		t.Fatal(err)
	}
	if want := "root@tcp(127.0.0.1:3306)/posthaste?"; !strings.HasPrefix(dsn, want) || !strings.Contains(dsn, "parseTime=true") {
		t.Errorf("dsn = %q, want prefix %q with parseTime=true", dsn, want)
	}
}

func TestParseMariaDBURLRefusesBadInput(t *testing.T) {
	for _, raw := range []string{
		"postgres://u@h/db",        // wrong scheme
		"mysql://u@h:3306/",        // no database
		"mysql:///db",              // no host
		"mysql://u@h/db/extra",     // two path segments
		"mysql://u@h/db?bogus=%zz", // bad escape
	} {
		if dsn, err := ParseMariaDBURL(raw); err == nil {
			t.Errorf("ParseMariaDBURL(%q) = %q, want an error", raw, dsn)
		}
	}
}

func TestParseMariaDBURLErrorHidesPassword(t *testing.T) {
	_, err := ParseMariaDBURL("mysql://u:topsecret@h:3306/")
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("err = %v: want an error that does not print the password", err)
	}
}
