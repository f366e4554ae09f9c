package accounts

import (
	"bufio"
	"bytes"
	_ "embed"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// Password length limits, in characters. The upper bound keeps hashing
// cost bounded; it is far above what people type.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 128
	maxEmailLength    = 254
	maxNameLength     = 200
	// minLocalPartMatch is the shortest email local part the password is
	// checked against: a one- or two-letter local part would forbid most
	// passwords without making any of them safer.
	minLocalPartMatch = 3
)

// Password rule messages, one field error per violated rule.
const (
	msgTooShort     = "must have at least 12 characters"
	msgTooLong      = "must have at most 128 characters"
	msgNoUpper      = "must contain an upper-case letter"
	msgNoLower      = "must contain a lower-case letter"
	msgNoDigit      = "must contain a digit"
	msgCommon       = "is too common"
	msgContainsMail = "must not contain the email address or its local part"
	msgControlChars = "must not contain control characters"
)

//go:embed common_passwords.txt
var commonPasswordList []byte

// commonPasswords holds well-known passwords, lower-cased; read-only after
// package initialisation.
var commonPasswords = loadCommonPasswords(commonPasswordList)

func loadCommonPasswords(list []byte) map[string]struct{} {
	set := make(map[string]struct{}, bytes.Count(list, []byte("\n")))
	sc := bufio.NewScanner(bytes.NewReader(list))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			set[strings.ToLower(w)] = struct{}{}
		}
	}
	return set
}

// Registration is a validated sign-up: email normalised, name trimmed,
// password satisfying the policy.
type Registration struct {
	Email    string
	Password string
	Name     string
}

// NewRegistration normalises and validates a sign-up. It returns an
// apperr.Invalid error listing every violated rule of every field.
func NewRegistration(email, password, name string) (Registration, error) {
	r := Registration{Email: NormalizeEmail(email), Password: password, Name: strings.TrimSpace(name)}
	var fields []apperr.FieldError
	for _, msg := range emailViolations(r.Email) {
		fields = append(fields, apperr.FieldError{Field: "email", Message: msg})
	}
	for _, msg := range PasswordViolations(r.Password, r.Email) {
		fields = append(fields, apperr.FieldError{Field: "password", Message: msg})
	}
	switch n := utf8.RuneCountInString(r.Name); {
	case n == 0:
		fields = append(fields, apperr.FieldError{Field: "name", Message: "is required"})
	case n > maxNameLength:
		fields = append(fields, apperr.FieldError{Field: "name", Message: "must have at most 200 characters"})
	case strings.ContainsFunc(r.Name, unicode.IsControl):
		fields = append(fields, apperr.FieldError{Field: "name", Message: msgControlChars})
	}
	if len(fields) > 0 {
		return Registration{}, apperr.Validation(fields...)
	}
	return r, nil
}

// LoginEmailViolations returns what makes email unfit to look an account
// up with: control characters (NUL among them, which Postgres refuses in
// text) never pass sign-up, so no account has them.
func LoginEmailViolations(email string) []apperr.FieldError {
	if strings.ContainsFunc(email, unicode.IsControl) {
		return []apperr.FieldError{{Field: "email", Message: msgControlChars}}
	}
	return nil
}

// NormalizeEmail trims and lower-cases an email, so one mailbox is one
// account whatever the caller typed.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func emailViolations(email string) []string {
	if email == "" {
		return []string{"is required"}
	}
	if len(email) > maxEmailLength {
		return []string{"must have at most 254 characters"}
	}
	// A bare address only: no display name, no angle brackets.
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return []string{"must be a valid email address"}
	}
	return nil
}

// PasswordViolations returns the message of every policy rule password
// breaks for an account with the (normalised) email; none means it is
// acceptable.
func PasswordViolations(password, email string) []string {
	var out []string
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLength {
		out = append(out, msgTooShort)
	}
	if n > MaxPasswordLength {
		out = append(out, msgTooLong)
	}
	var upper, lower, digit bool
	for _, r := range password {
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
		digit = digit || unicode.IsDigit(r)
	}
	if !upper {
		out = append(out, msgNoUpper)
	}
	if !lower {
		out = append(out, msgNoLower)
	}
	if !digit {
		out = append(out, msgNoDigit)
	}
	folded := strings.ToLower(password)
	if _, ok := commonPasswords[folded]; ok {
		out = append(out, msgCommon)
	}
	if containsEmail(folded, email) {
		out = append(out, msgContainsMail)
	}
	return out
}

func containsEmail(foldedPassword, email string) bool {
	if email == "" {
		return false
	}
	local, _, _ := strings.Cut(email, "@")
	if strings.Contains(foldedPassword, email) {
		return true
	}
	return utf8.RuneCountInString(local) >= minLocalPartMatch && strings.Contains(foldedPassword, local)
}
