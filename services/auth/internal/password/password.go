// Package password hashes passwords with argon2id and stores them in the
// PHC string format, so parameters can be raised later without breaking
// existing hashes.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// DefaultParams are OWASP's minimum argon2id settings (19 MiB, 2 passes,
// 1 lane): about 35–60 ms per hash on the 2-core dev machine
// (BenchmarkHash).
var DefaultParams = Params{Time: 2, Memory: 19 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformedHash is returned for a stored hash that is not an argon2id
// PHC string.
var ErrMalformedHash = errors.New("malformed password hash")

// Hasher hashes with fixed parameters and bounds how many hashes run at
// once: each one holds Params.Memory, so a burst of logins cannot exhaust
// memory, and extra callers queue instead.
type Hasher struct {
	params Params
	slots  chan struct{}
}

// NewHasher returns a Hasher running at most 2×GOMAXPROCS hashes at a time.
func NewHasher(p Params) *Hasher {
	return &Hasher{params: p, slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
}

// Hash returns the PHC string of password with a fresh random salt:
// $argon2id$v=19$m=…,t=…,p=…$salt$key.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := h.derive(password, salt, h.params)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded, using the parameters
// stored in it; ErrMalformedHash when encoded cannot be read.
func (h *Hasher) Verify(encoded, password string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := h.derive(password, salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func (h *Hasher) derive(password string, salt []byte, p Params) []byte {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// maxMemory bounds the memory a stored hash may ask for (1 GiB), so a
// corrupted row cannot take the process down.
const maxMemory = 1 << 20

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Time == 0 || p.Threads == 0 || p.Memory == 0 || p.Memory > maxMemory {
		return Params{}, nil, nil, ErrMalformedHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) == 0 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	p.SaltLen, p.KeyLen = len(salt), uint32(len(key))
	return p, salt, key, nil
}
