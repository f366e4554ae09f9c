package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/apiclient"
	"github.com/daprshop/daprshop/services/platform/authn"
)

const mailpitURL = "http://127.0.0.1:8025"

// publishEvent publishes a full CloudEvent with the given id through the
// sidecar of the topic's publisher, so a test can deliver the same event
// twice.
func publishEvent(t *testing.T, topic, id string, data any) {
	t.Helper()
	publishEventAt(t, publishURL(topic), topic, id, data)
}

// publishEventAt publishes a full CloudEvent on topic at url, a sidecar's
// publish endpoint for that topic.
func publishEventAt(t *testing.T, url, topic, id string, data any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "e2e", "type": "com.daprshop." + topic,
		"datacontenttype": "application/json", "data": data,
	})
	require.NoError(t, err)
	resp := call(t, http.MethodPost, url, bytes.NewReader(body),
		"Content-Type", "application/cloudevents+json", "dapr-api-token", sys.env["DAPR_API_TOKEN"])
	require.Equal(t, http.StatusNoContent, resp.Status, "publish %s: %s", topic, resp.Body)
}

type mailSummary struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	Subject   string `json:"Subject"`
}

// mailsTo lists the mails mailpit holds for addr.
func mailsTo(t *testing.T, addr string) []mailSummary {
	t.Helper()
	resp := call(t, http.MethodGet, mailpitURL+"/api/v1/search?query="+url.QueryEscape("to:"+addr), nil)
	require.Equal(t, http.StatusOK, resp.Status, "mailpit: %s", resp.Body)
	var out struct {
		Count    int           `json:"messages_count"`
		Messages []mailSummary `json:"messages"`
	}
	resp.JSON(t, &out)
	require.Equal(t, out.Count, len(out.Messages))
	return out.Messages
}

// waitMails waits until addr has n mails and returns them.
func waitMails(t *testing.T, addr string, n int) []mailSummary {
	t.Helper()
	var got []mailSummary
	require.Eventually(t, func() bool {
		got = mailsTo(t, addr)
		return len(got) >= n
	}, 60*time.Second, 100*time.Millisecond, "%d mails to %s", n, addr)
	require.Len(t, got, n, "mails to %s", addr)
	return got
}

type mail struct {
	Subject string
	HTML    string
	To      []struct{ Address string }
}

func readMail(t *testing.T, id string) mail {
	t.Helper()
	resp := call(t, http.MethodGet, mailpitURL+"/api/v1/message/"+id, nil)
	require.Equal(t, http.StatusOK, resp.Status)
	var m mail
	resp.JSON(t, &m)
	return m
}

func mailWithSubject(t *testing.T, mails []mailSummary, prefix string) mail {
	t.Helper()
	for _, m := range mails {
		if strings.HasPrefix(m.Subject, prefix) {
			return readMail(t, m.ID)
		}
	}
	require.Failf(t, "no mail", "subject %q among %v", prefix, mails)
	return mail{}
}

// waitConsumed waits until the notifications consumer group has been
// handed and has acknowledged every entry of topic's stream, so a test can
// tell "not sent" from "not handled yet".
func waitConsumed(t *testing.T, topic string) {
	t.Helper()
	waitConsumedBy(t, "notifications", topic)
}

// waitConsumedBy waits until app's consumer group (Redis Streams names it
// after the app id) has been handed and has acknowledged every entry of
// topic's stream.
func waitConsumedBy(t *testing.T, app, topic string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	require.Eventually(t, func() bool {
		last, err := rdb.XRevRangeN(ctx(t), topic, "+", "-", 1).Result()
		if err != nil || len(last) == 0 {
			return false
		}
		groups, err := rdb.XInfoGroups(ctx(t), topic).Result()
		if err != nil {
			return false
		}
		for _, g := range groups {
			if g.Name == app {
				return g.LastDeliveredID == last[0].ID && g.Pending == 0
			}
		}
		return false
	}, 60*time.Second, 100*time.Millisecond, "%s consumed %s", app, topic)
}

type customer struct {
	id    uuid.UUID
	email string
	name  string
}

// newCustomer registers a user through the gateway when auth can, and
// otherwise announces one with user.registered as auth would.
func newCustomer(t *testing.T, name string) customer {
	t.Helper()
	c := customer{email: "n-" + uuid.NewString()[:12] + "@example.com", name: name}
	resp, err := api.RegisterWithResponse(ctx(t), apiclient.Registration{Email: c.email, Password: "Corr3ct-Horse-Battery", Name: name})
	require.NoError(t, err)
	if resp.StatusCode() == http.StatusCreated {
		c.id = resp.JSON201.ID
		return c
	}
	t.Logf("register answered %d, publishing user.registered instead", resp.StatusCode())
	c.id = uuid.New()
	publishEvent(t, "user.registered", uuid.NewString(), map[string]string{"user_id": c.id.String(), "email": c.email, "name": name})
	return c
}

func orderPaid(c customer, total int64, invoice string) map[string]any {
	return map[string]any{
		"order_id": uuid.NewString(), "user_id": c.id.String(), "total_cents": total, "currency": "USD", "invoice_number": invoice,
	}
}

func TestNotifications(t *testing.T) {
	ada := newCustomer(t, "Ada Lovelace")

	t.Run("registering delivers a welcome mail with the name", func(t *testing.T) {
		m := mailWithSubject(t, waitMails(t, ada.email, 1), "Welcome")
		assert.Equal(t, "Welcome to daprshop, Ada Lovelace", m.Subject)
		assert.Contains(t, m.HTML, "Hello Ada Lovelace")
		require.Len(t, m.To, 1)
		assert.Equal(t, ada.email, m.To[0].Address)
	})

	t.Run("a paid order delivers a receipt with total and invoice number", func(t *testing.T) {
		paid := orderPaid(ada, 12345, "INV-"+uuid.NewString()[:8])
		publishEvent(t, "order.paid", uuid.NewString(), paid)
		m := mailWithSubject(t, waitMails(t, ada.email, 2), "Receipt")
		assert.Equal(t, "Receipt for order "+paid["order_id"].(string), m.Subject)
		assert.Contains(t, m.HTML, "123.45 USD")
		assert.Contains(t, m.HTML, "Invoice number: "+paid["invoice_number"].(string))
	})

	t.Run("user data in a template is escaped", func(t *testing.T) {
		eve := customer{id: uuid.New(), email: "n-" + uuid.NewString()[:12] + "@example.com", name: `Eve <script>alert(1)</script>`}
		publishEvent(t, "user.registered", uuid.NewString(), map[string]string{"user_id": eve.id.String(), "email": eve.email, "name": eve.name})
		m := readMail(t, waitMails(t, eve.email, 1)[0].ID)
		assert.Contains(t, m.HTML, "Eve &lt;script&gt;alert(1)&lt;/script&gt;")
		assert.NotContains(t, m.HTML, "<script>")
	})

	t.Run("email off: no shipping mail, still the receipt", func(t *testing.T) {
		bob := newCustomer(t, "Bob")
		waitMails(t, bob.email, 1) // welcome, sent before the choice
		userToken := "Bearer " + token(t, bob.id, authn.RoleCustomer)
		resp := call(t, http.MethodPut, gatewayURL+"/api/v1/notifications/preferences", strings.NewReader(`{"email": false, "sms": false, "push": true}`),
			"Content-Type", "application/json", "Authorization", userToken)
		require.Equal(t, http.StatusOK, resp.Status, "%s", resp.Body)

		shipped := map[string]any{"order_id": uuid.NewString(), "user_id": bob.id.String(), "total_cents": 500, "currency": "USD"}
		publishEvent(t, "order.shipped", uuid.NewString(), shipped)
		publishEvent(t, "order.paid", uuid.NewString(), orderPaid(bob, 500, "INV-BOB"))
		mails := waitMails(t, bob.email, 2)
		mailWithSubject(t, mails, "Receipt")
		waitConsumed(t, "order.shipped")
		assert.Len(t, mailsTo(t, bob.email), 2, "no shipping mail")

		// Bob's own list says why: the shipping mail was skipped, its push sent.
		var page struct {
			Items []struct{ Channel, Template, Status string }
		}
		require.Eventually(t, func() bool {
			r := call(t, http.MethodGet, gatewayURL+"/api/v1/notifications?page_size=100", nil, "Authorization", userToken)
			r.JSON(t, &page)
			n := 0
			for _, it := range page.Items {
				if it.Template == "order_shipped" && (it.Channel == "email" && it.Status == "skipped" || it.Channel == "push" && it.Status == "sent") {
					n++
				}
			}
			return n == 2
		}, 30*time.Second, 100*time.Millisecond, "deliveries %+v", page.Items)
		var sunk []struct{ Body struct{ To, Template string } }
		r := call(t, http.MethodGet, "http://127.0.0.1:8090/messages?path=/push", nil)
		r.JSON(t, &sunk)
		found := false
		for _, m := range sunk {
			found = found || (m.Body.To == bob.id.String() && m.Body.Template == "order_shipped")
		}
		assert.True(t, found, "the push reached the provider sink")
	})

	t.Run("a redelivered event sends one mail", func(t *testing.T) {
		carl := newCustomer(t, "Carl")
		waitMails(t, carl.email, 1)
		id := uuid.NewString()
		paid := orderPaid(carl, 999, "INV-CARL")
		publishEvent(t, "order.paid", id, paid)
		publishEvent(t, "order.paid", id, paid)
		waitMails(t, carl.email, 2)
		waitConsumed(t, "order.paid")
		mails := mailsTo(t, carl.email)
		assert.Len(t, mails, 2, "welcome and one receipt")
		var delivery string
		require.NoError(t, connect(t, "notifications").QueryRow(ctx(t),
			`SELECT id::text FROM deliveries WHERE event_id = $1 AND channel = 'email'`, id).Scan(&delivery))
		for _, m := range mails {
			if strings.HasPrefix(m.Subject, "Receipt for order") {
				assert.Equal(t, delivery+"@daprshop.local", m.MessageID, "the receipt is named by its delivery, on every send")
			}
		}
	})

	t.Run("SMTP down: the receipt is retried and sent when it returns", func(t *testing.T) {
		mailpit := ownedServers["mailpit"]
		require.NotNil(t, mailpit, "the suite must own mailpit to stop it")
		dora := newCustomer(t, "Dora")
		waitMails(t, dora.email, 1)
		require.NoError(t, mailpit.Process.Signal(syscall.SIGTERM))
		_ = mailpit.Wait()
		require.False(t, listening("127.0.0.1:1025"))

		paid := orderPaid(dora, 4200, "INV-DORA")
		eventID := uuid.NewString()
		publishEvent(t, "order.paid", eventID, paid)
		db := connect(t, "notifications")
		require.Eventually(t, func() bool {
			var attempts int
			var status string
			err := db.QueryRow(ctx(t), `SELECT status, attempts FROM deliveries WHERE event_id = $1 AND channel = 'email'`, eventID).
				Scan(&status, &attempts)
			return err == nil && status == "queued" && attempts >= 2
		}, 60*time.Second, 100*time.Millisecond, "the send failed and was retried")

		cmd, err := launch(sys.root, devServers[0])
		require.NoError(t, err)
		ownedServers["mailpit"] = cmd
		// The mailbox outlives the restart: the welcome is still there.
		var subjects []string
		for _, m := range waitMails(t, dora.email, 2) {
			subjects = append(subjects, m.Subject)
			if strings.HasPrefix(m.Subject, "Receipt for order") {
				assert.Contains(t, readMail(t, m.ID).HTML, "42.00 USD")
			}
		}
		assert.ElementsMatch(t, []string{"Welcome to daprshop, Dora", "Receipt for order " + paid["order_id"].(string)}, subjects)
		var status string
		var attempts int
		require.Eventually(t, func() bool {
			err := db.QueryRow(ctx(t), `SELECT status, attempts FROM deliveries WHERE event_id = $1 AND channel = 'email'`, eventID).
				Scan(&status, &attempts)
			return err == nil && status == "sent"
		}, 10*time.Second, 50*time.Millisecond, "the receipt is recorded sent")
		assert.Greater(t, attempts, 2)
	})
}

// BenchmarkNotifications is a bounded load run: 8 publishers put 1000
// order.paid events (customers known from user.registered) on the
// gateway's sidecar as fast as it takes them; it reports the events/s
// notifications turned into mails accepted by mailpit (first publish to
// last sent_at) and the event-to-mail latency (publish call start to the
// delivery's sent_at) p50/p99.
//
//	go test -run '^$' -bench Notifications -benchtime 1x ./e2e
func BenchmarkNotifications(b *testing.B) {
	const (
		events     = 1000
		publishers = 8
	)
	users := make([]uuid.UUID, 20)
	for i := range users {
		users[i] = uuid.New()
		require.NoError(b, benchPublish("user.registered", uuid.NewString(), map[string]string{
			"user_id": users[i].String(), "email": fmt.Sprintf("load-%d-%s@example.com", i, users[i].String()[:8]), "name": "Load"}))
	}
	publishedAt := make(map[string]time.Time, events)
	ids := make(chan string, events)
	for i := 0; i < events; i++ {
		ids <- uuid.NewString()
	}
	close(ids)
	type stamp struct {
		id string
		at time.Time
	}
	stamps := make(chan stamp, events)
	start := time.Now()
	done := make(chan error, publishers)
	for p := 0; p < publishers; p++ {
		go func() {
			i := 0
			for id := range ids {
				at := time.Now()
				if err := benchPublish("order.paid", id, map[string]any{
					"order_id": uuid.NewString(), "user_id": users[i%len(users)].String(), "total_cents": 1000, "currency": "USD"}); err != nil {
					done <- err
					return
				}
				stamps <- stamp{id, at}
				i++
			}
			done <- nil
		}()
	}
	for p := 0; p < publishers; p++ {
		require.NoError(b, <-done)
	}
	close(stamps)
	all := make([]string, 0, events)
	for s := range stamps {
		publishedAt[s.id] = s.at
		all = append(all, s.id)
	}
	published := time.Since(start)

	conn, err := pgx.Connect(context.Background(), databaseURL("notifications"))
	require.NoError(b, err)
	defer conn.Close(context.Background())
	sent := waitMailed(b, conn, all, 5*time.Minute, 200*time.Millisecond)
	lat := make([]time.Duration, 0, events)
	last := start
	for id, at := range sent {
		lat = append(lat, at.Sub(publishedAt[id]))
		if at.After(last) {
			last = at
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(events)/last.Sub(start).Seconds(), "events/s")
	b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
	b.Logf("%d events published in %s by %d publishers; all mailed %s after the first publish",
		events, published.Round(time.Millisecond), publishers, last.Sub(start).Round(time.Millisecond))
}

// waitMailed polls notifications' deliveries until each event of ids has
// its mail sent, and returns when each was.
func waitMailed(b *testing.B, conn *pgx.Conn, ids []string, timeout, every time.Duration) map[string]time.Time {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sent := map[string]time.Time{}
		rows, err := conn.Query(context.Background(), `SELECT event_id, sent_at FROM deliveries
			WHERE channel = 'email' AND status = 'sent' AND event_id = ANY($1)`, ids)
		require.NoError(b, err)
		for rows.Next() {
			var id string
			var at time.Time
			require.NoError(b, rows.Scan(&id, &at))
			sent[id] = at
		}
		require.NoError(b, rows.Err())
		if len(sent) == len(ids) {
			return sent
		}
		require.False(b, time.Now().After(deadline), "%d of %d events mailed within %s", len(sent), len(ids), timeout)
		<-time.After(every)
	}
}

// BenchmarkEventToMailIdle measures event-to-mail latency on an idle
// system: one order.paid at a time, the next published once the previous
// one's receipt has gone to the SMTP server.
func BenchmarkEventToMailIdle(b *testing.B) {
	const events = 100
	user := uuid.New()
	require.NoError(b, benchPublish("user.registered", uuid.NewString(), map[string]string{
		"user_id": user.String(), "email": "idle-" + user.String()[:8] + "@example.com", "name": "Idle"}))
	conn, err := pgx.Connect(context.Background(), databaseURL("notifications"))
	require.NoError(b, err)
	defer conn.Close(context.Background())
	lat := make([]time.Duration, 0, events)
	for range events {
		id := uuid.NewString()
		at := time.Now()
		require.NoError(b, benchPublish("order.paid", id, map[string]any{
			"order_id": uuid.NewString(), "user_id": user.String(), "total_cents": 1000, "currency": "USD"}))
		sent := waitMailed(b, conn, []string{id}, time.Minute, 2*time.Millisecond)
		lat = append(lat, sent[id].Sub(at))
	}
	reportLatencies(b, "event → mail, idle", lat)
}

// benchPublish is publishEvent for load runs, safe to call from several
// goroutines.
func benchPublish(topic, id string, data any) error {
	body, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "e2e", "type": "com.daprshop." + topic,
		"datacontenttype": "application/json", "data": data,
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, publishURL(topic), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("dapr-api-token", sys.env["DAPR_API_TOKEN"])
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("publish %s: status %d", topic, resp.StatusCode)
	}
	return nil
}
