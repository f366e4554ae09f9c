package accounts_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/auth/internal/accounts"
	"github.com/daprshop/daprshop/services/platform/apperr"
)

func TestPasswordViolations(t *testing.T) {
	const email = "jane.doe@example.com"
	tests := []struct {
		name     string
		password string
		want     []string
	}{
		{"acceptable", "Blue-Kettle-Rain7", nil},
		{"unicode letters count", "Ÿellow-kettle-räin7", nil},
		{"too short", "Blue-Kett7", []string{"must have at least 12 characters"}},
		{"too long", "A1" + strings.Repeat("b", 127), []string{"must have at most 128 characters"}},
		{"no upper-case letter", "blue-kettle-rain7", []string{"must contain an upper-case letter"}},
		{"no lower-case letter", "BLUE-KETTLE-RAIN7", []string{"must contain a lower-case letter"}},
		{"no digit", "Blue-Kettle-Rain", []string{"must contain a digit"}},
		{"common password", "Password1234", []string{"is too common"}},
		{"common password in other case", "pASSWORD1234", []string{"is too common"}},
		{"common password capitalised", "Qwerty123456", []string{"is too common"}},
		{"common password of a pattern", "Liverpool2024", []string{"is too common"}},
		{"contains the local part", "My-Jane.Doe-Pass1", []string{"must not contain the email address or its local part"}},
		{"contains the whole email", "X1" + email, []string{"must not contain the email address or its local part"}},
		{"every rule but length at once", "jane.doe", []string{
			"must have at least 12 characters", "must contain an upper-case letter", "must contain a digit",
			"must not contain the email address or its local part",
		}},
		{"empty", "", []string{
			"must have at least 12 characters", "must contain an upper-case letter", "must contain a lower-case letter",
			"must contain a digit",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, accounts.PasswordViolations(tt.password, email))
		})
	}
	t.Run("a short local part is not matched", func(t *testing.T) {
		assert.Empty(t, accounts.PasswordViolations("Blue-Kettle-Rain7", "al@example.com"))
	})
}

func TestNewRegistration(t *testing.T) {
	t.Run("normalises email and name", func(t *testing.T) {
		r, err := accounts.NewRegistration("  Jane.Doe@Example.COM ", "Blue-Kettle-Rain7", "  Jane Doe ")
		require.NoError(t, err)
		assert.Equal(t, accounts.Registration{Email: "jane.doe@example.com", Password: "Blue-Kettle-Rain7", Name: "Jane Doe"}, r)
	})
	t.Run("the local part check ignores case", func(t *testing.T) {
		_, err := accounts.NewRegistration("JANE@example.com", "Xx-jAnE-9999-yy", "Jane")
		assert.Equal(t, []apperr.FieldError{{Field: "password", Message: "must not contain the email address or its local part"}}, fieldsOf(t, err))
	})
	tests := []struct {
		name, email, password, userName string
		want                            []apperr.FieldError
	}{
		{"bad email", "not-an-email", "Blue-Kettle-Rain7", "Jane", []apperr.FieldError{{Field: "email", Message: "must be a valid email address"}}},
		{"display name form", "Jane <jane@example.com>", "Blue-Kettle-Rain7", "Jane", []apperr.FieldError{{Field: "email", Message: "must be a valid email address"}}},
		{"everything missing", "", "", " ", []apperr.FieldError{
			{Field: "email", Message: "is required"},
			{Field: "password", Message: "must have at least 12 characters"},
			{Field: "password", Message: "must contain an upper-case letter"},
			{Field: "password", Message: "must contain a lower-case letter"},
			{Field: "password", Message: "must contain a digit"},
			{Field: "name", Message: "is required"},
		}},
		{"name too long", "jane@example.com", "Blue-Kettle-Rain7", strings.Repeat("n", 201), []apperr.FieldError{{Field: "name", Message: "must have at most 200 characters"}}},
		{"NUL in the name", "jane@example.com", "Blue-Kettle-Rain7", "Ja\x00ne", []apperr.FieldError{{Field: "name", Message: "must not contain control characters"}}},
		{"C1 control in the name", "jane@example.com", "Blue-Kettle-Rain7", "Ja\u0085ne", []apperr.FieldError{{Field: "name", Message: "must not contain control characters"}}},
		{"NUL in the email", "ja\x00ne@example.com", "Blue-Kettle-Rain7", "Jane", []apperr.FieldError{{Field: "email", Message: "must be a valid email address"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := accounts.NewRegistration(tt.email, tt.password, tt.userName)
			assert.Equal(t, tt.want, fieldsOf(t, err))
		})
	}
}

func TestNormalizeRoles(t *testing.T) {
	t.Run("sorted without duplicates", func(t *testing.T) {
		roles, err := accounts.NormalizeRoles([]string{"CUSTOMER", "ADMIN", "CUSTOMER"})
		require.NoError(t, err)
		assert.Equal(t, []string{"ADMIN", "CUSTOMER"}, roles)
	})
	tests := map[string]struct {
		roles []string
		want  []string
	}{
		"empty":        {[]string{}, []string{"roles"}},
		"nil":          {nil, []string{"roles"}},
		"unknown":      {[]string{"CUSTOMER", "ROOT"}, []string{"roles[1]"}},
		"lower-cased":  {[]string{"admin"}, []string{"roles[0]"}},
		"two unknowns": {[]string{"X", "Y"}, []string{"roles[0]", "roles[1]"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := accounts.NormalizeRoles(tt.roles)
			var got []string
			for _, f := range fieldsOf(t, err) {
				got = append(got, f.Field)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func fieldsOf(t *testing.T, err error) []apperr.FieldError {
	t.Helper()
	var ae *apperr.Error
	require.True(t, errors.As(err, &ae), "want a validation error, got %v", err)
	require.Equal(t, apperr.Invalid, ae.Kind)
	return ae.Fields
}

func TestLoginEmailViolations(t *testing.T) {
	assert.Empty(t, accounts.LoginEmailViolations("jäne@example.com"))
	assert.Empty(t, accounts.LoginEmailViolations("not even an email"), "a wrong email is a failed login, not a malformed one")
	for _, email := range []string{"ja\x00ne@example.com", "jane@example.com\n", "\x7f"} {
		assert.Equal(t, []apperr.FieldError{{Field: "email", Message: "must not contain control characters"}},
			accounts.LoginEmailViolations(email), "%q", email)
	}
}

func TestNewClientKeepsPrintableBoundedText(t *testing.T) {
	tests := []struct {
		name, userAgent, ip string
		want                accounts.Client
	}{
		{"as sent", "Mozilla/5.0 (X11) Firefox/130.0", "2001:db8::1", accounts.Client{UserAgent: "Mozilla/5.0 (X11) Firefox/130.0", IP: "2001:db8::1"}},
		{"unicode kept", "Brówser/1 ✓", "203.0.113.7", accounts.Client{UserAgent: "Brówser/1 ✓", IP: "203.0.113.7"}},
		{"invalid UTF-8 replaced", "a\xff\xfeb", "\xff", accounts.Client{UserAgent: "a\uFFFDb", IP: "\uFFFD"}},
		{"control characters dropped", "a\x00b\tc\u0085d", "1.2.3.4\r\n", accounts.Client{UserAgent: "abcd", IP: "1.2.3.4"}},
		{"long values cut", strings.Repeat("é", 600), strings.Repeat("1", 100), accounts.Client{UserAgent: strings.Repeat("é", 512), IP: strings.Repeat("1", 64)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, accounts.NewClient(tt.userAgent, tt.ip))
		})
	}
}
