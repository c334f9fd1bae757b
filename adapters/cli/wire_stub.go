// Package cli is the admin command line (the cli branch writes it). This file holds only the
// types of the wave's contract that cmd/posthaste's wiring (wire.go) is written against, so the
// wire branch builds on its own: the cli branch declares the same types; delete this file when
// merging it.
package cli

import "github.com/posthaste/posthaste/domain/platform"

// Setting is one configuration variable (the README's table).
type Setting struct {
	Env     string // "POSTHASTE_DATA_DIR"
	Flag    string // "data-dir"
	Default string // shown in help ("" = none)
	Usage   string // one line
	Bool    bool   // a switch
}

// Values are the configuration flags set on one command line, by flag name (only those set).
type Values map[string]string

// Session is an opened platform for one admin command. Close releases it.
type Session struct {
	App   *platform.Application
	Close func() error
}
