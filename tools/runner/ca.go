package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// The files of Sentry's issuer credentials directory.
var issuerFiles = []string{"ca.crt", "issuer.crt", "issuer.key"}

// writeIssuerCredentials writes Sentry's issuer credentials into dir unless
// it holds them all: a root certificate (ca.crt, the sidecars' trust
// anchor) and the issuer's certificate and key, made as Sentry 1.14 makes
// them (ECDSA P-256, a year, the trust domain cluster.local). Sentry
// watches the directory: when it wrote them itself on a first start, it
// took its own files for a change and reloaded them with a warning.
func writeIssuerCredentials(dir string, now time.Time) error {
	missing := false
	for _, name := range issuerFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); errors.Is(err, os.ErrNotExist) {
			missing = true
		} else if err != nil {
			return err
		}
	}
	if !missing {
		return nil
	}
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	issuerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	root, err := caTemplate(now, "cluster.local", x509.KeyUsageCertSign)
	if err != nil {
		return err
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		return err
	}
	issuer, err := caTemplate(now, "spiffe://cluster.local/ns/default/dapr-sentry", x509.KeyUsageCertSign|x509.KeyUsageCRLSign)
	if err != nil {
		return err
	}
	issuerDER, err := x509.CreateCertificate(rand.Reader, issuer, root, &issuerKey.PublicKey, rootKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(issuerKey)
	if err != nil {
		return err
	}
	files := map[string]*pem.Block{
		"ca.crt":     {Type: "CERTIFICATE", Bytes: rootDER},
		"issuer.crt": {Type: "CERTIFICATE", Bytes: issuerDER},
		"issuer.key": {Type: "PRIVATE KEY", Bytes: keyDER},
	}
	for _, name := range issuerFiles {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(files[name]), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// caTemplate is a CA certificate valid for a year from now (and Sentry's
// default 15 minutes of clock skew before it), its subject's organisation org.
func caTemplate(now time.Time, org string, usage x509.KeyUsage) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{Organization: []string{org}},
		NotBefore: now.Add(-15 * time.Minute), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | usage,
		IsCA:                  true,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.ECDSAWithSHA256,
	}, nil
}
