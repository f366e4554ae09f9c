// Package outboxtest gives tests the outbox table in the shape the relay
// expects, the shape each producing service's own migrations give it.
package outboxtest

import "embed"

// Migrations creates the outbox table (goose files at the root).
//
//go:embed *.sql
var Migrations embed.FS
