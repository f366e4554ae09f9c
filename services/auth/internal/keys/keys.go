// Package keys holds the auth service's token signing keys. The current key
// signs; previous keys stay published so tokens signed before a rotation
// verify until they expire.
package keys

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/daprshop/daprshop/services/platform/authn"
)

// Secret names in the secret store.
const (
	SecretCurrent    = "jwt-signing-key"
	SecretCurrentID  = "jwt-signing-key-id"
	SecretPrevious   = "jwt-previous-signing-key"
	SecretPreviousID = "jwt-previous-signing-key-id"
)

// Key is one Ed25519 signing key and its key id.
type Key struct {
	ID      string
	Private ed25519.PrivateKey
}

// Set is the signing key plus the keys still accepted for verification.
type Set struct {
	Current  Key
	Previous []Key
}

// FromSecrets builds a Set from secret values by name: the seed of each key
// is 32 bytes, base64-encoded. The previous key is optional.
func FromSecrets(secrets map[string]string) (Set, error) {
	current, err := parseKey(secrets[SecretCurrentID], secrets[SecretCurrent])
	if err != nil {
		return Set{}, fmt.Errorf("secret %s: %w", SecretCurrent, err)
	}
	set := Set{Current: current}
	if secrets[SecretPrevious] != "" {
		prev, err := parseKey(secrets[SecretPreviousID], secrets[SecretPrevious])
		if err != nil {
			return Set{}, fmt.Errorf("secret %s: %w", SecretPrevious, err)
		}
		if prev.ID == current.ID {
			return Set{}, fmt.Errorf("secret %s: key id %q is also the current key's", SecretPreviousID, prev.ID)
		}
		set.Previous = append(set.Previous, prev)
	}
	return set, nil
}

func parseKey(id, seedB64 string) (Key, error) {
	if id == "" {
		return Key{}, errors.New("missing key id")
	}
	seed, err := base64.StdEncoding.DecodeString(seedB64)
	if err != nil || len(seed) != ed25519.SeedSize {
		return Key{}, fmt.Errorf("want a base64 %d-byte Ed25519 seed", ed25519.SeedSize)
	}
	return Key{ID: id, Private: ed25519.NewKeyFromSeed(seed)}, nil
}

// JWKS publishes the public halves of every key in the set.
func (s Set) JWKS() authn.JWKS {
	set := authn.JWKS{Keys: []authn.JWK{publicJWK(s.Current)}}
	for _, k := range s.Previous {
		set.Keys = append(set.Keys, publicJWK(k))
	}
	return set
}

func publicJWK(k Key) authn.JWK {
	return authn.PublicJWK(k.ID, k.Private.Public().(ed25519.PublicKey))
}
