// Command seed loads a realistic catalog (a category tree and a few
// thousand products) into a running system through the public API, as an
// admin. It mints the admin's token with the dev signing key, as the e2e
// suite does, so it needs no user account. Running it again adds nothing
// twice: taken slugs and skus are skipped.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/authn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	gateway := flag.String("gateway", "http://127.0.0.1:3000", "the gateway's base URL")
	secrets := flag.String("secrets", ".run/secrets.json", "the dev secret store file")
	workers := flag.Int("workers", 8, "concurrent requests")
	flag.Parse()
	if err := run(ctx, *gateway, *secrets, *workers); err != nil {
		slog.Error("seed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, gateway, secretsPath string, workers int) error {
	token, err := adminToken(secretsPath)
	if err != nil {
		return err
	}
	c := &client{base: gateway, token: token, http: &http.Client{Timeout: 30 * time.Second}}
	categories, err := seedCategories(ctx, c)
	if err != nil {
		return err
	}
	products := catalogProducts(categories)
	var created, skipped atomic.Int64
	jobs := make(chan product)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for p := range jobs {
				status, err := c.post(ctx, "/api/v1/products", p, nil)
				switch {
				case err != nil:
					errs <- err
					return
				case status == http.StatusConflict:
					skipped.Add(1)
				default:
					created.Add(1)
				}
			}
		})
	}
feed:
	for _, p := range products {
		select {
		case jobs <- p:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d categories; products: %d created, %d already there\n", len(categories), created.Load(), skipped.Load())
	return nil
}

// adminToken signs a short-lived ADMIN access token with the dev key.
func adminToken(secretsPath string) (string, error) {
	b, err := os.ReadFile(secretsPath)
	if err != nil {
		return "", fmt.Errorf("read dev secrets (run `make prepare`): %w", err)
	}
	var secrets map[string]string
	if err := json.Unmarshal(b, &secrets); err != nil {
		return "", fmt.Errorf("read dev secrets: %w", err)
	}
	seed, err := base64.StdEncoding.DecodeString(secrets["jwt-signing-key"])
	if err != nil || len(seed) != ed25519.SeedSize {
		return "", errors.New("dev secrets hold no valid jwt-signing-key")
	}
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, authn.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: authn.Issuer, Audience: jwt.ClaimStrings{authn.Audience}, Subject: uuid.NewString(),
			ID: uuid.NewString(), IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
		},
		Roles: []string{authn.RoleAdmin},
	})
	tok.Header["kid"] = secrets["jwt-signing-key-id"]
	return tok.SignedString(ed25519.NewKeyFromSeed(seed))
}

type client struct {
	base, token string
	http        *http.Client
}

// post sends v as JSON and decodes a 2xx answer into out. It returns the
// status; a status other than 2xx or 409 is an error.
func (c *client) post(ctx context.Context, path string, v, out any) (int, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	return c.do(req, out)
}

func (c *client) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	_, err = c.do(req, out)
	return err
}

func (c *client) do(req *http.Request, out any) (int, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	switch {
	case resp.StatusCode == http.StatusConflict:
		return resp.StatusCode, nil
	case resp.StatusCode/100 != 2:
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	case out != nil:
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

type categoryNode struct {
	ID       string         `json:"id"`
	Slug     string         `json:"slug"`
	Children []categoryNode `json:"children"`
}

// seedCategories creates the tree (or finds it) and returns the leaf
// categories' ids by slug.
func seedCategories(ctx context.Context, c *client) (map[string]string, error) {
	ids := map[string]string{}
	var existing []categoryNode
	if err := c.get(ctx, "/api/v1/categories", &existing); err != nil {
		return nil, err
	}
	var walk func([]categoryNode)
	walk = func(nodes []categoryNode) {
		for _, n := range nodes {
			ids[n.Slug] = n.ID
			walk(n.Children)
		}
	}
	walk(existing)
	leaves := map[string]string{}
	for _, top := range tree {
		parentID, err := ensureCategory(ctx, c, ids, top.name, top.slug, "")
		if err != nil {
			return nil, err
		}
		for _, sub := range top.subs {
			id, err := ensureCategory(ctx, c, ids, sub.name, sub.slug, parentID)
			if err != nil {
				return nil, err
			}
			leaves[sub.slug] = id
		}
	}
	return leaves, nil
}

func ensureCategory(ctx context.Context, c *client, ids map[string]string, name, slug, parentID string) (string, error) {
	if id, ok := ids[slug]; ok {
		return id, nil
	}
	in := map[string]any{"name": name, "slug": slug}
	if parentID != "" {
		in["parent_id"] = parentID
	}
	var out categoryNode
	status, err := c.post(ctx, "/api/v1/categories", in, &out)
	if err != nil {
		return "", err
	}
	if status == http.StatusConflict {
		return "", fmt.Errorf("category slug %s is taken but not listed", slug)
	}
	ids[slug] = out.ID
	return out.ID, nil
}
