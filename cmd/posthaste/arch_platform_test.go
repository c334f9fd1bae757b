package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The application-layer rule (issue 11): only domain/platform composes the domain. Outside
// domain/, no non-test code may use the constructor of a domain handler, policy or workflow: no
// function named New* of a package under domain/ other than domain/platform, called or passed
// as a value (tenancy.NewHandlers, submission.NewHandler, message.NewHandler,
// suppression.NewHandler, sendpolicy.New, sendpolicy.NewVerifiedDomains, tenancy.NewDKIMSigner,
// delivery.NewWorker, delivery.NewDecider, relay.New, inbound.New, webhook.NewHandlers, ...).
// Edges build the application with platform.New and call its Commands, Queries and Workflows.
//
// Allowed: the New* functions that make values rather than compose the domain, listed in
// valueConstructors below; and everything that is not named New* (tenancy.ParseServerRef,
// delivery.DefaultRetryPolicy, tenancy.HashSecret, inbound.Ref, webhook.Ping, ...). Imports are
// resolved per file, so another library's package of the same name (watermill's
// message.NewMessage) is not mistaken for a domain package. Test files are not checked.

// valueConstructors make values an edge may hold: not handlers of the domain.
var valueConstructors = map[string]bool{
	"domain/transcript.New":      true, // the AUTH-redacting transcript of one SMTP session
	"domain/delivery.NewLimiter": true, // the per-destination concurrency limiter of the SMTP client
	"domain/webhook.NewSecret":   true, // a random whsec_ secret
}

// domainConstructors returns the functions named New* declared (without a receiver) in the
// non-test files of the packages under root/domain, as "domain/pkg.NewX": a type named New*
// (tenancy.NewCredential) is not one.
func domainConstructors(t *testing.T, root string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	base := filepath.Join(root, "domain")
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "New") {
				out[filepath.ToSlash(rel)+"."+fn.Name.Name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// constructorUses returns "file: domain/pkg.NewX" for every forbidden use in one Go source file
// (path is how the file is named in the result); ctors are the domain's constructors.
func constructorUses(path string, src []byte, ctors map[string]bool) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	domainPkgs := map[string]string{} // local name -> "domain/x"
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return nil, err
		}
		rel, ok := strings.CutPrefix(p, modulePath+"/")
		if !ok || !strings.HasPrefix(rel, "domain/") || rel == "domain/platform" {
			continue
		}
		name := rel[strings.LastIndexByte(rel, '/')+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if name == "_" || name == "." {
			continue
		}
		domainPkgs[name] = rel
	}
	seen := map[string]bool{}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || !strings.HasPrefix(sel.Sel.Name, "New") {
			return true
		}
		id, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		rel, ok := domainPkgs[id.Name]
		if !ok {
			return true
		}
		use := rel + "." + sel.Sel.Name
		if !ctors[use] || valueConstructors[use] || seen[use] {
			return true
		}
		seen[use] = true
		out = append(out, path+": "+use)
		return true
	})
	sort.Strings(out)
	return out, nil
}

// treeConstructorUses checks every non-test Go file of the module outside domain/.
func treeConstructorUses(t *testing.T, root string) []string {
	t.Helper()
	ctors := domainConstructors(t, root)
	if !ctors["domain/tenancy.NewHandlers"] || !ctors["domain/platform.New"] {
		t.Fatalf("the domain's constructors were not found (%d)", len(ctors))
	}
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			base := d.Name()
			if rel == "domain" || base == "testdata" || rel != "." && (strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		uses, err := constructorUses(rel, src, ctors)
		if err != nil {
			return err
		}
		out = append(out, uses...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestDependencyRuleOnlyPlatformComposesTheDomain(t *testing.T) {
	for _, u := range treeConstructorUses(t, "../..") {
		t.Errorf("%s: compose the domain in domain/platform and call the application instead", u)
	}
}

func TestDependencyRulePlatformCatchesViolations(t *testing.T) {
	src := `package edge

import (
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/submission"
	ten "github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/transcript"
	"github.com/posthaste/posthaste/domain/webhook"
)

func wire() {
	h, _ := ten.NewHandlers(ten.Deps{})
	_ = h
	_, _ = submission.NewHandler(submission.Config{})
	_ = transcript.New(nil, transcript.Timed, 0)
	_ = delivery.NewLimiter(delivery.ConcurrencyPolicy{})
	build := delivery.NewWorker
	_ = build
	_, _ = platform.New(platform.Deps{})
	_ = message.NewMessage("id", nil)
	_, _ = webhook.NewSecret(nil)
	_ = ten.ParseServerRef
	_ = delivery.DefaultRetryPolicy()
	var c ten.NewCredential // a type named New*, not a constructor
	_ = c
}
`
	ctors := map[string]bool{"domain/tenancy.NewHandlers": true, "domain/submission.NewHandler": true, "domain/transcript.New": true,
		"domain/delivery.NewLimiter": true, "domain/delivery.NewWorker": true, "domain/webhook.NewSecret": true, "domain/platform.New": true}
	got, err := constructorUses("adapters/edge/edge.go", []byte(src), ctors)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"adapters/edge/edge.go: domain/delivery.NewWorker",
		"adapters/edge/edge.go: domain/submission.NewHandler",
		"adapters/edge/edge.go: domain/tenancy.NewHandlers",
	}
	if !slices.Equal(got, want) {
		t.Errorf("uses found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
