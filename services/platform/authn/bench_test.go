package authn_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/authn"
	"github.com/daprshop/daprshop/services/platform/authn/authntest"
)

// BenchmarkVerify is the in-process cost of checking one access token
// (parse, EdDSA signature, claims), keys cached, without the denylist
// lookup, which is one state-store read through the sidecar.
func BenchmarkVerify(b *testing.B) {
	iss := authntest.NewIssuer(b)
	v := iss.Verifier()
	token := iss.Token(b, uuid.NewString(), authn.RoleCustomer)
	ctx := context.Background()
	if _, err := v.Verify(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}
