package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/daprshop/daprshop/services/auth/internal/accounts"
)

// FuzzRegisterDecode feeds arbitrary bodies to the sign-up decoder: it
// never panics, and whatever it accepts satisfies the password policy with
// a normalised email.
func FuzzRegisterDecode(f *testing.F) {
	for _, seed := range []string{
		`{"email":"jane@example.com","password":"Blue-Kettle-Rain7","name":"Jane"}`,
		`{"email":" JANE@Example.com ","password":"Jane-Kettle-Rain7","name":"J"}`,
		`{"email":"a@b","password":"Password1234","name":"x"}`,
		`{"email":1}`, `[]`, `null`, `{"email":"\u0000@x.y","password":"ÄÖÜäöü123456","name":"\t"}`,
	} {
		f.Add([]byte(seed))
	}
	app := fiber.New()
	app.Post("/", func(c *fiber.Ctx) error {
		reg, err := decodeRegister(c)
		if err != nil {
			return c.SendStatus(fiber.StatusUnprocessableEntity)
		}
		if v := accounts.PasswordViolations(reg.Password, reg.Email); len(v) > 0 {
			return c.Status(fiber.StatusTeapot).SendString("accepted a password breaking " + v[0])
		}
		if reg.Email != accounts.NormalizeEmail(reg.Email) || reg.Name == "" {
			return c.Status(fiber.StatusTeapot).SendString("accepted an unnormalised email or an empty name")
		}
		return c.SendStatus(fiber.StatusOK)
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == fiber.StatusTeapot || resp.StatusCode >= 500 {
			t.Fatalf("body %q: status %d", body, resp.StatusCode)
		}
	})
}
