package openapi

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/gateway/internal/routes"
)

type document struct {
	OpenAPI    string                    `json:"openapi"`
	Paths      map[string]map[string]any `json:"paths"`
	Components struct {
		Parameters map[string]struct {
			Name   string `json:"name"`
			In     string `json:"in"`
			Schema struct {
				Enum []string `json:"enum"`
			} `json:"schema"`
		} `json:"parameters"`
	} `json:"components"`
}

// concretePaths are the paths documented by path, its parameters filled
// in: an id is any UUID, a parameter with an enum (the app of the dead
// letters) takes each of its values.
func (d document) concretePaths(path string) []string {
	paths := []string{strings.NewReplacer("{id}", "00000000-0000-0000-0000-000000000000",
		"{product_id}", "00000000-0000-0000-0000-000000000000", "{event_id}", "00000000-0000-0000-0000-000000000000",
		"{name}", "receipt").Replace(path)}
	for _, p := range d.Components.Parameters {
		placeholder := "{" + p.Name + "}"
		if p.In != "path" || len(p.Schema.Enum) == 0 || !strings.Contains(path, placeholder) {
			continue
		}
		var expanded []string
		for _, concrete := range paths {
			for _, v := range p.Schema.Enum {
				expanded = append(expanded, strings.ReplaceAll(concrete, placeholder, v))
			}
		}
		paths = expanded
	}
	return paths
}

func TestDocumentIsValidJSONOpenAPI(t *testing.T) {
	raw, err := Document()
	require.NoError(t, err)
	var doc document
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3."))
	assert.NotEmpty(t, doc.Paths)
}

// gatewayOwn are the paths the gateway serves itself.
var gatewayOwn = map[string]bool{
	Path: true, "/api/docs": true, "/api/docs/redoc.standalone.js": true, "/healthz": true, "/readyz": true,
}

// Every documented path is routed by the gateway, and every routed prefix
// is documented: the document and the route table cannot drift apart.
func TestDocumentMatchesTheRouteTable(t *testing.T) {
	raw, err := Document()
	require.NoError(t, err)
	var doc document
	require.NoError(t, json.Unmarshal(raw, &doc))
	cfg, table, err := routes.Load(filepath.Join("..", "..", "routes.yaml"))
	require.NoError(t, err)

	for path, ops := range doc.Paths {
		if gatewayOwn[path] {
			continue
		}
		for _, concrete := range doc.concretePaths(path) {
			for method := range ops {
				if method == "parameters" {
					continue
				}
				_, ok := table.Match(strings.ToUpper(method), concrete)
				assert.True(t, ok, "%s %s is documented but not routed", strings.ToUpper(method), concrete)
			}
		}
	}
	for _, r := range cfg.Routes {
		documented := false
		for path := range doc.Paths {
			for _, concrete := range doc.concretePaths(path) {
				if concrete == r.Prefix || strings.HasPrefix(concrete, r.Prefix+"/") {
					documented = true
				}
			}
		}
		assert.True(t, documented, "route prefix %s is not documented", r.Prefix)
	}
}

// The document is valid OpenAPI 3 to a second implementation too (the
// linter is the first), its examples included: each is checked against
// its schema.
func TestDocumentValidatesWithItsExamples(t *testing.T) {
	raw, err := Document()
	require.NoError(t, err)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			assert.NotEmpty(t, op.OperationID, "%s %s", method, path)
			assert.NotEmpty(t, op.Summary, "%s %s", method, path)
			assert.NotNil(t, op.Security, "%s %s: its security is said, even when none", method, path)
			assert.NotNil(t, op.Responses.Value("429"), "%s %s: every route is rate limited", method, path)
			assert.NotNil(t, op.Responses.Value("5XX"), "%s %s", method, path)
			for code, r := range op.Responses.Map() {
				if code[0] == '4' || code[0] == '5' {
					assert.NotNil(t, r.Value.Content.Get("application/problem+json"), "%s %s %s", method, path, code)
				}
			}
		}
	}
}
