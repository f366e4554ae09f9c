package keys

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/authn"
)

func seed(b byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), ed25519.SeedSize)))
}

func TestFromSecretsPublishesCurrentAndPrevious(t *testing.T) {
	set, err := FromSecrets(map[string]string{
		SecretCurrent: seed('a'), SecretCurrentID: "k2",
		SecretPrevious: seed('b'), SecretPreviousID: "k1",
	})
	require.NoError(t, err)
	doc, err := json.Marshal(set.JWKS())
	require.NoError(t, err)
	published, err := authn.ParseJWKS(doc)
	require.NoError(t, err)
	require.Len(t, published, 2)
	assert.Equal(t, set.Current.Private.Public(), published["k2"])
	assert.Equal(t, set.Previous[0].Private.Public(), published["k1"])
}

func TestFromSecretsRejectsBadKeys(t *testing.T) {
	tests := map[string]map[string]string{
		"missing current":    {},
		"missing id":         {SecretCurrent: seed('a')},
		"short seed":         {SecretCurrent: base64.StdEncoding.EncodeToString([]byte("short")), SecretCurrentID: "k"},
		"not base64":         {SecretCurrent: "%%%", SecretCurrentID: "k"},
		"previous reuses id": {SecretCurrent: seed('a'), SecretCurrentID: "k", SecretPrevious: seed('b'), SecretPreviousID: "k"},
	}
	for name, secrets := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := FromSecrets(secrets)
			assert.Error(t, err)
		})
	}
}
