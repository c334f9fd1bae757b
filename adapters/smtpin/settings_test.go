package smtpin_test

import (
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/smtpin"
)

// New lists every fault of its configuration at once (NewMX: mx_test.go).
func TestNewRefusesMissingDependencies(t *testing.T) {
	_, err := smtpin.New(smtpin.Config{})
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, w := range []string{"hostname", "tls", "listen", "submitter", "authenticator", "rate limiter", "logger"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name the %s", err, w)
		}
	}
}

func TestNegativeLimitsAreRefused(t *testing.T) {
	if _, err := smtpin.New(smtpin.Config{MaxConnsPerIP: -1}); err == nil || !strings.Contains(err.Error(), "negative limit") {
		t.Errorf("New: %v", err)
	}
	if _, err := smtpin.NewMX(smtpin.MXConfig{MaxMessageBytes: -1}); err == nil || !strings.Contains(err.Error(), "negative limit") {
		t.Errorf("NewMX: %v", err)
	}
}
