package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// The dependency rule of ARCHITECTURE.md, checked on the non-test imports of every package of
// the module (test files may import adapters to wire real backends):
//
//	events/       standard library only
//	domain/       events + standard library
//	projections/  events + standard library
//	adapters/X/   anything except another adapters/ package
//	cmd/          anything
//	third-party libraries only in adapters/ and cmd/ (and goose in migrations/, which runs
//	its embedded SQL files with it)
const modulePath = "github.com/posthaste/posthaste"

type listedPackage struct {
	ImportPath string
	Imports    []string
}

// importViolations returns one line per forbidden import.
func importViolations(pkgs []listedPackage) []string {
	var out []string
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, modulePath+"/")
		if !ok {
			continue
		}
		top, _, _ := strings.Cut(rel, "/")
		for _, imp := range p.Imports {
			if why := forbidden(rel, top, imp); why != "" {
				out = append(out, p.ImportPath+" imports "+imp+": "+why)
			}
		}
	}
	return out
}

func forbidden(rel, top, imp string) string {
	first, _, _ := strings.Cut(imp, "/")
	std := !strings.Contains(first, ".")
	if std && imp != "C" {
		return ""
	}
	inner, own := strings.CutPrefix(imp, modulePath+"/")
	if !own {
		if imp == modulePath {
			return "the module root is not a package to import"
		}
		if top == "adapters" || top == "cmd" {
			return ""
		}
		if top == "migrations" && strings.HasPrefix(imp, "github.com/pressly/goose/") {
			return "" // the one exception: migrations/ runs its embedded SQL files with goose
		}
		return "third-party libraries belong in adapters/ or cmd/"
	}
	innerTop, _, _ := strings.Cut(inner, "/")
	switch top {
	case "events":
		if innerTop != "events" {
			return "events/ imports the standard library only"
		}
	case "domain":
		if innerTop != "events" && innerTop != "domain" {
			return "domain/ imports events and the standard library only"
		}
	case "projections":
		if innerTop != "events" && innerTop != "projections" {
			return "projections/ imports events and the standard library only"
		}
	case "adapters":
		if innerTop == "adapters" && adapterOf(inner) != adapterOf(rel) {
			return "an adapter never imports another adapter"
		}
		if innerTop == "cmd" {
			return "adapters never import cmd/"
		}
	case "cmd":
	default:
		if innerTop == "adapters" || innerTop == "cmd" {
			return top + "/ must not import adapters or cmd"
		}
	}
	return ""
}

// adapterOf returns "adapters/X" of a path under adapters/.
func adapterOf(rel string) string {
	parts := strings.SplitN(rel, "/", 3)
	if len(parts) < 2 {
		return rel
	}
	return parts[0] + "/" + parts[1]
}

func TestDependencyRule(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 3 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, v := range importViolations(pkgs) {
		t.Error(v)
	}
}

func TestDependencyRuleCatchesViolations(t *testing.T) {
	m := modulePath + "/"
	pkgs := []listedPackage{
		{m + "events", []string{"encoding/json", m + "domain"}},
		{m + "domain/message", []string{"context", m + "events", m + "domain", m + "projections"}},
		{m + "projections/stats", []string{"database/sql", m + "events", "github.com/go-sql-driver/mysql"}},
		{m + "adapters/mariadb", []string{m + "adapters/sqlite", m + "domain", "github.com/go-sql-driver/mysql"}},
		{m + "adapters/mariadb/mariadbtest", []string{m + "adapters/mariadb", "testing"}},
		{m + "cmd/posthaste", []string{m + "adapters/mariadb", m + "adapters/sqlite", "github.com/prometheus/client_golang/prometheus"}},
		{m + "migrations", []string{"embed", "github.com/pressly/goose/v3"}},
		{m + "migrations", []string{"github.com/redis/go-redis/v9"}},
	}
	got := importViolations(pkgs)
	want := []string{
		m + "events imports " + m + "domain",
		m + "domain/message imports " + m + "projections",
		m + "projections/stats imports github.com/go-sql-driver/mysql",
		m + "adapters/mariadb imports " + m + "adapters/sqlite",
		m + "migrations imports github.com/redis/go-redis/v9",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]+":") {
			t.Errorf("violation %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}
