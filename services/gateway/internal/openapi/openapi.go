// Package openapi serves the public API's OpenAPI 3 document.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"gopkg.in/yaml.v3"
)

// Path is where the document is served.
const Path = "/api/v1/openapi.json"

//go:embed openapi.yaml
var source []byte

// Document returns the OpenAPI document as JSON, converted once from the
// YAML it is written in.
func Document() ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(source, &doc); err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
}

// Handler serves doc.
func Handler(doc []byte) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		return c.Send(doc)
	}
}
