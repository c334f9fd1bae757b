package httpapi_test

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// A small JSON Schema checker for the subset the OpenAPI document uses: type (one or a list,
// "null" included), properties, required, additionalProperties (bool or schema), items,
// maxItems, enum, minimum/maximum and local $ref. Unknown keywords are ignored.

type openAPI struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

func (d *openAPI) resolve(s map[string]any) map[string]any {
	for i := 0; i < 10; i++ {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = d.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	}
	return s
}

func typeOf(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if t == math.Trunc(t) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// validate returns every violation of v against schema s at path.
func (d *openAPI) validate(s map[string]any, v any, path string) []string {
	s = d.resolve(s)
	if s == nil {
		return []string{path + ": schema not found"}
	}
	var errs []string
	if t, ok := s["type"]; ok {
		var allowed []string
		switch tt := t.(type) {
		case string:
			allowed = []string{tt}
		case []any:
			for _, x := range tt {
				allowed = append(allowed, x.(string))
			}
		}
		got, match := typeOf(v), false
		for _, a := range allowed {
			if a == got || (a == "number" && got == "integer") {
				match = true
			}
		}
		if !match {
			return []string{fmt.Sprintf("%s: %s is not of type %v", path, got, allowed)}
		}
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range enum {
			if x == v {
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Sprintf("%s: %v not in enum %v", path, v, enum))
		}
	}
	if n, ok := v.(float64); ok {
		if min, ok := s["minimum"].(float64); ok && n < min {
			errs = append(errs, fmt.Sprintf("%s: %v below minimum %v", path, n, min))
		}
		if max, ok := s["maximum"].(float64); ok && n > max {
			errs = append(errs, fmt.Sprintf("%s: %v above maximum %v", path, n, max))
		}
	}
	switch t := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := t[r.(string)]; !ok {
					errs = append(errs, fmt.Sprintf("%s: required property %q missing", path, r))
				}
			}
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, d.validate(ps, t[k], path+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: property %q is not in the schema", path, k))
				}
			case map[string]any:
				errs = append(errs, d.validate(ap, t[k], path+"."+k)...)
			}
		}
	case []any:
		if max, ok := s["maxItems"].(float64); ok && float64(len(t)) > max {
			errs = append(errs, fmt.Sprintf("%s: %d items above maxItems %v", path, len(t), max))
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range t {
				errs = append(errs, d.validate(items, x, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return errs
}

// match finds the document path template for a concrete path ("/api/v2/messages/{id}").
func (d *openAPI) match(path string) (string, bool) {
	if _, ok := d.Paths[path]; ok {
		return path, true
	}
	for tpl := range d.Paths {
		re := "^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tpl), `[^/]+`) + "$"
		if regexp.MustCompile(re).MatchString(path) {
			return tpl, true
		}
	}
	return "", false
}
