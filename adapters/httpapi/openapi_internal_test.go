package httpapi

import (
	"strings"
	"testing"
	"testing/fstest"
)

func parts(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys["openapi/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

// Paths and each kind of component gather their members from the parts in the order the parts
// are listed; the result is indented by one space with a final newline.
func TestAssembleOpenAPIMergesInOrder(t *testing.T) {
	fsys := parts(map[string]string{
		"base.json": `{"openapi": "3.1.0", "paths": {"/b": {"get": {"x": 1}}}, "components": {"schemas": {"Problem": {"type": "object"}}}}`,
		"z.json":    `{"paths": {"/a": {"get": {"tags": ["a", "b"]}}}, "components": {"schemas": {"A": {"enum": [1, "x<y"]}}, "parameters": {"p": {}}}}`,
	})
	got, err := assembleOpenAPI(fsys, "openapi", []string{"base.json", "z.json"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
 "openapi": "3.1.0",
 "paths": {
  "/b": {
   "get": {
    "x": 1
   }
  },
  "/a": {
   "get": {
    "tags": [
     "a",
     "b"
    ]
   }
  }
 },
 "components": {
  "schemas": {
   "Problem": {
    "type": "object"
   },
   "A": {
    "enum": [
     1,
     "x<y"
    ]
   }
  },
  "parameters": {
   "p": {}
  }
 }
}
`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// Every fault is reported at once: a member written in two parts, a file not listed, a listed
// file missing, a part that is not an object, a member written twice in one part, bad JSON.
func TestAssembleOpenAPIRefusesBrokenParts(t *testing.T) {
	fsys := parts(map[string]string{
		"base.json":     `{"info": {"title": "a"}, "paths": {"/x": {"get": {}}}, "components": {"schemas": {"S": {}}}}`,
		"twice.json":    `{"info": {"version": "b"}, "paths": {"/x": {"post": {}}}, "components": {"schemas": {"S": {}}}}`,
		"unlisted.json": `{}`,
		"array.json":    `[1]`,
		"dup.json":      `{"a": 1, "a": 2}`,
		"bad.json":      `{"a": }`,
	})
	_, err := assembleOpenAPI(fsys, "openapi", []string{"base.json", "twice.json", "missing.json", "array.json", "dup.json", "bad.json"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"twice.json: /info is written in two parts",
		"twice.json: /paths/~1x is written in two parts",
		"twice.json: /components/schemas/S is written in two parts",
		"openapi/unlisted.json is not in the list of parts",
		"missing.json",
		"array.json: not a JSON object",
		`dup.json: member "a" written twice`,
		"bad.json: a: invalid character",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// The embedded parts assemble, and the order of the parts puts the document's head first.
func TestEmbeddedOpenAPIParts(t *testing.T) {
	doc, err := assembleOpenAPI(openAPIFS, "openapi", openAPIParts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(doc), "{\n \"openapi\": \"3.1.0\",\n \"info\": {") {
		t.Fatalf("document starts %.60q", doc)
	}
}
