package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	sqliteauth "github.com/dapr/components-contrib/common/authentication/sqlite"
	"github.com/dapr/components-contrib/nameresolution"
	"github.com/dapr/components-contrib/nameresolution/sqlite"
	"github.com/dapr/kit/logger"
	kitmd "github.com/dapr/kit/metadata"

	"daprd-build/nrcache"
)

// cachedResolver is the SQLite name resolver of Dapr 1.14, which registers
// this sidecar and keeps its registration fresh, with lookups answered
// from a short-lived cache of each app id's live addresses: the stock one
// runs a query per invocation. The cache is on when the resolver's
// configuration sets lookupCacheTTL; a dead instance is then still picked
// for at most that long after the database stops listing it.
type cachedResolver struct {
	nameresolution.Resolver // the stock resolver: registration, and lookups when the cache is off
	log                     logger.Logger
	db                      *sql.DB
	cache                   *nrcache.Cache
}

func newCachedResolver(log logger.Logger) nameresolution.Resolver {
	return &cachedResolver{Resolver: sqlite.NewResolver(log), log: log}
}

// resolverMetadata is the part of the stock resolver's configuration
// lookups need, plus the cache's TTL.
type resolverMetadata struct {
	sqliteauth.SqliteAuthMetadata `mapstructure:",squash"`
	TableName                     string        `mapstructure:"tableName"`
	UpdateInterval                time.Duration `mapstructure:"updateInterval"`
	LookupCacheTTL                time.Duration `mapstructure:"lookupCacheTTL"`
}

func (r *cachedResolver) Init(ctx context.Context, md nameresolution.Metadata) error {
	if err := r.Resolver.Init(ctx, md); err != nil {
		return err
	}
	// The stock resolver's defaults.
	m := resolverMetadata{TableName: "hosts", UpdateInterval: 5 * time.Second}
	m.SqliteAuthMetadata.Reset()
	if err := kitmd.DecodeMetadata(md.Configuration, &m); err != nil {
		return err
	}
	if m.LookupCacheTTL <= 0 {
		return nil
	}
	if !sqliteauth.ValidIdentifier(m.TableName) {
		return fmt.Errorf("invalid identifier for table name: %s", m.TableName)
	}
	if err := m.SqliteAuthMetadata.Validate(); err != nil {
		return err
	}
	conn, err := m.GetConnectionString(r.log, sqliteauth.GetConnectionStringOpts{})
	if err != nil {
		return err
	}
	if r.db, err = sql.Open("sqlite", conn); err != nil {
		return fmt.Errorf("open name-resolution database for lookups: %w", err)
	}
	// Live as the stock resolver counts them: renewed within updateInterval.
	query := fmt.Sprintf(`SELECT address FROM %s WHERE app_id = ? AND unixepoch(CURRENT_TIMESTAMP) - last_update < %d`,
		m.TableName, int(m.UpdateInterval.Seconds()))
	timeout := m.Timeout
	r.cache = nrcache.New(func(ctx context.Context, appID string) ([]string, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		rows, err := r.db.QueryContext(ctx, query, appID)
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", appID, err)
		}
		defer rows.Close()
		var addrs []string
		for rows.Next() {
			var a string
			if err := rows.Scan(&a); err != nil {
				return nil, fmt.Errorf("look up %s: %w", appID, err)
			}
			addrs = append(addrs, a)
		}
		return addrs, rows.Err()
	}, m.LookupCacheTTL, time.Now)
	r.log.Infof("Name lookups cached for %s", m.LookupCacheTTL)
	return nil
}

func (r *cachedResolver) ResolveID(ctx context.Context, req nameresolution.ResolveRequest) (string, error) {
	if r.cache == nil {
		return r.Resolver.ResolveID(ctx, req)
	}
	addr, err := r.cache.Resolve(ctx, req.ID)
	if errors.Is(err, nrcache.ErrNoHost) {
		return "", sqlite.ErrNoHost
	}
	return addr, err
}

// Close deregisters this sidecar (the stock resolver does) and closes the
// lookups' database handle.
func (r *cachedResolver) Close() error {
	var errs []error
	if c, ok := r.Resolver.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	if r.db != nil {
		errs = append(errs, r.db.Close())
	}
	return errors.Join(errs...)
}
