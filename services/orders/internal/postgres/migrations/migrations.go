// Package migrations embeds the orders database schema.
package migrations

import "embed"

// FS holds the goose migrations, applied at start.
//
//go:embed *.sql
var FS embed.FS
