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
	store    Store
	provider Provider
	taxBPS   int
}

// NewService returns a Service over store and provider.
func NewService(store Store, provider Provider) *Service {
	return &Service{store: store, provider: provider}
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
	id, err = s.provider.CreateCustomer(ctx, userID, email)
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
	card, err := s.provider.AttachCard(ctx, "pm-attach-"+id.String(), customerID, token)
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
	if err := s.provider.DetachCard(ctx, "pm-detach-"+id.String(), m.ProviderID); err != nil {
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
	if cancelled, err := s.store.OrderCancelled(ctx, o.OrderID); err != nil || cancelled {
		return err
	}
	req := IntentRequest{OrderID: o.OrderID, UserID: o.UserID, AmountCents: o.TotalCents, Currency: o.Currency}
	card, err := s.store.DefaultMethod(ctx, o.UserID)
	switch {
	case err == nil:
		if req.CustomerID, err = s.store.Customer(ctx, o.UserID); err != nil {
			return err
		}
		req.CardID = card.ProviderID
	case !errors.Is(err, ErrMethodNotFound):
		return err
	}
	intent, err := s.provider.CreateIntent(ctx, req)
	if err != nil {
		return err
	}
	p, err := s.store.RecordPayment(ctx, o.OrderID, eventID, OnIntent(newPayment(uuid.New(), o, intent)))
	if err != nil || !p.OrderCancelled {
		return err
	}
	return s.closeCancelled(ctx, p)
}

// Settle applies a verified provider webhook: the verdict on an intent
// settles its payment, once per event id. Other events are acknowledged
// and ignored. ErrUnknownIntent asks the provider to deliver it again.
// The verdict on the payment of a cancelled order closes it instead of
// paying the order: a success is refunded, a failure has its intent
// cancelled. That runs for a redelivered event too, so a provider outage
// on the way is retried with the webhook.
func (s *Service) Settle(ctx context.Context, evt WebhookEvent) error {
	if evt.Intent == nil {
		return nil
	}
	status, settled := evt.Intent.Settled()
	if !settled {
		return nil
	}
	p, err := s.applyVerdict(ctx, evt.Intent.ID, evt.ID, evt.Type, status, evt.Intent.FailureMessage)
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
