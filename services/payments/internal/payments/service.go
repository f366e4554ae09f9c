package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/contracts"
)

// Service runs the payment flows.
type Service struct {
	store     Store
	cards     CardVault
	providers map[string]Provider
	capturers map[string]Capturer
	taxBPS    int
	recording *recording
}

// NewService returns a Service over store and provider, the default
// payment provider (Stripe), which keeps the saved cards too.
func NewService(store Store, provider CardProvider) *Service {
	return &Service{
		store: store, cards: provider, recording: newRecording(),
		providers: map[string]Provider{contracts.PaymentProviderStripe: provider}, capturers: map[string]Capturer{},
	}
}

// WithProvider adds a provider that orders can choose under name; one
// that is a Capturer has its approved intents captured.
func (s *Service) WithProvider(name string, p Provider) *Service {
	s.providers[name] = p
	if c, ok := p.(Capturer); ok {
		s.capturers[name] = c
	}
	return s
}

// via returns the provider named name (the default one when empty), or
// ErrUnknownProvider.
func (s *Service) via(name string) (Provider, error) {
	p, found := s.providers[providerName(name)]
	if !found {
		return nil, fmt.Errorf("%q: %w", name, ErrUnknownProvider)
	}
	return p, nil
}

// providerName is name, Stripe when empty: payments and events from
// before there was a choice are Stripe's.
func providerName(name string) string {
	if name == "" {
		return contracts.PaymentProviderStripe
	}
	return name
}

// WithTaxRate sets the tax rate, in basis points, included in the prices
// invoices show.
func (s *Service) WithTaxRate(bps int) *Service {
	s.taxBPS = bps
	return s
}

// Methods lists userID's saved cards, the default first.
func (s *Service) Methods(ctx context.Context, userID uuid.UUID) ([]Method, error) {
	return s.store.Methods(ctx, userID)
}

// customer returns userID's provider customer, creating it on first use.
// The idempotency key is the user id, so two first cards saved at once
// make one customer.
func (s *Service) customer(ctx context.Context, userID uuid.UUID, email string) (string, error) {
	id, err := s.store.Customer(ctx, userID)
	if !errors.Is(err, ErrNotFound) {
		return id, err
	}
	id, err = s.cards.CreateCustomer(ctx, userID, email)
	if err != nil {
		return "", err
	}
	return s.store.SaveCustomer(ctx, userID, id)
}

// AddMethod saves the card token (a provider PaymentMethod id) for userID.
func (s *Service) AddMethod(ctx context.Context, userID uuid.UUID, email, token string) (Method, error) {
	customerID, err := s.customer(ctx, userID, email)
	if err != nil {
		return Method{}, err
	}
	id := uuid.New()
	card, err := s.cards.AttachCard(ctx, "pm-attach-"+id.String(), customerID, token)
	if err != nil {
		return Method{}, err
	}
	return s.store.AddMethod(ctx, userID, id, card)
}

// RemoveMethod detaches userID's card id at the provider and forgets it.
func (s *Service) RemoveMethod(ctx context.Context, userID, id uuid.UUID) error {
	m, err := s.store.Method(ctx, userID, id)
	if err != nil {
		return err
	}
	if err := s.cards.DetachCard(ctx, "pm-detach-"+id.String(), m.ProviderID); err != nil {
		return err
	}
	return s.store.DeleteMethod(ctx, userID, id)
}

// MakeDefault makes userID's card id the one charged at checkout.
func (s *Service) MakeDefault(ctx context.Context, userID, id uuid.UUID) (Method, error) {
	return s.store.SetDefault(ctx, userID, id)
}

// ErrBadOrder: an order.created event that can never be charged.
var ErrBadOrder = errors.New("order cannot be charged")

// Charge creates the payment of an order (event eventID): one provider
// intent per order, confirmed at once with the user's default card when
// there is one, recorded as OnIntent decides. A redelivered event finds
// the same intent (the provider call is idempotent per order id) and
// records nothing new. An order
// cancelled before it is charged gets no intent; one cancelled while its
// intent was being created has it cancelled at once.
func (s *Service) Charge(ctx context.Context, eventID string, o contracts.OrderCreatedV1) error {
	if o.OrderID == uuid.Nil || o.UserID == uuid.Nil || o.TotalCents <= 0 || len(o.Currency) != 3 {
		return fmt.Errorf("order %s: %w", o.OrderID, ErrBadOrder)
	}
	provider, err := s.via(o.PaymentProvider)
	if err != nil {
		return fmt.Errorf("order %s: %w: %w", o.OrderID, ErrBadOrder, err)
	}
	payer, err := s.store.Payer(ctx, o.OrderID, o.UserID)
	if err != nil || payer.OrderCancelled {
		return err
	}
	req := IntentRequest{OrderID: o.OrderID, UserID: o.UserID, AmountCents: o.TotalCents, Currency: o.Currency}
	// Saved cards are the default provider's; a PayPal buyer approves at PayPal.
	if payer.Card != nil && providerName(o.PaymentProvider) == contracts.PaymentProviderStripe {
		req.CustomerID, req.CardID = payer.CustomerID, payer.Card.ProviderID
	}
	intent, err := provider.CreateIntent(ctx, req)
	if err != nil {
		return err
	}
	recorded := s.recording.start(intent.ID)
	p, err := s.store.RecordPayment(ctx, o.OrderID, eventID, OnIntent(newPayment(uuid.New(), o, intent)))
	recorded()
	if err != nil || !p.OrderCancelled {
		return err
	}
	return s.closeCancelled(ctx, p)
}

// Settle applies a verified provider webhook: the verdict on an intent
// settles its payment, once per event id; an intent the customer approved
// is captured first, and the capture's verdict applied. Other events are
// acknowledged and ignored. ErrUnknownIntent asks the provider to deliver it again.
// The verdict on the payment of a cancelled order closes it instead of
// paying the order: a success is refunded, a failure has its intent
// cancelled. That runs for a redelivered event too, so a provider outage
// on the way is retried with the webhook. A webhook that overtakes the
// recording of its payment on this instance (the provider sends it as it
// confirms the intent) waits for the recording rather than bouncing.
func (s *Service) Settle(ctx context.Context, evt WebhookEvent) error {
	if evt.Intent == nil {
		return nil
	}
	intent := *evt.Intent
	if intent.Status == IntentAwaitingCapture {
		p, err := s.store.PaymentOfIntent(ctx, intent.ID)
		if errors.Is(err, ErrUnknownIntent) && s.recording.wait(ctx, intent.ID) {
			p, err = s.store.PaymentOfIntent(ctx, intent.ID)
		}
		if err != nil {
			return err
		}
		if intent, err = s.capture(ctx, p); err != nil {
			return err
		}
	}
	status, settled := intent.Settled()
	if !settled {
		return nil
	}
	p, err := s.applyVerdict(ctx, intent.ID, evt.ID, evt.Type, status, intent.FailureMessage)
	if errors.Is(err, ErrUnknownIntent) && s.recording.wait(ctx, intent.ID) {
		p, err = s.applyVerdict(ctx, intent.ID, evt.ID, evt.Type, status, intent.FailureMessage)
	}
	if err != nil || !p.OrderCancelled {
		return err
	}
	return s.closeCancelled(ctx, p)
}

// Invoices lists an order's invoices.
func (s *Service) Invoices(ctx context.Context, orderID uuid.UUID) ([]Invoice, error) {
	return s.store.Invoices(ctx, orderID)
}

// Invoice returns an invoice, or ErrInvoiceNotFound.
func (s *Service) Invoice(ctx context.Context, id uuid.UUID) (Invoice, error) {
	return s.store.Invoice(ctx, id)
}

// PaymentsOfOrder lists an order's payments with their refunds.
func (s *Service) PaymentsOfOrder(ctx context.Context, orderID uuid.UUID) ([]Payment, error) {
	return s.store.PaymentsOfOrder(ctx, orderID)
}

// Topics payments publishes, named here for its store.
const (
	TopicPaymentCreated   = contracts.TopicPaymentCreated
	TopicPaymentSucceeded = contracts.TopicPaymentSucceeded
	TopicPaymentFailed    = contracts.TopicPaymentFailed
	TopicPaymentRefunded  = contracts.TopicPaymentRefunded
)

// capture captures the approved intent of payment p, once (the key is the
// intent's). A payment settled or cancelled meanwhile is left alone: the
// Intent returned then settles nothing, and the order stays unpaid.
func (s *Service) capture(ctx context.Context, p Payment) (Intent, error) {
	capturer, found := s.capturers[providerName(p.Provider)]
	if !found || p.Status.Final() || p.OrderCancelled {
		return Intent{ID: p.IntentID}, nil
	}
	return capturer.Capture(ctx, "capture-"+p.IntentID, p.IntentID)
}
