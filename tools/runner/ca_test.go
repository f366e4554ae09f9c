package main

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The issuer credentials chain to their root and hold the issuer's key;
// credentials already there are kept.
func TestWriteIssuerCredentials(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, writeIssuerCredentials(dir, time.Now()))
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		block, _ := pem.Decode(b)
		require.NotNil(t, block, name)
		return block.Bytes
	}
	root, err := x509.ParseCertificate(read("ca.crt"))
	require.NoError(t, err)
	issuer, err := x509.ParseCertificate(read("issuer.crt"))
	require.NoError(t, err)
	key, err := x509.ParsePKCS8PrivateKey(read("issuer.key"))
	require.NoError(t, err)

	assert.True(t, root.IsCA && issuer.IsCA)
	require.NoError(t, root.CheckSignatureFrom(root), "the root signs itself")
	roots := x509.NewCertPool()
	roots.AddCert(root)
	_, err = issuer.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	require.NoError(t, err, "the issuer chains to the root")
	assert.True(t, key.(*ecdsa.PrivateKey).PublicKey.Equal(issuer.PublicKey), "the key is the issuer's")

	before := read("ca.crt")
	require.NoError(t, writeIssuerCredentials(dir, time.Now()))
	assert.Equal(t, before, read("ca.crt"), "kept")
}
