package orders

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/daprshop/daprshop/services/platform/apperr"
	"github.com/daprshop/daprshop/services/platform/contracts"
)

// Store keeps orders, their history and the checkout requests.
type Store interface {
	List(ctx context.Context, q ListQuery) ([]Order, int, error)
	// Get returns the order or ErrNotFound.
	Get(ctx context.Context, id uuid.UUID) (Detail, error)
	// Transition locks the order, asks decide what to do and applies the
	// change with its events in one transaction. ErrNotFound when there
	// is no such order; decide's error is returned as is.
	Transition(ctx context.Context, id uuid.UUID, decide Decide) (Detail, error)
	// TransitionOnce is Transition in the transaction that records eventID
	// as processed: an event recorded before changes nothing and reports
	// applied false.
	TransitionOnce(ctx context.Context, eventID string, id uuid.UUID, decide Decide) (d Detail, applied bool, err error)
	// ClaimCheckout records c unless (c.UserID, c.Key) is already claimed,
	// and returns the claim on record.
	ClaimCheckout(ctx context.Context, c CheckoutClaim) (CheckoutClaim, error)
	// RunCheckout returns the recorded outcome of claim c with Replayed
	// set; otherwise it calls place and records its outcome, inserting the
	// placed order and its events, in one transaction. place must be
	// idempotent per order id: of concurrent duplicates, the first to
	// record wins and the others replay it.
	RunCheckout(ctx context.Context, c CheckoutClaim, place func(ctx context.Context) (CheckoutOutcome, error)) (CheckoutOutcome, error)
	// PendingBefore lists up to limit orders awaiting payment since before
	// cutoff, oldest first.
	PendingBefore(ctx context.Context, cutoff time.Time, limit int) ([]uuid.UUID, error)
	// SweepAbandonedCheckouts takes, one at a time and each under its row
	// lock, up to limit claims never completed and made before cutoff,
	// calls release with the claim's order id and deletes the claim. A
	// retry of such a checkout still in flight then fails to record.
	SweepAbandonedCheckouts(ctx context.Context, cutoff time.Time, limit int, release func(ctx context.Context, orderID uuid.UUID) error) (int, error)
}

// Line is a product and a quantity to reserve.
type Line struct {
	ProductID uuid.UUID
	Quantity  int
}

// Reservation is the stock products holds for an order, priced.
type Reservation struct {
	Status string // "reserved" while held
	Lines  []ReservedLine
}

// ReservedLine is one reserved product with its price at reservation time.
type ReservedLine struct {
	ProductID      uuid.UUID
	Name           string
	Quantity       int
	UnitPriceCents int64
	Currency       string
}

// Reservation statuses that checkout tells apart.
const (
	reservationHeld     = "reserved" // neither committed nor released
	reservationReleased = "released"
)

// InsufficientStockError is a refused reservation: nothing was reserved.
type InsufficientStockError struct{ ProductIDs []uuid.UUID }

func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("insufficient stock for %d products", len(e.ProductIDs))
}

// Reserver holds stock for an order. Reserve is idempotent per order id:
// calling it again answers the first reservation. It returns
// *InsufficientStockError when a line cannot be met.
type Reserver interface {
	Reserve(ctx context.Context, orderID uuid.UUID, lines []Line) (Reservation, error)
	// Release gives back the stock held for orderID; nothing held is no
	// error.
	Release(ctx context.Context, orderID uuid.UUID) error
}

// Products is what checkout needs of the products service: the catalog's
// prices, to refuse an order its payment provider could not charge before
// anything is reserved, and the reservation.
type Products interface {
	Catalog
	Reserver
}

// CheckoutCommand is a customer's checkout request.
type CheckoutCommand struct {
	UserID uuid.UUID
	Email  string
	// Key is the client's Idempotency-Key; RequestHash identifies the
	// request body, so a reused key with another body is refused.
	Key         string
	RequestHash string
	Address     Address
	// PaymentProvider is contracts.PaymentProviderStripe (when empty) or
	// PaymentProviderPayPal.
	PaymentProvider string
}

// CheckoutClaim is the record of a checkout request, made before any work:
// OrderID is fixed there, so a request that crashed half-way is finished
// by its retry under the same order id (and the same reservation).
type CheckoutClaim struct {
	UserID      uuid.UUID
	Key         string
	RequestHash string
	OrderID     uuid.UUID
	// New reports that this request made the claim: no earlier attempt
	// under the key can have reserved stock.
	New bool
}

// CheckoutOutcome is the recorded answer to a checkout request: the placed
// order, the products short of stock, the total the payment provider
// cannot take, or a reservation of two currencies.
type CheckoutOutcome struct {
	Order           *Detail     `json:"order,omitempty"`
	ShortProductIDs []uuid.UUID `json:"short_product_ids,omitempty"`
	NotPayable      *Unpayable  `json:"not_payable,omitempty"`
	MixedCurrencies bool        `json:"mixed_currencies,omitempty"`
	// Events go out with a placed order; Replayed marks an outcome read
	// back from an earlier request. Neither is recorded.
	Events   []Event `json:"-"`
	Replayed bool    `json:"-"`
}

// CodeInsufficientStock is the problem code of a checkout refused for lack
// of stock.
const CodeInsufficientStock = "insufficient_stock"

// Unpayable is a total a payment provider cannot take.
type Unpayable struct {
	Provider   string `json:"provider"`
	Currency   string `json:"currency"`
	TotalCents int64  `json:"total_cents"`
}

// Err is the error a refused checkout answers with, nil for a placed order.
func (o CheckoutOutcome) Err() error {
	switch {
	case o.Order != nil:
		return nil
	case o.NotPayable != nil:
		return notPayable(*o.NotPayable)
	case o.MixedCurrencies:
		return ErrMixedCurrencies
	}
	return &apperr.Error{
		Kind: apperr.Conflict, Code: CodeInsufficientStock, Message: "not enough stock for some products",
		Extra: map[string]any{"product_ids": o.ShortProductIDs},
	}
}

// orderIDSpace namespaces the order ids derived from idempotency keys.
var orderIDSpace = uuid.MustParse("6f0c2a8e-4d5b-4f7e-9a43-0b1d2c3e4f50")

// OrderIDFor is the id of the order a user's checkout with key places.
func OrderIDFor(userID uuid.UUID, key string) uuid.UUID {
	return uuid.NewSHA1(orderIDSpace, []byte(userID.String()+"\x00"+key))
}

// Service runs checkout and the order state machine.
type Service struct {
	store          Store
	carts          CartStore
	products       Products
	now            func() time.Time
	paymentTimeout time.Duration
}

// NewService returns a Service; unpaid orders expire paymentTimeout after
// they were placed.
func NewService(store Store, carts CartStore, products Products, now func() time.Time, paymentTimeout time.Duration) *Service {
	return &Service{store: store, carts: carts, products: products, now: now, paymentTimeout: paymentTimeout}
}

// List returns the page of orders q selects among those v may see.
func (s *Service) List(ctx context.Context, v Viewer, q ListQuery) ([]Order, int, error) {
	return s.store.List(ctx, q.For(v))
}

// Get returns order id; ErrNotFound when it does not exist or v may not
// see it.
func (s *Service) Get(ctx context.Context, v Viewer, id uuid.UUID) (Detail, error) {
	d, err := s.store.Get(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	if !v.CanSee(d.Order) {
		return Detail{}, ErrNotFound
	}
	return d, nil
}

// Checkout places the order of the caller's cart, once per idempotency
// key: a repeated request answers the recorded outcome. It returns
// ErrKeyReused for a key used with another body, ErrEmptyCart,
// ErrMixedCurrencies, ErrNotPayable when the chosen provider cannot
// charge the total in its currency, and the insufficient_stock conflict
// when products cannot reserve every line. A refusal made after reserving
// is recorded, as is one on the prices, and nothing stays reserved behind
// any.
func (s *Service) Checkout(ctx context.Context, cmd CheckoutCommand) (CheckoutOutcome, error) {
	claim, err := s.store.ClaimCheckout(ctx, CheckoutClaim{
		UserID: cmd.UserID, Key: cmd.Key, RequestHash: cmd.RequestHash, OrderID: OrderIDFor(cmd.UserID, cmd.Key),
	})
	if err != nil {
		return CheckoutOutcome{}, err
	}
	if claim.RequestHash != cmd.RequestHash {
		return CheckoutOutcome{}, ErrKeyReused
	}
	var cartETag string
	placed := false // this request built an order on a reservation
	out, err := s.store.RunCheckout(ctx, claim, func(ctx context.Context) (CheckoutOutcome, error) {
		var cart Cart
		var err error
		cart, cartETag, err = s.carts.Load(ctx, cmd.UserID)
		if err != nil {
			return CheckoutOutcome{}, err
		}
		built, err := s.place(ctx, claim, cmd, cart)
		placed = built.Order != nil
		return built, err
	})
	if err != nil {
		return CheckoutOutcome{}, err
	}
	if placed && out.Order == nil {
		// A duplicate under the key recorded a refusal first (its cart or
		// the prices differed): the stock this request reserved belongs to
		// no order, and the claim, complete, is no longer swept.
		if err := s.release(ctx, claim.OrderID); err != nil {
			return CheckoutOutcome{}, err
		}
	}
	if out.Order != nil && !out.Replayed {
		// After commit: a crash before this leaves the cart full, which
		// the customer sees, rather than an emptied cart and no order.
		if err := s.carts.Delete(ctx, cmd.UserID, cartETag); err != nil && !errors.Is(err, ErrCartChanged) {
			return CheckoutOutcome{}, fmt.Errorf("empty cart of user %s: %w", cmd.UserID, err)
		}
	}
	return out, out.Err()
}

// place reserves the cart's stock under the claim's order id and prices
// the order from the reservation. Reserving is idempotent per order id,
// so a retried checkout places the order it reserved for the first time,
// at the prices it reserved at, whatever the cart and catalog hold now:
// only a new claim, which cannot have reserved, is refused on the
// catalog's prices before reserving.
func (s *Service) place(ctx context.Context, claim CheckoutClaim, cmd CheckoutCommand, cart Cart) (CheckoutOutcome, error) {
	if len(cart.Lines) == 0 {
		return CheckoutOutcome{}, ErrEmptyCart
	}
	orderID := claim.OrderID
	provider := cmp.Or(cmd.PaymentProvider, contracts.PaymentProviderStripe)
	if claim.New {
		refused, err := s.unpayable(ctx, provider, cart)
		if err != nil || refused != nil {
			return CheckoutOutcome{NotPayable: refused}, err
		}
	}
	lines := make([]Line, len(cart.Lines))
	for i, l := range cart.Lines {
		lines[i] = Line(l)
	}
	res, err := s.products.Reserve(ctx, orderID, lines)
	var short *InsufficientStockError
	switch {
	case errors.As(err, &short):
		return CheckoutOutcome{ShortProductIDs: short.ProductIDs}, nil
	case err != nil:
		return CheckoutOutcome{}, fmt.Errorf("reserve stock for order %s: %w", orderID, err)
	case res.Status == reservationReleased:
		return CheckoutOutcome{}, ErrCheckoutAbandoned
	case res.Status != reservationHeld || len(res.Lines) == 0:
		return CheckoutOutcome{}, fmt.Errorf("reservation of order %s is %q", orderID, res.Status)
	}
	// Postgres keeps microseconds: a replayed answer must read the same
	// as the order read back.
	now := s.now().UTC().Truncate(time.Microsecond)
	d := Detail{
		Order: Order{
			ID: orderID, UserID: cmd.UserID, Status: StatusPendingPayment, Currency: res.Lines[0].Currency, CreatedAt: now,
			PaymentProvider: provider,
		},
		Items:           make([]Item, len(res.Lines)),
		ShippingAddress: cmd.Address,
		History:         []HistoryEntry{{Status: StatusPendingPayment, At: now}},
	}
	for i, l := range res.Lines {
		if l.Currency != d.Currency {
			return CheckoutOutcome{MixedCurrencies: true}, s.release(ctx, orderID)
		}
		d.Items[i] = Item{ProductID: l.ProductID, Name: l.Name, Quantity: l.Quantity, UnitPriceCents: l.UnitPriceCents}
		d.TotalCents += int64(l.Quantity) * l.UnitPriceCents
	}
	if !contracts.Payable(provider, d.Currency, d.TotalCents) {
		// The prices changed since the catalog was read, or a retry
		// reserved for the first time at new prices. The refusal is
		// recorded, so every retry under the key answers it.
		return CheckoutOutcome{NotPayable: &Unpayable{Provider: provider, Currency: d.Currency, TotalCents: d.TotalCents}},
			s.release(ctx, orderID)
	}
	created := contracts.OrderCreatedV1{
		OrderID: orderID, UserID: cmd.UserID, Email: cmd.Email, TotalCents: d.TotalCents, Currency: d.Currency, Items: eventItems(d.Items),
		PaymentProvider: d.PaymentProvider,
	}
	// The order the store reads them back in.
	slices.SortFunc(d.Items, func(a, b Item) int { return bytes.Compare(a.ProductID[:], b.ProductID[:]) })
	return CheckoutOutcome{Order: &d, Events: []Event{{contracts.TopicOrderCreated, created}}}, nil
}

// release gives back the stock held for orderID, whose checkout is
// refused.
func (s *Service) release(ctx context.Context, orderID uuid.UUID) error {
	if err := s.products.Release(ctx, orderID); err != nil {
		return fmt.Errorf("release stock of order %s: %w", orderID, err)
	}
	return nil
}

// priceLookups bounds the catalog reads one checkout makes at a time.
const priceLookups = 8

// unpayable returns what provider could not charge for the cart at the
// catalog's prices, nil when it can; ErrMixedCurrencies for a cart of two
// currencies. A provider that takes any amount needs no prices. A product
// no longer for sale is left to the reservation, which refuses it
// whatever the provider.
func (s *Service) unpayable(ctx context.Context, provider string, cart Cart) (*Unpayable, error) {
	if !contracts.Restricts(provider) {
		return nil, nil
	}
	products := make([]*Product, len(cart.Lines))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(priceLookups)
	for i, l := range cart.Lines {
		g.Go(func() error {
			p, err := s.products.Product(gctx, l.ProductID)
			switch {
			case errors.Is(err, ErrUnknownProduct) || (err == nil && !p.Active):
				return nil
			case err != nil:
				return fmt.Errorf("price product %s: %w", l.ProductID, err)
			}
			products[i] = &p
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var currency string
	var total int64
	for i, p := range products {
		switch {
		case p == nil:
			continue
		case currency != "" && p.Currency != currency:
			return nil, ErrMixedCurrencies
		}
		currency = p.Currency
		total += int64(cart.Lines[i].Quantity) * p.PriceCents
	}
	if currency == "" || contracts.Payable(provider, currency, total) {
		return nil, nil
	}
	return &Unpayable{Provider: provider, Currency: currency, TotalCents: total}, nil
}

// notPayable is ErrNotPayable for u, saying by the payment_provider field
// what the provider refuses.
func notPayable(u Unpayable) error {
	name := providerName(u.Provider)
	msg := fmt.Sprintf("%s does not take %s; choose another payment", name, u.Currency)
	if contracts.Payable(u.Provider, u.Currency, 0) {
		msg = fmt.Sprintf("%s takes %s in whole units only; choose another payment", name, u.Currency)
	}
	e := *ErrNotPayable
	e.Fields = []apperr.FieldError{{Field: "payment_provider", Message: msg}}
	e.Extra = map[string]any{"currency": u.Currency, "total_cents": u.TotalCents}
	return &e
}

// providerName is how customers know provider.
func providerName(provider string) string {
	switch provider {
	case contracts.PaymentProviderPayPal:
		return "PayPal"
	case contracts.PaymentProviderStripe:
		return "Stripe"
	}
	return provider
}

// Cancel cancels order id for v (its owner or an admin). A paid order's
// cancellation asks payments for a refund. ErrNotFound, ErrInvalidTransition.
func (s *Service) Cancel(ctx context.Context, v Viewer, id uuid.UUID) (Detail, error) {
	return s.store.Transition(ctx, id, func(d Detail) (Change, error) {
		if !v.CanSee(d.Order) {
			return Change{}, ErrNotFound
		}
		reason := contracts.CancelReasonCustomer
		if d.UserID != v.UserID {
			reason = contracts.CancelReasonAdmin
		}
		return moveTo(d, StatusCancelled, reason, s.now())
	})
}

// Ship marks a paid order shipped (admins only, checked by the caller).
func (s *Service) Ship(ctx context.Context, id uuid.UUID) (Detail, error) {
	return s.store.Transition(ctx, id, func(d Detail) (Change, error) { return moveTo(d, StatusShipped, "", s.now()) })
}

// Deliver marks a shipped order delivered (admins only).
func (s *Service) Deliver(ctx context.Context, id uuid.UUID) (Detail, error) {
	return s.store.Transition(ctx, id, func(d Detail) (Change, error) { return moveTo(d, StatusDelivered, "", s.now()) })
}

// expireBatch bounds one expiry run; the schedule runs it again.
const expireBatch = 200

// ExpireUnpaid cancels orders awaiting payment for longer than the payment
// timeout and returns how many it cancelled. Running it twice cancels
// nothing more.
func (s *Service) ExpireUnpaid(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.paymentTimeout)
	ids, err := s.store.PendingBefore(ctx, cutoff, expireBatch)
	if err != nil {
		return 0, err
	}
	cancelled := 0
	for _, id := range ids {
		_, err := s.store.Transition(ctx, id, func(d Detail) (Change, error) {
			// Paid or cancelled since it was listed: nothing to do.
			if d.Status != StatusPendingPayment || !d.CreatedAt.Before(cutoff) {
				return Change{}, nil
			}
			cancelled++
			return moveTo(d, StatusCancelled, contracts.CancelReasonPaymentTimeout, s.now())
		})
		if err != nil {
			return cancelled, fmt.Errorf("expire order %s: %w", id, err)
		}
	}
	return cancelled, nil
}

// abandonAfter is when a checkout that never completed counts as
// abandoned: far beyond any request's timeout, so no attempt is still
// running, yet soon enough that its stock is not held for long.
const abandonAfter = 15 * time.Minute

// ReleaseAbandoned gives back the stock of checkouts that reserved it but
// never placed their order (a crash half-way, never retried) and forgets
// their claims, and says how many it released.
func (s *Service) ReleaseAbandoned(ctx context.Context) (int, error) {
	return s.store.SweepAbandonedCheckouts(ctx, s.now().Add(-abandonAfter), expireBatch, s.products.Release)
}

// Payment statuses recorded from payments' events.
const (
	PaymentCreated   = "requires_payment"
	PaymentSucceeded = "succeeded"
	PaymentFailed    = "failed"
	PaymentRefunded  = "refunded"
)

// OnPayment decides what a payment event on topic does to its order:
// payment.succeeded pays a pending order, payment.failed cancels it,
// payment.refunded closes a cancelled one; every event records the payment
// news. An event arriving when its transition no longer applies (a
// redelivery, or an order already cancelled) records the news only.
func OnPayment(topic string, p PaymentNews, now time.Time) Decide {
	return func(d Detail) (Change, error) {
		pay := d.Payment
		if p.PaymentID != uuid.Nil {
			id := p.PaymentID
			pay.PaymentID = &id
		}
		if p.PaymentIntentID != "" {
			pay.PaymentIntentID = p.PaymentIntentID
		}
		if p.ClientSecret != "" {
			pay.ClientSecret = p.ClientSecret
		}
		if p.ApprovalURL != "" {
			pay.ApprovalURL = p.ApprovalURL
		}
		var from, to Status
		var reason string
		switch topic {
		case contracts.TopicPaymentCreated:
			pay.Status = PaymentCreated
			if p.Status != "" {
				pay.Status = p.Status
			}
		case contracts.TopicPaymentSucceeded:
			pay.Status, from, to = PaymentSucceeded, StatusPendingPayment, StatusPaid
		case contracts.TopicPaymentFailed:
			pay.Status, from, to, reason = PaymentFailed, StatusPendingPayment, StatusCancelled, contracts.CancelReasonPaymentFailed
		case contracts.TopicPaymentRefunded:
			pay.Status, from, to = PaymentRefunded, StatusCancelled, StatusRefunded
		default:
			return Change{}, fmt.Errorf("unknown payment topic %q", topic)
		}
		d.Payment = pay
		if to == "" || d.Status != from {
			return Change{Payment: &pay}, nil
		}
		ch, err := moveTo(d, to, reason, now)
		ch.Payment = &pay
		return withInvoice(ch, p.InvoiceNumber), err
	}
}

// ApplyPayment applies payment event eventID on topic, which tells order
// orderID p, to the order (see OnPayment), once per event id. unpayable
// reports money taken for an order no longer awaiting it (expired first),
// which payments must refund; d is the order as it then stands.
// ErrNotFound when the order does not exist.
func (s *Service) ApplyPayment(ctx context.Context, eventID, topic string, orderID uuid.UUID, p PaymentNews) (d Detail, unpayable bool, err error) {
	d, applied, err := s.store.TransitionOnce(ctx, eventID, orderID, OnPayment(topic, p, s.now()))
	if err != nil {
		return Detail{}, false, err
	}
	return d, applied && topic == contracts.TopicPaymentSucceeded && d.Status != StatusPaid, nil
}

// withInvoice names the invoice in ch's order.paid: payments issues it
// with the payment's success, and the order does not keep it.
func withInvoice(ch Change, number string) Change {
	for i, e := range ch.Events {
		if paid, ok := e.Payload.(contracts.OrderPaidV1); ok {
			paid.InvoiceNumber = number
			ch.Events[i].Payload = paid
		}
	}
	return ch
}
