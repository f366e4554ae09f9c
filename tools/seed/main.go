// Command seed loads a realistic catalog (a category tree and a few
// thousand products) into a running system through the public API, as an
// admin. It mints the admin's token with the dev signing key, as the e2e
// suite does, so it needs no user account. Running it again adds nothing
// twice: taken slugs and skus are skipped.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/apiclient"
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
	c, err := newClient(gateway, token)
	if err != nil {
		return err
	}
	categories, err := seedCategories(ctx, c)
	if err != nil {
		return err
	}
	products := catalogProducts(categories)
	var created, skipped atomic.Int64
	jobs := make(chan apiclient.ProductInput)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for p := range jobs {
				status, err := createProduct(ctx, c, p)
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

// newClient returns the API's generated client, calling gateway as the
// admin whose token it sends.
func newClient(gateway, token string) (*apiclient.ClientWithResponses, error) {
	return apiclient.NewClientWithResponses(gateway,
		apiclient.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
		apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
}

// createProduct creates p and returns the status: 201, or 409 when its
// sku is taken. A 429 (the gateway limits each user's requests per minute)
// is waited out as its Retry-After says, and the product sent again.
func createProduct(ctx context.Context, c *apiclient.ClientWithResponses, p apiclient.ProductInput) (int, error) {
	for {
		resp, err := c.CreateProductWithResponse(ctx, p)
		if err != nil {
			return 0, fmt.Errorf("create product %s: %w", p.SKU, err)
		}
		if resp.StatusCode() != http.StatusTooManyRequests {
			return resp.StatusCode(), answered("create product "+p.SKU, resp.StatusCode(), resp.Body, http.StatusCreated, http.StatusConflict)
		}
		wait, err := strconv.Atoi(resp.HTTPResponse.Header.Get("Retry-After"))
		if err != nil {
			wait = 1
		}
		slog.Info("rate limited by the gateway; waiting", "seconds", wait)
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Duration(wait) * time.Second):
		}
	}
}

// answered returns an error unless the answer's status is one of want.
func answered(op string, status int, body []byte, want ...int) error {
	if slices.Contains(want, status) {
		return nil
	}
	return fmt.Errorf("%s: %d %s", op, status, body)
}

// seedCategories creates the tree (or finds it) and returns the leaf
// categories' ids by slug.
func seedCategories(ctx context.Context, c *apiclient.ClientWithResponses) (map[string]uuid.UUID, error) {
	ids := map[string]uuid.UUID{}
	existing, err := c.ListCategoriesWithResponse(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	if err := answered("list categories", existing.StatusCode(), existing.Body, http.StatusOK); err != nil {
		return nil, err
	}
	var walk func([]apiclient.Category)
	walk = func(nodes []apiclient.Category) {
		for _, n := range nodes {
			ids[n.Slug] = n.ID
			walk(n.Children)
		}
	}
	walk(*existing.JSON200)
	leaves := map[string]uuid.UUID{}
	for _, top := range tree {
		parentID, err := ensureCategory(ctx, c, ids, top.name, top.slug, nil)
		if err != nil {
			return nil, err
		}
		for _, sub := range top.subs {
			id, err := ensureCategory(ctx, c, ids, sub.name, sub.slug, &parentID)
			if err != nil {
				return nil, err
			}
			leaves[sub.slug] = id
		}
	}
	return leaves, nil
}

func ensureCategory(ctx context.Context, c *apiclient.ClientWithResponses, ids map[string]uuid.UUID, name, slug string, parentID *uuid.UUID) (uuid.UUID, error) {
	if id, ok := ids[slug]; ok {
		return id, nil
	}
	resp, err := c.CreateCategoryWithResponse(ctx, apiclient.CategoryInput{Name: name, Slug: slug, ParentID: parentID})
	if err != nil {
		return uuid.Nil, fmt.Errorf("create category %s: %w", slug, err)
	}
	if resp.StatusCode() == http.StatusConflict {
		return uuid.Nil, fmt.Errorf("category slug %s is taken but not listed", slug)
	}
	if err := answered("create category "+slug, resp.StatusCode(), resp.Body, http.StatusCreated); err != nil {
		return uuid.Nil, err
	}
	ids[slug] = resp.JSON201.ID
	return resp.JSON201.ID, nil
}
