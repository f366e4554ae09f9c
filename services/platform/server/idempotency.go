package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// HeaderIdempotencyKey names the client's key for a retry-safe request
// (checkout, refund): the same key answers the first answer again.
const HeaderIdempotencyKey = "Idempotency-Key"

var (
	errNoIdempotencyKey  = apperr.New(apperr.Malformed, "the Idempotency-Key header is required")
	errBadIdempotencyKey = apperr.New(apperr.Malformed, "the Idempotency-Key header must be 1 to 255 printable characters")
)

// IdempotencyKey returns the request's Idempotency-Key: 400 when it is
// missing, longer than 255 bytes or holds anything but printable ASCII.
func IdempotencyKey(c *fiber.Ctx) (string, error) {
	key := c.Get(HeaderIdempotencyKey)
	switch {
	case key == "":
		return "", errNoIdempotencyKey
	case len(key) > 255 || strings.IndexFunc(key, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0:
		return "", errBadIdempotencyKey
	}
	// Copied: Fiber's header strings alias a reused buffer.
	return strings.Clone(key), nil
}

// RequestHash identifies a decoded request under its Idempotency-Key: in,
// encoded again, so that neither the spacing nor the field order of the
// body changes it. It is the hex SHA-256 of that encoding, as stored with
// the first answer.
func RequestHash(in any) (string, error) {
	canonical, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:]), nil
}
