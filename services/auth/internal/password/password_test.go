package password_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/auth/internal/password"
)

func TestHashAndVerify(t *testing.T) {
	h := password.NewHasher(password.DefaultParams)
	encoded, err := h.Hash("Blue-Kettle-Rain7")
	require.NoError(t, err)
	assert.Regexp(t, `^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, encoded)

	ok, err := h.Verify(encoded, "Blue-Kettle-Rain7")
	require.NoError(t, err)
	assert.True(t, ok, "the right password")
	ok, err = h.Verify(encoded, "Blue-Kettle-Rain8")
	require.NoError(t, err)
	assert.False(t, ok, "a wrong password")

	again, err := h.Hash("Blue-Kettle-Rain7")
	require.NoError(t, err)
	assert.NotEqual(t, encoded, again, "each hash has its own salt")
}

func TestVerifyUsesTheStoredParameters(t *testing.T) {
	old := password.NewHasher(password.Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 8, KeyLen: 16})
	encoded, err := old.Hash("Blue-Kettle-Rain7")
	require.NoError(t, err)
	ok, err := password.NewHasher(password.DefaultParams).Verify(encoded, "Blue-Kettle-Rain7")
	require.NoError(t, err)
	assert.True(t, ok, "hashes made with older parameters still verify")
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	h := password.NewHasher(password.DefaultParams)
	good, err := h.Hash("Blue-Kettle-Rain7")
	require.NoError(t, err)
	parts := strings.Split(good, "$")
	tests := map[string]string{
		"empty":             "",
		"bcrypt":            "$2a$10$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBEJK",
		"argon2i":           strings.Replace(good, "argon2id", "argon2i", 1),
		"other version":     strings.Replace(good, "v=19", "v=16", 1),
		"zero time":         strings.Replace(good, "t=2", "t=0", 1),
		"huge memory":       strings.Replace(good, "m=19456", "m=99999999", 1),
		"salt not base64":   strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"missing key":       strings.Join(parts[:5], "$"),
		"params unreadable": strings.Replace(good, "m=19456,t=2,p=1", "m=x", 1),
	}
	for name, encoded := range tests {
		t.Run(name, func(t *testing.T) {
			ok, err := h.Verify(encoded, "Blue-Kettle-Rain7")
			assert.ErrorIs(t, err, password.ErrMalformedHash)
			assert.False(t, ok)
		})
	}
}

// BenchmarkHash measures one hash at DefaultParams: the cost of every
// login and registration.
func BenchmarkHash(b *testing.B) {
	h := password.NewHasher(password.DefaultParams)
	for b.Loop() {
		if _, err := h.Hash("Blue-Kettle-Rain7"); err != nil {
			b.Fatal(err)
		}
	}
}
