package mariadb

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// ParseURL maps POSTHASTE_DATABASE_URL (mysql://user:pass@host:3306/db?param=value) to a
// go-sql-driver DSN with parseTime=true and UTC times. The port defaults to 3306. Query
// parameters are passed to the driver (e.g. tls=true, timeout=5s).
func ParseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("mariadb: parse url: %w", err)
	}
	if u.Scheme != "mysql" && u.Scheme != "mariadb" {
		return "", fmt.Errorf("mariadb: parse url: scheme %q, want mysql://", u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("mariadb: parse url: no host in %q", redact(u))
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return "", fmt.Errorf("mariadb: parse url: want exactly one database name in the path of %q", redact(u))
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "3306"
	}
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(host, port)
	cfg.DBName = db
	// Pass the query through the driver's own parser so its parameters keep their meaning.
	if q := u.RawQuery; q != "" {
		extra, err := mysql.ParseDSN("/?" + q)
		if err != nil {
			return "", fmt.Errorf("mariadb: parse url parameters: %w", err)
		}
		extra.User, extra.Passwd, extra.Net, extra.Addr, extra.DBName = cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName
		cfg = extra
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	return cfg.FormatDSN(), nil
}

func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}
