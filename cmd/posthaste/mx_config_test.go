package main

import (
	"strings"
	"testing"
)

// The mx role: on by default only when its listener is configured, refused without one.
func TestMXRoleConfig(t *testing.T) {
	c, err := loadSettings(envOf(map[string]string{"POSTHASTE_MX_LISTEN": "127.0.0.1:2526"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.HasRole("mx") || strings.Join(c.Roles, ",") != strings.Join(allRoles, ",")+",mx" {
		t.Errorf("default roles with POSTHASTE_MX_LISTEN: %v, want the defaults plus mx", c.Roles)
	}
	c, err = loadSettings(envOf(nil), nil)
	if err != nil || c.HasRole("mx") {
		t.Errorf("default roles without POSTHASTE_MX_LISTEN: %v (%v), want no mx", c.Roles, err)
	}
	c, err = loadSettings(envOf(map[string]string{"POSTHASTE_MX_LISTEN": "127.0.0.1:2526", "POSTHASTE_ROLES": "web,smtp"}), nil)
	if err != nil || c.HasRole("mx") {
		t.Errorf("explicit roles web,smtp: %v (%v), want them unchanged", c.Roles, err)
	}
	c, err = loadSettings(envOf(map[string]string{"POSTHASTE_MX_LISTEN": "127.0.0.1:2526", "POSTHASTE_ROLES": "mx"}), nil)
	if err != nil || strings.Join(c.Roles, ",") != "mx" {
		t.Errorf("--roles mx alone: %v (%v)", c.Roles, err)
	}
	_, err = loadSettings(envOf(map[string]string{"POSTHASTE_ROLES": "mx,web"}), nil)
	if err == nil || !strings.Contains(err.Error(), "POSTHASTE_MX_LISTEN") {
		t.Errorf("mx without a listener: %v, want an error naming POSTHASTE_MX_LISTEN", err)
	}
}
