package webhooksender

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/posthaste/posthaste/domain/webhook"
)

// ErrForbiddenTarget is matched by the error of a request whose target address is refused.
var ErrForbiddenTarget = errors.New("webhook target address refused")

// control runs after DNS resolution, on the very address being connected to, so a name that
// resolves to a public address when checked and a private one when used (DNS rebinding) is
// still refused.
func control(allowPrivate bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: unparseable address %q", ErrForbiddenTarget, address)
		}
		if why := webhook.ForbiddenAddr(ap.Addr()); why != "" {
			return fmt.Errorf("%w: %s is a %s (set POSTHASTE_WEBHOOK_ALLOW_PRIVATE=true to allow)", ErrForbiddenTarget, ap.Addr(), why)
		}
		return nil
	}
}

// NewClient returns the HTTP client webhooks are sent with: the connect-time address check,
// no proxy from the environment, no redirects followed (a 3xx is an answer, and a failure),
// a whole-request timeout, and keep-alive connections (perEndpoint idle per host).
func NewClient(allowPrivate bool, timeout time.Duration, perEndpoint int) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: control(allowPrivate)}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   perEndpoint,
		MaxConnsPerHost:       perEndpoint,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
