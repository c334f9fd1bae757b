package httpapi

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// The OpenAPI 3.1 document of /api/v2 is written as one part per resource under openapi/, so
// that parallel work on two resources edits two files. The parts are merged once, when the
// package is initialised, into the document served at /api/v2/openapi.json.
//
// The parts are merged in openAPIParts order: "paths", "components" and each kind of component
// ("schemas", "parameters"...) gather their members from every part, in the order they first
// appear; anything else (one path, one schema, "info") is written whole in one part, and finding
// it in two is an error, as is a part on disk that openAPIParts does not name, or a name without
// its file.

//go:embed openapi/*.json
var openAPIFS embed.FS

// openAPIParts is the order of the parts in the document: base.json (openapi, info, security,
// the shared Problem schema and parameters, the document's own path) first, then one part per
// resource, each with its paths and the schemas only it uses.
var openAPIParts = []string{
	"base.json",
	"send.json",
	"messages.json",
	"suppressions.json",
	"domains.json",
	"credentials.json",
	"servers.json",
	"stats.json",
	"webhooks.json",
	"events.json",
}

// openAPIDoc is the assembled document, as served.
var openAPIDoc = mustAssembleOpenAPI()

// OpenAPI returns the OpenAPI 3.1 document of /api/v2, as served at /api/v2/openapi.json.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

// mustAssembleOpenAPI panics on a broken part: the parts are compiled in, so every test of this
// package fails at once on one.
func mustAssembleOpenAPI() []byte {
	doc, err := assembleOpenAPI(openAPIFS, "openapi", openAPIParts)
	if err != nil {
		panic(err)
	}
	return doc
}

// assembleOpenAPI merges the parts named (files of dir in fsys, in that order) into one
// document, indented by one space per level with a final newline.
func assembleOpenAPI(fsys fs.FS, dir string, parts []string) ([]byte, error) {
	onDisk, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("httpapi: openapi: %w", err)
	}
	var errs []error
	for _, f := range onDisk {
		if !slices.Contains(parts, path.Base(f)) {
			errs = append(errs, fmt.Errorf("%s is not in the list of parts", f))
		}
	}
	doc := &jsonNode{object: true}
	for _, name := range parts {
		raw, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		part, err := parseJSONNode(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if !part.object {
			errs = append(errs, fmt.Errorf("%s: not a JSON object", name))
			continue
		}
		for _, err := range doc.merge(part, "") {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("httpapi: openapi: %w", errors.Join(errs...))
	}
	var out bytes.Buffer
	if err := json.Indent(&out, doc.appendJSON(nil), "", " "); err != nil {
		return nil, fmt.Errorf("httpapi: openapi: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// jsonNode is a JSON value that keeps the order of an object's members: an object (members),
// or any other value as written (raw, compacted).
type jsonNode struct {
	object  bool
	members []jsonMember
	raw     []byte
}

type jsonMember struct {
	name  string
	value *jsonNode
}

func parseJSONNode(raw []byte) (*jsonNode, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return nil, err
		}
		return &jsonNode{raw: compact.Bytes()}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	n := &jsonNode{object: true}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name := tok.(string) // a member name: the decoder refuses anything else here
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if n.member(name) != nil {
			return nil, fmt.Errorf("member %q written twice", name)
		}
		child, err := parseJSONNode(value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		n.members = append(n.members, jsonMember{name, child})
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the top-level object")
	}
	return n, nil
}

func (n *jsonNode) member(name string) *jsonNode {
	for _, m := range n.members {
		if m.name == name {
			return m.value
		}
	}
	return nil
}

// merge adds src's members to n; at is the JSON pointer of n, for errors.
func (n *jsonNode) merge(src *jsonNode, at string) []error {
	var errs []error
	for _, m := range src.members {
		here := at + "/" + strings.ReplaceAll(strings.ReplaceAll(m.name, "~", "~0"), "/", "~1")
		dst := n.member(m.name)
		switch {
		case dst == nil:
			n.members = append(n.members, m)
		case dst.object && m.value.object && gathers(here):
			errs = append(errs, dst.merge(m.value, here)...)
		default:
			errs = append(errs, fmt.Errorf("%s is written in two parts", here))
		}
	}
	return errs
}

// gathers says whether the object at pointer at collects members from several parts: paths,
// components and each kind of component. What is below (one path, one schema) and every other
// member of the document (info, security...) is written whole in one part.
func gathers(at string) bool {
	kind, isComponent := strings.CutPrefix(at, "/components/")
	return at == "/paths" || at == "/components" || isComponent && !strings.Contains(kind, "/")
}

// appendJSON appends n as compact JSON.
func (n *jsonNode) appendJSON(b []byte) []byte {
	if !n.object {
		return append(b, n.raw...)
	}
	b = append(b, '{')
	for i, m := range n.members {
		if i > 0 {
			b = append(b, ',')
		}
		name, _ := json.Marshal(m.name) // a string always marshals
		b = append(b, name...)
		b = append(b, ':')
		b = m.value.appendJSON(b)
	}
	return append(b, '}')
}
