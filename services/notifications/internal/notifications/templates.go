package notifications

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// ErrTemplateNotFound is returned for a template name the shop has no
// template for.
var ErrTemplateNotFound = apperr.New(apperr.NotFound, "notification template not found")

// Template words one kind of message: Subject and Text are text/template
// sources (the subject line, the SMS and push text), HTML an html/template
// source for the email body, which escapes the data it is given.
type Template struct {
	Name      string
	Subject   string
	HTML      string
	Text      string
	UpdatedAt time.Time
}

// Message is a rendered template.
type Message struct {
	Subject string
	HTML    string
	Text    string
}

// funcs are the helpers every template may call.
var funcs = map[string]any{"money": Money}

// Money formats an amount in minor units, "12.34 USD".
func Money(cents int64, currency string) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, cents/100, cents%100, currency)
}

type parsed struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// parsedTemplates keeps templates parsed by their sources: every message
// of a kind renders the same sources, and parsing them again (and
// html/template's escaping of them on their first execution) cost about a
// tenth of the service's CPU under checkout load. A parsed template
// executes concurrently. An edited template has new sources, so a new
// entry; past maxParsedTemplates the cache starts afresh.
var parsedTemplates = struct {
	sync.Mutex
	m map[[3]string]parsed
}{m: map[[3]string]parsed{}}

const maxParsedTemplates = 64

func (t Template) parse() (parsed, error) {
	key := [3]string{t.Subject, t.HTML, t.Text}
	parsedTemplates.Lock()
	p, ok := parsedTemplates.m[key]
	parsedTemplates.Unlock()
	if ok {
		return p, nil
	}
	p, err := t.parseSources()
	if err != nil {
		return parsed{}, err
	}
	parsedTemplates.Lock()
	defer parsedTemplates.Unlock()
	if len(parsedTemplates.m) >= maxParsedTemplates {
		clear(parsedTemplates.m)
	}
	parsedTemplates.m[key] = p
	return p, nil
}

func (t Template) parseSources() (parsed, error) {
	var p parsed
	var fields []apperr.FieldError
	var err error
	if p.subject, err = texttemplate.New("subject").Funcs(funcs).Parse(t.Subject); err != nil {
		fields = append(fields, apperr.FieldError{Field: "subject", Message: err.Error()})
	}
	if p.html, err = htmltemplate.New("body").Funcs(funcs).Parse(t.HTML); err != nil {
		fields = append(fields, apperr.FieldError{Field: "body", Message: err.Error()})
	}
	if p.text, err = texttemplate.New("text").Funcs(funcs).Parse(t.Text); err != nil {
		fields = append(fields, apperr.FieldError{Field: "text", Message: err.Error()})
	}
	if len(fields) > 0 {
		return parsed{}, apperr.Validation(fields...)
	}
	return p, nil
}

// Validate checks that t parses and renders the data its kind of event
// provides, so a mistyped field name is refused when saved rather than
// failing every delivery later. It returns ErrTemplateNotFound for a name
// no event uses and an apperr.Invalid error naming the failing parts.
func (t Template) Validate() error {
	kind, ok := Kinds[t.Name]
	if !ok {
		return ErrTemplateNotFound
	}
	if strings.TrimSpace(t.Subject) == "" || strings.TrimSpace(t.HTML) == "" {
		return apperr.Validation(apperr.FieldError{Field: "subject", Message: "subject and body are required"})
	}
	_, err := t.Render(kind.Sample)
	return err
}

// Render executes t on data. It returns an apperr.Invalid error naming the
// part that does not parse or does not execute.
func (t Template) Render(data any) (Message, error) {
	p, err := t.parse()
	if err != nil {
		return Message{}, err
	}
	var subject, html, text bytes.Buffer
	var fields []apperr.FieldError
	if err := p.subject.Execute(&subject, data); err != nil {
		fields = append(fields, apperr.FieldError{Field: "subject", Message: err.Error()})
	}
	if err := p.html.Execute(&html, data); err != nil {
		fields = append(fields, apperr.FieldError{Field: "body", Message: err.Error()})
	}
	if err := p.text.Execute(&text, data); err != nil {
		fields = append(fields, apperr.FieldError{Field: "text", Message: err.Error()})
	}
	if len(fields) > 0 {
		return Message{}, apperr.Validation(fields...)
	}
	// A subject is one header line: user data must not start another.
	s := strings.Join(strings.Fields(subject.String()), " ")
	return Message{Subject: s, HTML: html.String(), Text: text.String()}, nil
}

// renderError describes a failed render in one line for the delivery's
// last error.
func renderError(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) && len(ae.Fields) > 0 {
		parts := make([]string, len(ae.Fields))
		for i, f := range ae.Fields {
			parts[i] = f.Field + ": " + f.Message
		}
		return "render: " + strings.Join(parts, "; ")
	}
	return "render: " + err.Error()
}
