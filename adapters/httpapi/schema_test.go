package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/posthaste/posthaste/adapters/httpapi"
)

// The contract between the API and its OpenAPI document, checked with kin-openapi: the
// document loads and validates as OpenAPI 3.1, and every /api/v2 exchange a test recorded
// (harness_test.go) has a documented path, status and content type, and a body that validates
// against the documented schema (JSON Schema 2020-12, as openapi3filter applies to 3.1). A
// request the API accepted (2xx) must validate too: its parameters and body are documented.

type openAPIContract struct {
	doc    *openapi3.T
	router routers.Router
}

var loadContract = sync.OnceValues(func() (*openAPIContract, error) {
	// The event feed's JSON lines are documented as a string: read them as text.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableMultiError()); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	return &openAPIContract{doc: doc, router: router}, nil
})

func contract(t testing.TB) *openAPIContract {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatalf("openapi document: %v", err)
	}
	return c
}

// request rebuilds the request of x, as the API received it.
func (x exchange) request() *http.Request {
	target := "http://posthaste.test" + x.Path
	if x.Query != "" {
		target += "?" + x.Query
	}
	r := httptest.NewRequest(x.Method, target, bytes.NewReader(x.ReqBody))
	r.Header = x.ReqHeader.Clone()
	return r
}

// checkExchange validates one recorded exchange; it returns the documented route
// ("GET /api/v2/messages/{id}") or "" for a path the document does not have.
func (c *openAPIContract) checkExchange(x exchange) (string, []error) {
	req := x.request()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if x.Status != http.StatusNotFound {
			return "", []error{fmt.Errorf("%s %s: path not documented (%v)", x.Method, x.Path, err)}
		}
		return "", nil
	}
	tpl := x.Method + " " + route.Path
	resp := route.Operation.Responses.Status(x.Status)
	if resp == nil {
		return tpl, []error{fmt.Errorf("%s %d: status not documented", tpl, x.Status)}
	}
	ctype, _, _ := strings.Cut(x.Type, ";")
	if len(resp.Value.Content) == 0 {
		if len(x.Body) > 0 {
			return tpl, []error{fmt.Errorf("%s %d: documented without content, got %s", tpl, x.Status, x.Body)}
		}
		return tpl, nil
	}
	if resp.Value.Content.Get(ctype) == nil {
		return tpl, []error{fmt.Errorf("%s %d: content type %q not documented", tpl, x.Status, ctype)}
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  x.Status,
		Header:  http.Header{"Content-Type": {x.Type}},
		Body:    io.NopCloser(bytes.NewReader(x.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if x.Status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), input.RequestValidationInput); err != nil {
			return tpl, []error{fmt.Errorf("%s %d: request: %v\nbody: %s", tpl, x.Status, err, x.ReqBody)}
		}
		input.RequestValidationInput.Request = x.request()
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return tpl, []error{fmt.Errorf("%s %d: %v\nbody: %s", tpl, x.Status, err, x.Body)}
	}
	return tpl, nil
}

// checkExchanges validates every exchange e recorded (every test's newEnv runs it at cleanup).
func checkExchanges(t *testing.T, e *env) {
	t.Helper()
	c := contract(t)
	e.mu.Lock()
	log := append([]exchange(nil), e.log...)
	e.mu.Unlock()
	for _, x := range log {
		_, errs := c.checkExchange(x)
		for _, err := range errs {
			t.Error(err)
		}
	}
}

// checkContract checks that every route e's API serves is documented, and that the test drove
// every one of them (each exchange is validated by checkExchanges).
func checkContract(t *testing.T, e *env) {
	t.Helper()
	c := contract(t)
	for _, r := range e.api.V2Routes() {
		method, path, _ := strings.Cut(r, " ")
		if item := c.doc.Paths.Value(path); item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	covered, succeeded, problems := map[string]bool{}, map[string]bool{}, 0
	e.mu.Lock()
	for _, x := range e.log {
		tpl, errs := c.checkExchange(x)
		if tpl == "" || len(errs) > 0 {
			continue // reported by checkExchanges
		}
		covered[tpl] = true
		if x.Status < 300 {
			succeeded[resourceOf(x.Path)] = true
		}
		if strings.HasPrefix(x.Type, "application/problem+json") {
			problems++
		}
	}
	e.mu.Unlock()
	for _, r := range e.api.V2Routes() {
		if !covered[r] {
			t.Errorf("route %s was not exercised by the contract test", r)
		}
		_, path, _ := strings.Cut(r, " ")
		if res := resourceOf(path); !succeeded[res] {
			t.Errorf("no success of resource %s was validated against the document", res)
		}
	}
	if problems == 0 {
		t.Error("no problem document was validated against the document")
	}
}

// resourceOf names the resource of an /api/v2 path: its first segment, without an extension
// ("/api/v2/suppressions.csv" is of "suppressions").
func resourceOf(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/api/v2/"), "/")
	seg, _, _ = strings.Cut(seg, ".")
	return seg
}
