package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/daprshop/daprshop/services/products/internal/catalog"
)

// fakeStore records what the service asks of it; settling answers with
// settleErr, as the database would for the reservation's state.
type fakeStore struct {
	catalog.Store
	created   catalog.NewProduct
	settleErr error
	settled   catalog.ReservationStatus
	markErr   error
	placed    uuid.UUID
}

func (f *fakeStore) MarkPlaced(_ context.Context, orderID uuid.UUID) error {
	f.placed = orderID
	return f.markErr
}

func (f *fakeStore) Create(_ context.Context, np catalog.NewProduct) (catalog.Product, error) {
	f.created = np
	return catalog.Product{SKU: np.SKU, Currency: np.Currency}, nil
}

func (f *fakeStore) SettleOnce(_ context.Context, _ string, _ uuid.UUID, to catalog.ReservationStatus, accept func(error) error) (catalog.Reservation, error) {
	f.settled = to
	if f.settleErr != nil {
		return catalog.Reservation{}, accept(f.settleErr)
	}
	return catalog.Reservation{Status: to}, nil
}

func newService(store catalog.Store) *catalog.Service {
	return catalog.NewService(store, slog.New(slog.DiscardHandler))
}

func TestCreateProductCurrency(t *testing.T) {
	for _, tt := range []struct{ name, currency, want string }{
		{"none named is the default", "", catalog.DefaultCurrency},
		{"a named one is kept", "EUR", "EUR"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{}
			p, err := newService(store).CreateProduct(context.Background(), catalog.NewProduct{SKU: "A", Currency: tt.currency})
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.Currency)
			assert.Equal(t, tt.want, store.created.Currency)
		})
	}
}

// cancelled and cancelledPaid are the cancellations of an order before
// and after it was paid.
func cancelled(s *catalog.Service, ctx context.Context, eventID string, orderID uuid.UUID) error {
	return s.OrderCancelled(ctx, eventID, orderID, false)
}

func cancelledPaid(s *catalog.Service, ctx context.Context, eventID string, orderID uuid.UUID) error {
	return s.OrderCancelled(ctx, eventID, orderID, true)
}

// refunded is the refund of an order whose units go back to stock.
func refunded(s *catalog.Service, ctx context.Context, eventID string, orderID uuid.UUID) error {
	return s.OrderRefunded(ctx, eventID, orderID, true)
}

func TestOrderEventsAcknowledgeOnlyWhatRedeliveryCannotChange(t *testing.T) {
	transient := errors.New("connection reset")
	wrapped := func(err error) error { return fmt.Errorf("settle reservation: %w", err) }
	for _, tt := range []struct {
		name    string
		event   func(s *catalog.Service, ctx context.Context, eventID string, orderID uuid.UUID) error
		to      catalog.ReservationStatus
		stored  error
		wantErr error
	}{
		{"paid: committed", (*catalog.Service).OrderPaid, catalog.Committed, nil, nil},
		{"paid: no reservation is acknowledged", (*catalog.Service).OrderPaid, catalog.Committed, wrapped(catalog.ErrNoReservation), nil},
		{"paid: released first is acknowledged", (*catalog.Service).OrderPaid, catalog.Committed, wrapped(catalog.ErrReleased), nil},
		{"paid: a transient fault is retried", (*catalog.Service).OrderPaid, catalog.Committed, transient, transient},
		{"cancelled: released", cancelled, catalog.Released, nil, nil},
		{"cancelled: no reservation is acknowledged", cancelled, catalog.Released, wrapped(catalog.ErrNoReservation), nil},
		{"cancelled: paid first stays committed", cancelled, catalog.Released, wrapped(catalog.ErrCommitted), nil},
		{"cancelled: a transient fault is retried", cancelled, catalog.Released, transient, transient},
		{"cancelled after payment: committed", cancelledPaid, catalog.Committed, nil, nil},
		{"cancelled after payment: no reservation is acknowledged", cancelledPaid, catalog.Committed, wrapped(catalog.ErrNoReservation), nil},
		{"cancelled after payment: released first is acknowledged", cancelledPaid, catalog.Committed, wrapped(catalog.ErrReleased), nil},
		{"cancelled after payment: a transient fault is retried", cancelledPaid, catalog.Committed, transient, transient},
		{"refunded: restocked", refunded, catalog.Restocked, nil, nil},
		{"refunded: no reservation is acknowledged", refunded, catalog.Restocked, wrapped(catalog.ErrNoReservation), nil},
		{"refunded: released before the payment is acknowledged", refunded, catalog.Restocked, wrapped(catalog.ErrReleased), nil},
		{"refunded: still held waits for the payment", refunded, catalog.Restocked, wrapped(catalog.ErrNotCommitted), catalog.ErrNotCommitted},
		{"refunded: a transient fault is retried", refunded, catalog.Restocked, transient, transient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{settleErr: tt.stored}
			err := tt.event(newService(store), context.Background(), "evt-1", uuid.New())
			assert.Equal(t, tt.to, store.settled)
			if tt.wantErr == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

func TestRefundWithoutRestockLeavesTheReservation(t *testing.T) {
	store := &fakeStore{}
	require.NoError(t, newService(store).OrderRefunded(context.Background(), "evt-1", uuid.New(), false))
	assert.Empty(t, store.settled, "nothing settled")
}

func TestOrderPlaced(t *testing.T) {
	transient := errors.New("connection reset")
	for _, tt := range []struct {
		name            string
		stored, wantErr error
	}{
		{"marked", nil, nil},
		{"no reservation is acknowledged", fmt.Errorf("mark placed: %w", catalog.ErrNoReservation), nil},
		{"a transient fault is retried", transient, transient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			order := uuid.New()
			store := &fakeStore{markErr: tt.stored}
			err := newService(store).OrderPlaced(context.Background(), order)
			assert.Equal(t, order, store.placed)
			if tt.wantErr == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

func TestReservationSettles(t *testing.T) {
	for _, tt := range []struct {
		name     string
		from, to catalog.ReservationStatus
		done     bool
		err      error
	}{
		{"commit a held reservation", catalog.Reserved, catalog.Committed, false, nil},
		{"commit again is a no-op", catalog.Committed, catalog.Committed, true, nil},
		{"commit a released one is refused", catalog.Released, catalog.Committed, false, catalog.ErrReleased},
		{"release a held reservation", catalog.Reserved, catalog.Released, false, nil},
		{"release again is a no-op", catalog.Released, catalog.Released, true, nil},
		{"release a committed one is refused", catalog.Committed, catalog.Released, false, catalog.ErrCommitted},
		{"restock a committed reservation", catalog.Committed, catalog.Restocked, false, nil},
		{"restock again is a no-op", catalog.Restocked, catalog.Restocked, true, nil},
		{"restock a held one waits for its commit", catalog.Reserved, catalog.Restocked, false, catalog.ErrNotCommitted},
		{"restock a released one is refused", catalog.Released, catalog.Restocked, false, catalog.ErrReleased},
		{"commit a restocked one is a no-op", catalog.Restocked, catalog.Committed, true, nil},
		{"release a restocked one is refused", catalog.Restocked, catalog.Released, false, catalog.ErrCommitted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			done, err := catalog.Reservation{Status: tt.from}.Settles(tt.to)
			assert.Equal(t, tt.done, done)
			assert.ErrorIs(t, err, tt.err)
		})
	}
}

func TestMergeLinesSumsAndOrdersByProduct(t *testing.T) {
	a := uuid.MustParse("00000000-0000-0000-0000-00000000000a")
	b := uuid.MustParse("00000000-0000-0000-0000-00000000000b")
	got := catalog.MergeLines([]catalog.Line{{ProductID: b, Quantity: 1}, {ProductID: a, Quantity: 2}, {ProductID: b, Quantity: 3}})
	assert.Equal(t, []catalog.Line{{ProductID: a, Quantity: 2}, {ProductID: b, Quantity: 4}}, got)
}

func TestCrossedBelow(t *testing.T) {
	for _, tt := range []struct {
		name                     string
		before, after, threshold int
		want                     bool
	}{
		{"falling below", 5, 4, 5, true},
		{"already below", 4, 3, 5, false},
		{"staying at the threshold", 6, 5, 5, false},
		{"rising", 3, 6, 5, false},
		{"no threshold", 1, 0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, catalog.CrossedBelow(tt.before, tt.after, tt.threshold))
		})
	}
}

func TestEffectiveSort(t *testing.T) {
	for _, tt := range []struct {
		name string
		q    catalog.ListQuery
		want catalog.Sort
	}{
		{"search text defaults to relevance", catalog.ListQuery{Text: "mug"}, catalog.SortRelevance},
		{"no text defaults to newest", catalog.ListQuery{}, catalog.SortNewest},
		{"relevance without text is newest", catalog.ListQuery{Sort: catalog.SortRelevance}, catalog.SortNewest},
		{"an explicit order is kept", catalog.ListQuery{Text: "mug", Sort: catalog.SortPrice}, catalog.SortPrice},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.q.EffectiveSort())
		})
	}
}

func TestCategoryTree(t *testing.T) {
	root, child, orphan := uuid.New(), uuid.New(), uuid.New()
	store := &categoriesStore{flat: []catalog.Category{
		{ID: child, Slug: "mugs", ParentID: &root},
		{ID: root, Slug: "kitchen"},
		{ID: orphan, Slug: "lost", ParentID: new(uuid.New())},
	}}
	roots, err := newService(store).CategoryTree(context.Background())
	require.NoError(t, err)
	require.Len(t, roots, 2, "a category whose parent is missing is a root")
	assert.Equal(t, root, roots[0].ID)
	assert.Equal(t, orphan, roots[1].ID)
	require.Len(t, roots[0].Children, 1)
	assert.Equal(t, child, roots[0].Children[0].ID)
	assert.Empty(t, roots[1].Children)
}

type categoriesStore struct {
	catalog.Store
	flat []catalog.Category
}

func (s *categoriesStore) Categories(context.Context) ([]catalog.Category, error) { return s.flat, nil }
