package migrations_test

import (
	"testing"

	"github.com/daprshop/daprshop/services/platform/postgres/pgtest"
	"github.com/daprshop/daprshop/services/products/internal/postgres/migrations"
)

func TestMigrationsRollBackAndReapply(t *testing.T) {
	pgtest.RequireReversible(t, migrations.FS)
}
