package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The dependency rule of ARCHITECTURE.md, checked on the non-test imports of every package of
// the module (test files may import adapters to wire real backends):
//
//	events/       standard library only
//	domain/       events + standard library
//	projections/  events + standard library, and no driver: neither database/sql/driver nor,
//	              in any non-test file, the name of a driver, a database or a dialect (the SQL
//	              engine and its dialects are adapters/sqlstore's)
//	adapters/X/   anything except another adapters/ package (a test-helper package, named
//	              …test, may import another adapter's test-helper package, as test files do)
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
	if top == "projections" && imp == "database/sql/driver" {
		return "projections/ names no driver (the SQL engine is adapters/sqlstore's)"
	}
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
		if innerTop == "adapters" && adapterOf(inner) != adapterOf(rel) && !(testHelper(rel) && testHelper(inner)) {
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

// testHelper reports whether a package is test support (its name ends in "test", like
// adapters/sqlite/sqlitetest): it wires real backends as test files do.
func testHelper(rel string) bool {
	return strings.HasSuffix(rel[strings.LastIndexByte(rel, '/')+1:], "test")
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
		{m + "projections", []string{"context", "database/sql", "database/sql/driver", m + "events"}},
		{m + "adapters/sqlstore/projectiontest", []string{m + "adapters/sqlstore", m + "adapters/sqlite/sqlitetest", m + "adapters/mariadb/mariadbtest"}},
		{m + "adapters/sqlstore/projectiontest", []string{m + "adapters/sqlite"}},
		{m + "adapters/sqlstore", []string{m + "adapters/sqlite/sqlitetest"}},
	}
	got := importViolations(pkgs)
	want := []string{
		m + "events imports " + m + "domain",
		m + "domain/message imports " + m + "projections",
		m + "projections/stats imports github.com/go-sql-driver/mysql",
		m + "adapters/mariadb imports " + m + "adapters/sqlite",
		m + "migrations imports github.com/redis/go-redis/v9",
		m + "projections imports database/sql/driver",
		m + "adapters/sqlstore/projectiontest imports " + m + "adapters/sqlite",
		m + "adapters/sqlstore imports " + m + "adapters/sqlite/sqlitetest",
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

// driverWords are what no non-test file of projections/ may spell (in any case, comments
// included): the names of the drivers, the databases and their dialects.
var driverWords = []string{"mysql", "mariadb", "sqlite", "dialect"}

// nameViolations returns one line per driver word found in the given files (path → source).
func nameViolations(files map[string]string) []string {
	var out []string
	for path, src := range files {
		lower := strings.ToLower(src)
		for _, w := range driverWords {
			if i := strings.Index(lower, w); i >= 0 {
				line := 1 + strings.Count(src[:i], "\n")
				out = append(out, fmt.Sprintf("%s:%d names %q: projections/ names no driver, database or dialect", path, line, w))
			}
		}
	}
	sort.Strings(out)
	return out
}

// projectionSources reads every non-test .go file under projections/.
func projectionSources(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir("../../projections", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(filepath.ToSlash(path), "../../")] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d source files under projections/", len(files))
	}
	return files
}

func TestDependencyRuleProjectionsNameNoDriver(t *testing.T) {
	for _, v := range nameViolations(projectionSources(t)) {
		t.Error(v)
	}
}

func TestDependencyRuleCatchesDriverNames(t *testing.T) {
	got := nameViolations(map[string]string{
		"projections/ok.go":  "package projections\n\n// Tx is the transaction a projection applies in.\n",
		"projections/a/a.go": "package a\n\nconst q = `INSERT OR IGNORE`\n\n// works on SQLite\n",
		"projections/b/b.go": "package b\n\nfunc f(dialect string) {}\n",
		"projections/c/c.go": "package c\n\nimport _ \"github.com/go-sql-driver/mysql\"\n",
		"projections/d/d.go": "package d\n\n// MariaDB's column sizes\n",
	})
	want := []string{
		`projections/a/a.go:5 names "sqlite"`,
		`projections/b/b.go:3 names "dialect"`,
		`projections/c/c.go:3 names "mysql"`,
		`projections/d/d.go:3 names "mariadb"`,
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
