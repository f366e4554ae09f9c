package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// maxEvents bounds the events kept for redelivery.
const maxEvents = 1000

// deliverer sends webhook events, each until the receiver answers 2xx,
// signed afresh on every attempt (a new transmission id and time), as
// PayPal's retries are.
type deliverer struct {
	opts   options
	client *http.Client

	mu       sync.Mutex
	closed   chan struct{}
	released chan struct{} // closed while deliveries are not held
	events   map[string]sentEvent
	order    []string
	sent     *delivery
	wg       sync.WaitGroup
}

// sentEvent is an event with what it is about, for the test controls.
type sentEvent struct {
	ID        string `json:"id"`
	EventType string `json:"event_type"`
	OrderID   string `json:"order_id"`
	// Acknowledged counts the deliveries the receiver answered 2xx.
	Acknowledged int `json:"acknowledged"`
	body         []byte
}

// delivery is one transmission as sent, for replay tests.
type delivery struct {
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func newDeliverer(opts options) *deliverer {
	released := make(chan struct{})
	close(released)
	return &deliverer{
		opts: opts, client: &http.Client{Timeout: 10 * time.Second},
		closed: make(chan struct{}), released: released, events: map[string]sentEvent{},
	}
}

// Close stops every delivery and waits for them.
func (d *deliverer) Close() {
	d.mu.Lock()
	select {
	case <-d.closed:
	default:
		close(d.closed)
	}
	d.mu.Unlock()
	d.wg.Wait()
}

func (d *deliverer) hold(hold bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.released:
		if hold {
			d.released = make(chan struct{})
		}
	default:
		if !hold {
			close(d.released)
		}
	}
}

// send records an event of typ about resource (of PayPal order orderID)
// and delivers it.
func (d *deliverer) send(typ, orderID, resourceType, summary string, resource any) {
	id := "WH-" + randomID(17) + "-" + randomID(17)
	body, _ := json.Marshal(map[string]any{
		"id": id, "event_version": "1.0", "create_time": time.Now().UTC().Format(time.RFC3339),
		"resource_type": resourceType, "resource_version": "2.0", "event_type": typ, "summary": summary, "resource": resource,
	})
	d.mu.Lock()
	d.events[id] = sentEvent{ID: id, EventType: typ, OrderID: orderID, body: body}
	d.order = append(d.order, id)
	if len(d.order) > maxEvents {
		delete(d.events, d.order[0])
		d.order = d.order[1:]
	}
	d.mu.Unlock()
	d.start(id, body)
}

func (d *deliverer) redeliver(id string) bool {
	d.mu.Lock()
	evt, found := d.events[id]
	d.mu.Unlock()
	if found {
		d.start(id, evt.body)
	}
	return found
}

// about lists the events about PayPal order orderID, oldest first.
func (d *deliverer) about(orderID string) []sentEvent {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []sentEvent{}
	for _, id := range d.order {
		if evt := d.events[id]; evt.OrderID == orderID {
			out = append(out, evt)
		}
	}
	return out
}

func (d *deliverer) last() (delivery, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sent == nil {
		return delivery{}, false
	}
	return *d.sent, true
}

func (d *deliverer) start(id string, body []byte) {
	if d.opts.WebhookURL == "" {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		wait := d.opts.RetryDelay
		for {
			d.mu.Lock()
			released, closed := d.released, d.closed
			d.mu.Unlock()
			select {
			case <-closed:
				return
			case <-released:
			}
			if d.post(body) {
				d.acknowledged(id)
				return
			}
			select {
			case <-closed:
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, maxRetryDelay)
		}
	}()
}

func (d *deliverer) acknowledged(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if evt, found := d.events[id]; found {
		evt.Acknowledged++
		d.events[id] = evt
	}
}

// post transmits body once, with PayPal's transmission headers, and
// reports whether the receiver took it.
func (d *deliverer) post(body []byte) bool {
	tid := make([]byte, 16)
	_, _ = rand.Read(tid)
	transmissionID := hex.EncodeToString(tid)
	transmissionTime := time.Now().UTC().Format(time.RFC3339)
	sig, err := d.opts.Signer.sign(transmissionID, transmissionTime, d.opts.WebhookID, body)
	if err != nil {
		d.opts.Log.Error("sign webhook", "err", err)
		return false
	}
	headers := map[string]string{
		"Content-Type":             "application/json",
		"PAYPAL-TRANSMISSION-ID":   transmissionID,
		"PAYPAL-TRANSMISSION-TIME": transmissionTime,
		"PAYPAL-TRANSMISSION-SIG":  sig,
		"PAYPAL-AUTH-ALGO":         "SHA256withRSA",
		// PayPal's host, as on PayPal: the receiver fetches the path
		// through its own way to PayPal (here, this emulator).
		"PAYPAL-CERT-URL":     "https://api.sandbox.paypal.com/v1/notifications/certs/" + d.opts.Signer.name,
		"PAYPAL-AUTH-VERSION": "v2",
	}
	req, err := http.NewRequest(http.MethodPost, d.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return false
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.opts.Log.Info("webhook not delivered", "err", err)
		return false
	}
	resp.Body.Close()
	d.mu.Lock()
	d.sent = &delivery{Headers: headers, Body: string(body)}
	d.mu.Unlock()
	if resp.StatusCode/100 != 2 {
		d.opts.Log.Info("webhook refused", "status", resp.StatusCode)
		return false
	}
	return true
}
