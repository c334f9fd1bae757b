package httpapi_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/httpapi"
)

// The document served at /api/v2/openapi.json is pinned byte for byte by
// testdata/openapi.golden.json; POSTHASTE_UPDATE_GOLDEN=1 rewrites it after a change to a part
// under openapi/ (review the diff: it is the API's published contract).
func TestOpenAPIServedDocumentIsGolden(t *testing.T) {
	e := newEnv(t, sqliteBackend, options{})
	code, hdr, got := e.do("GET", "/api/v2/openapi.json", nil)
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/v2/openapi.json: %d %q", code, hdr.Get("Content-Type"))
	}
	if !bytes.Equal(got, httpapi.OpenAPI()) {
		t.Fatal("the served document differs from httpapi.OpenAPI()")
	}
	golden := filepath.Join("testdata", "openapi.golden.json")
	if os.Getenv("POSTHASTE_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (POSTHASTE_UPDATE_GOLDEN=1 go test -run TestOpenAPIServedDocumentIsGolden ./adapters/httpapi writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the served document differs from %s; after a deliberate change to openapi/ run POSTHASTE_UPDATE_GOLDEN=1 go test -run TestOpenAPIServedDocumentIsGolden ./adapters/httpapi", golden)
	}
}

// The document is valid OpenAPI 3.1 (kin-openapi loads it, resolves every $ref and validates it).
func TestOpenAPIDocumentValidates(t *testing.T) {
	c := contract(t)
	if c.doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", c.doc.OpenAPI)
	}
}

// servedOutsideHTTPAPI lists the operations of the document served elsewhere than by the API's
// handler, with where: none (the event feed moved from cmd/posthaste into the API).
var servedOutsideHTTPAPI = map[string]string{}

// Every route the API serves is documented, and every operation of the document is served.
func TestOpenAPIOperationsAreTheServedRoutes(t *testing.T) {
	e := newEnv(t, sqliteBackend, options{})
	c := contract(t)
	served := e.api.V2Routes()
	var documented []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, op := range documented {
		where, elsewhere := servedOutsideHTTPAPI[op]
		switch {
		case elsewhere && slices.Contains(served, op):
			t.Errorf("%s is served by the API now: take it out of servedOutsideHTTPAPI (%s)", op, where)
		case !elsewhere && !slices.Contains(served, op):
			t.Errorf("%s is documented but not served", op)
		}
	}
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in the document", r)
		}
	}
	if len(served) == 0 {
		t.Fatal("the API lists no route")
	}
}

// The checker itself: a response that breaks the document is reported, one that keeps it is not.
func TestContractCheckReportsViolations(t *testing.T) {
	c := contract(t)
	problem := `{"type":"https://posthaste.dev/problems/unauthorized","title":"Unauthorized","status":401}`
	for _, tc := range []struct {
		name string
		x    exchange
		want string // "" = valid
	}{
		{"valid problem", exchange{Method: "GET", Path: "/api/v2/domains", Status: 401, Type: "application/problem+json", Body: []byte(problem)}, ""},
		{"problem without status", exchange{Method: "GET", Path: "/api/v2/domains", Status: 401, Type: "application/problem+json", Body: []byte(`{"type":"x","title":"y"}`)}, "doesn't match"},
		{"problem with an unknown member", exchange{Method: "GET", Path: "/api/v2/domains", Status: 401, Type: "application/problem+json", Body: []byte(`{"type":"x","title":"y","status":401,"extra":1}`)}, "doesn't match"},
		{"success missing required", exchange{Method: "GET", Path: "/api/v2/server", Status: 200, Type: "application/json", Body: []byte(`{"id":"s","org":"acme"}`)}, "doesn't match"},
		{"status not documented", exchange{Method: "GET", Path: "/api/v2/domains", Status: 418, Type: "application/problem+json", Body: []byte(problem)}, "status not documented"},
		{"content type not documented", exchange{Method: "GET", Path: "/api/v2/domains", Status: 401, Type: "text/plain", Body: []byte("no")}, "content type"},
		{"path not documented", exchange{Method: "GET", Path: "/api/v2/nowhere", Status: 200, Type: "application/json", Body: []byte(`{}`)}, "path not documented"},
		{"method not documented", exchange{Method: "PUT", Path: "/api/v2/domains", Status: 200, Type: "application/json", Body: []byte(`{}`)}, "path not documented"},
		{"accepted request with an undocumented query value", exchange{Method: "GET", Path: "/api/v2/messages", Query: "limit=5000", Status: 200, Type: "application/json", Body: []byte(`{}`)}, ": request: "},
		{"accepted request with an undocumented body member", exchange{Method: "POST", Path: "/api/v2/send", ReqHeader: http.Header{"Content-Type": {"application/json"}}, ReqBody: []byte(`{"from":"a@example.org","to":["b@remote.test"],"colour":"red"}`), Status: 202, Type: "application/json", Body: []byte(`{}`)}, ": request: "},
		{"undocumented path answered 404", exchange{Method: "GET", Path: "/api/v2/nowhere", Status: 404, Type: "application/problem+json", Body: []byte(problem)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.x.ReqHeader == nil {
				tc.x.ReqHeader = http.Header{}
			}
			_, errs := c.checkExchange(tc.x)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Fatalf("reported %v", errs)
			case tc.want != "" && (len(errs) == 0 || !strings.Contains(errs[0].Error(), tc.want)):
				t.Fatalf("reported %v, want %q", errs, tc.want)
			}
		})
	}
}
