// Package migrations embeds the auth database schema.
package migrations

import "embed"

// FS holds the goose migrations, applied at start.
//
//go:embed *.sql
var FS embed.FS
