package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// ErrInvalid: a command's input breaks a rule (bad URL, unknown event, unknown format).
var ErrInvalid = errors.New("invalid")

// ErrNotFound: no webhook subscription has that id.
var ErrNotFound = errors.New("not found")

// ValidateURL accepts an absolute http or https URL with a host and no credentials.
func ValidateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: url: %v", ErrInvalid, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%w: url %q: scheme must be http or https", ErrInvalid, raw)
	case u.Hostname() == "":
		return fmt.Errorf("%w: url %q has no host", ErrInvalid, raw)
	case u.User != nil:
		return fmt.Errorf("%w: url must not carry credentials (user:password@)", ErrInvalid)
	case u.Fragment != "":
		return fmt.Errorf("%w: url %q must not have a fragment", ErrInvalid, raw)
	case strings.ContainsAny(raw, " \t\r\n"):
		return fmt.Errorf("%w: url contains white space", ErrInvalid)
	}
	return nil
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// ForbiddenAddr reports why an address is not a public unicast target ("" when it is one):
// loopback, private (RFC 1918, IPv6 ULA), link-local, CGNAT (100.64/10), unspecified,
// multicast and broadcast addresses are refused unless private targets are allowed.
// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
func ForbiddenAddr(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case !a.IsValid():
		return "invalid address"
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsLoopback():
		return "loopback address"
	case a.IsPrivate():
		return "private address"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local address"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast address"
	case a.Is4() && cgnat.Contains(a):
		return "carrier-grade NAT address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast address"
	case a.Is4() && a.As4()[0] == 0:
		return "\"this network\" address"
	}
	return ""
}
