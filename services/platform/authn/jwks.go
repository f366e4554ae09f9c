// Package authn verifies the access tokens the auth service issues and
// enforces roles. Services verify every token themselves against auth's
// public keys: no identity header from the network is trusted.
package authn

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// JWKS is a JSON Web Key Set of Ed25519 public keys (RFC 8037).
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one public signing key.
type JWK struct {
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	KeyID     string `json:"kid"`
	X         string `json:"x"`
	Use       string `json:"use"`
	Algorithm string `json:"alg"`
}

// PublicJWK describes key under kid.
func PublicJWK(kid string, key ed25519.PublicKey) JWK {
	return JWK{KeyType: "OKP", Curve: "Ed25519", KeyID: kid, X: base64.RawURLEncoding.EncodeToString(key), Use: "sig", Algorithm: "EdDSA"}
}

// ParseJWKS returns the Ed25519 keys of a JWKS document by key id; keys of
// other types are ignored.
func ParseJWKS(doc []byte) (map[string]ed25519.PublicKey, error) {
	var set JWKS
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("decode jwks: %w", err)
	}
	keys := make(map[string]ed25519.PublicKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.KeyType != "OKP" || k.Curve != "Ed25519" || k.KeyID == "" {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("jwks key %q: bad public key", k.KeyID)
		}
		keys[k.KeyID] = ed25519.PublicKey(x)
	}
	return keys, nil
}
