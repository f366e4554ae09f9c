package notifications

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

func TestRenderEscapesUserDataInHTMLOnly(t *testing.T) {
	tpl := Template{Name: "welcome", Subject: "Hi {{.Name}}", HTML: "<p>Hello {{.Name}}</p>", Text: "Hello {{.Name}}"}
	msg, err := tpl.Render(UserData{Name: `<script>alert("x")</script>`})
	require.NoError(t, err)
	assert.Equal(t, "<p>Hello &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>", msg.HTML)
	assert.Equal(t, `Hello <script>alert("x")</script>`, msg.Text, "SMS and push are plain text")
	assert.Equal(t, `Hi <script>alert("x")</script>`, msg.Subject)

	msg, err = tpl.Render(UserData{Name: "Eve\r\nBcc: all@example.com"})
	require.NoError(t, err)
	assert.Equal(t, "Hi Eve Bcc: all@example.com", msg.Subject, "user data cannot add a header line")
}

// Templates are parsed once per source, and an edited template renders
// its new words at once; many messages render one template at a time.
func TestRenderAfterEditAndConcurrently(t *testing.T) {
	tpl := Template{Name: "welcome", Subject: "Hi {{.Name}}", HTML: "<p>Hello {{.Name}}</p>", Text: "Hello {{.Name}}"}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			name := fmt.Sprintf("<b>%d</b>", i)
			msg, err := tpl.Render(UserData{Name: name})
			assert.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("<p>Hello &lt;b&gt;%d&lt;/b&gt;</p>", i), msg.HTML)
			assert.Equal(t, "Hello "+name, msg.Text)
		})
	}
	wg.Wait()

	tpl.HTML = "<p>Welcome back, {{.Name}}</p>"
	msg, err := tpl.Render(UserData{Name: "Ada"})
	require.NoError(t, err)
	assert.Equal(t, "<p>Welcome back, Ada</p>", msg.HTML)
	assert.Equal(t, "Hello Ada", msg.Text)

	tpl.Text = "Hello {{.Nmae}}"
	_, err = tpl.Render(UserData{Name: "Ada"})
	assert.Error(t, err, "an edit that breaks the template fails, though its other sources parsed before")
}

func BenchmarkRender(b *testing.B) {
	tpl := Template{Name: "welcome", Subject: "Hi {{.Name}}", HTML: "<p>Hello {{.Name}}</p>", Text: "Hello {{.Name}}"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(UserData{Name: "Ada"}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMoney(t *testing.T) {
	for cents, want := range map[int64]string{0: "0.00 USD", 5: "0.05 USD", 4250: "42.50 USD", -199: "-1.99 USD", 123456789: "1234567.89 USD"} {
		t.Run(want, func(t *testing.T) { assert.Equal(t, want, Money(cents, "USD")) })
	}
}

func TestValidate(t *testing.T) {
	ok := Template{Name: "order_paid", Subject: "Receipt {{.OrderID}}", HTML: "<p>{{money .TotalCents .Currency}} {{.InvoiceNumber}}</p>", Text: "x"}
	tests := []struct {
		name   string
		tpl    func(Template) Template
		kind   apperr.Kind
		fields []string
	}{
		{"valid", func(t Template) Template { return t }, "", nil},
		{"subject does not parse", func(t Template) Template { t.Subject = "{{.OrderID"; return t }, apperr.Invalid, []string{"subject"}},
		{"body does not parse", func(t Template) Template { t.HTML = "{{if}}"; return t }, apperr.Invalid, []string{"body"}},
		{"text does not parse", func(t Template) Template { t.Text = "{{end}}"; return t }, apperr.Invalid, []string{"text"}},
		{"unknown field", func(t Template) Template { t.HTML = "{{.Nope}}"; return t }, apperr.Invalid, []string{"body"}},
		{"unknown function", func(t Template) Template { t.Text = "{{shout .OrderID}}"; return t }, apperr.Invalid, []string{"text"}},
		{"empty body", func(t Template) Template { t.HTML = " "; return t }, apperr.Invalid, []string{"subject"}},
		{"unknown template", func(t Template) Template { t.Name = "nope"; return t }, apperr.NotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.tpl(ok).Validate()
			if tt.kind == "" {
				require.NoError(t, err)
				return
			}
			assert.Equal(t, tt.kind, apperr.KindOf(err))
			var ae *apperr.Error
			require.ErrorAs(t, err, &ae)
			var fields []string
			for _, f := range ae.Fields {
				fields = append(fields, f.Field)
			}
			assert.Equal(t, tt.fields, fields)
		})
	}
}

func TestRecordAttempt(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	refused := errors.New("connection refused")
	tests := []struct {
		name     string
		attempts int
		err      error
		status   Status
		sentAt   time.Time
	}{
		{"sent at first try", 0, nil, StatusSent, now},
		{"sent on a retry", 2, nil, StatusSent, now},
		{"failed, attempts left", 0, refused, StatusQueued, time.Time{}},
		{"failed, last attempt", 2, refused, StatusFailed, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Delivery{Status: StatusQueued, Attempts: tt.attempts}
			require.NoError(t, d.RecordAttempt(tt.err, 3, now))
			assert.Equal(t, tt.status, d.Status)
			assert.Equal(t, tt.attempts+1, d.Attempts)
			assert.Equal(t, tt.sentAt, d.SentAt)
			if tt.err != nil {
				assert.Equal(t, "connection refused", d.LastError)
			}
		})
	}
	for _, s := range []Status{StatusSent, StatusFailed, StatusSkipped} {
		t.Run("not queued: "+string(s), func(t *testing.T) {
			d := Delivery{Status: s, Attempts: 1}
			assert.ErrorIs(t, d.RecordAttempt(nil, 3, now), ErrNotQueued)
			assert.Equal(t, 1, d.Attempts)
		})
	}
}

func TestPlan(t *testing.T) {
	user := uuid.New()
	welcome := Template{Name: "welcome", Subject: "Hi", HTML: "<p>{{.Name}}</p>", Text: "{{.Name}}"}
	receipt := Template{Name: "order_paid", Subject: "R", HTML: "<p>{{.OrderID}}</p>", Text: "{{.OrderID}}"}
	broken := Template{Name: "welcome", Subject: "Hi", HTML: "<p>{{.Missing}}</p>", Text: "x"}
	status := func(ds []Delivery) map[Channel]Status {
		out := map[Channel]Status{}
		for _, d := range ds {
			out[d.Channel] = d.Status
		}
		return out
	}
	tests := []struct {
		name  string
		req   Request
		prefs Preferences
		want  map[Channel]Status
	}{
		{"defaults: email only", Request{UserID: user, Email: "a@b.c", Template: welcome, Data: UserData{}},
			DefaultPreferences(user), map[Channel]Status{ChannelEmail: StatusQueued, ChannelSMS: StatusSkipped, ChannelPush: StatusSkipped}},
		{"everything off", Request{UserID: user, Email: "a@b.c", Template: welcome, Data: UserData{}},
			Preferences{UserID: user}, map[Channel]Status{ChannelEmail: StatusSkipped, ChannelSMS: StatusSkipped, ChannelPush: StatusSkipped}},
		{"transactional mail ignores email off", Request{UserID: user, Email: "a@b.c", Template: receipt, Data: OrderPaidData{}},
			Preferences{UserID: user, SMS: true}, map[Channel]Status{ChannelEmail: StatusQueued, ChannelSMS: StatusQueued, ChannelPush: StatusSkipped}},
		{"no address", Request{UserID: user, Template: receipt, Data: OrderPaidData{}},
			DefaultPreferences(user), map[Channel]Status{ChannelEmail: StatusSkipped, ChannelSMS: StatusSkipped, ChannelPush: StatusSkipped}},
		{"template that cannot render", Request{UserID: user, Email: "a@b.c", Template: broken, Data: UserData{}},
			DefaultPreferences(user), map[Channel]Status{ChannelEmail: StatusFailed, ChannelSMS: StatusSkipped, ChannelPush: StatusSkipped}},
		{"admins by email only", Request{Email: "ops@b.c", Template: welcome, Data: UserData{}},
			Preferences{}, map[Channel]Status{ChannelEmail: StatusQueued}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.EventID = "e1"
			ds := Plan(tt.req, tt.prefs, uuid.New)
			assert.Equal(t, tt.want, status(ds))
			for _, d := range ds {
				assert.Equal(t, "e1", d.EventID)
				if d.Status == StatusFailed {
					assert.Contains(t, d.LastError, "render: body")
				}
			}
		})
	}
}
