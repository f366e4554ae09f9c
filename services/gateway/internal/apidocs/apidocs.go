// Package apidocs serves the API reference page: Redoc rendering the
// OpenAPI document, with Redoc's bundle compiled into the gateway so that
// the page loads nothing from another origin.
package apidocs

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/gateway/internal/edge"
)

// Path is the page; BundlePath is the script it loads.
const (
	Path       = "/api/docs"
	BundlePath = "/api/docs/redoc.standalone.js"
)

// bundle is Redoc's standalone build, vendored from the version pinned in
// tools/apidocs (make api-docs; make lint checks it is that one).
//
//go:embed redoc.standalone.js
var bundle []byte

// page renders the document served at specPath.
func page(specPath string) []byte {
	return []byte(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>daprshop API reference</title>
</head>
<body>
<redoc spec-url="` + specPath + `"></redoc>
<script src="` + BundlePath + `"></script>
</body>
</html>
`)
}

// policy is what Redoc needs and no more: its own script, the document
// fetched from this origin, the styles it injects, and the search worker it
// starts from a blob.
const policy = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Register serves the page, reading the document from specPath, and its script.
func Register(app fiber.Router, specPath string) {
	html := page(specPath)
	app.Get(Path, func(c *fiber.Ctx) error {
		edge.PagePolicy(c, policy)
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		return c.Send(html)
	})
	app.Get(BundlePath, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
		c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
		return c.Send(bundle)
	})
}
