package orders

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/daprshop/daprshop/services/platform/apperr"
)

// Cart limits.
const (
	MaxLineQuantity = 100
	MaxCartLines    = 50
)

// Cart errors.
var (
	ErrNotInCart    = apperr.New(apperr.NotFound, "the product is not in the cart")
	ErrLineQuantity = apperr.Validation(apperr.FieldError{Field: "quantity", Message: fmt.Sprintf("a line holds at most %d", MaxLineQuantity)})
	ErrCartFull     = apperr.Validation(apperr.FieldError{Field: "product_id", Message: fmt.Sprintf("a cart holds at most %d products", MaxCartLines)})
)

// CartLine is a product in a cart; prices are looked up when the cart is
// read, never stored.
type CartLine struct {
	ProductID uuid.UUID `json:"product_id"`
	Quantity  int       `json:"quantity"`
}

// Cart is a customer's cart as stored.
type Cart struct {
	Lines []CartLine `json:"lines"`
}

// CartStore keeps one cart per user with optimistic concurrency: Load
// returns an ETag (one standing for "no cart yet" when the user has none)
// and Save and Delete return ErrCartChanged when the cart changed since
// that ETag was read. Delete with an empty ETag removes any version.
type CartStore interface {
	Load(ctx context.Context, userID uuid.UUID) (Cart, string, error)
	Save(ctx context.Context, userID uuid.UUID, c Cart, etag string) error
	Delete(ctx context.Context, userID uuid.UUID, etag string) error
}

// Product is what the cart needs to know of a catalog product.
type Product struct {
	ID         uuid.UUID
	Name       string
	PriceCents int64
	Currency   string
	Active     bool
}

// Catalog reads products; Product returns ErrUnknownProduct when there is
// no such product.
type Catalog interface {
	Product(ctx context.Context, id uuid.UUID) (Product, error)
}

// CartView is a cart priced with the catalog's current prices.
type CartView struct {
	Items      []CartItem
	TotalCents int64
	Currency   string
}

// CartItem is a priced cart line.
type CartItem struct {
	ProductID      uuid.UUID
	Name           string
	Quantity       int
	UnitPriceCents int64
	LineTotalCents int64
}

// Carts manages customers' carts.
type Carts struct {
	store   CartStore
	catalog Catalog
}

// NewCarts returns Carts kept in store and priced from catalog.
func NewCarts(store CartStore, catalog Catalog) *Carts { return &Carts{store: store, catalog: catalog} }

// DefaultCurrency prices an empty cart.
const DefaultCurrency = "USD"

// View returns the user's cart priced now. Lines whose product is no
// longer for sale are left out (checkout would refuse them).
func (c *Carts) View(ctx context.Context, userID uuid.UUID) (CartView, error) {
	cart, _, err := c.store.Load(ctx, userID)
	if err != nil {
		return CartView{}, err
	}
	view := CartView{Items: []CartItem{}, Currency: DefaultCurrency}
	for _, l := range cart.Lines {
		p, err := c.catalog.Product(ctx, l.ProductID)
		if errors.Is(err, ErrUnknownProduct) {
			continue
		}
		if err != nil {
			return CartView{}, err
		}
		if !p.Active {
			continue
		}
		if len(view.Items) == 0 {
			view.Currency = p.Currency
		}
		item := CartItem{ProductID: p.ID, Name: p.Name, Quantity: l.Quantity, UnitPriceCents: p.PriceCents, LineTotalCents: p.PriceCents * int64(l.Quantity)}
		view.Items = append(view.Items, item)
		view.TotalCents += item.LineTotalCents
	}
	return view, nil
}

// Add puts quantity more of product into the cart. ErrUnknownProduct for a
// product not for sale, ErrLineQuantity, ErrCartFull.
func (c *Carts) Add(ctx context.Context, userID, productID uuid.UUID, quantity int) (CartView, error) {
	p, err := c.catalog.Product(ctx, productID)
	if err != nil {
		return CartView{}, err
	}
	if !p.Active {
		return CartView{}, ErrUnknownProduct
	}
	return c.update(ctx, userID, func(cart *Cart) error {
		for i := range cart.Lines {
			if cart.Lines[i].ProductID == productID {
				if cart.Lines[i].Quantity+quantity > MaxLineQuantity {
					return ErrLineQuantity
				}
				cart.Lines[i].Quantity += quantity
				return nil
			}
		}
		if len(cart.Lines) >= MaxCartLines {
			return ErrCartFull
		}
		cart.Lines = append(cart.Lines, CartLine{ProductID: productID, Quantity: quantity})
		return nil
	})
}

// SetQuantity sets a line's quantity; 0 removes it. ErrNotInCart.
func (c *Carts) SetQuantity(ctx context.Context, userID, productID uuid.UUID, quantity int) (CartView, error) {
	return c.update(ctx, userID, func(cart *Cart) error {
		for i := range cart.Lines {
			if cart.Lines[i].ProductID != productID {
				continue
			}
			if quantity == 0 {
				cart.Lines = append(cart.Lines[:i], cart.Lines[i+1:]...)
			} else {
				cart.Lines[i].Quantity = quantity
			}
			return nil
		}
		return ErrNotInCart
	})
}

// Remove takes a product out of the cart. ErrNotInCart.
func (c *Carts) Remove(ctx context.Context, userID, productID uuid.UUID) (CartView, error) {
	return c.SetQuantity(ctx, userID, productID, 0)
}

// Clear empties the cart.
func (c *Carts) Clear(ctx context.Context, userID uuid.UUID) error {
	return c.store.Delete(ctx, userID, "")
}

// maxCartAttempts bounds the retries of a cart write that keeps losing
// the race to concurrent writes of the same cart.
const maxCartAttempts = 8

// update applies change to the latest cart, retrying from a fresh read
// when another write got in first, so concurrent changes all land.
func (c *Carts) update(ctx context.Context, userID uuid.UUID, change func(*Cart) error) (CartView, error) {
	for range maxCartAttempts {
		cart, etag, err := c.store.Load(ctx, userID)
		if err != nil {
			return CartView{}, err
		}
		if err := change(&cart); err != nil {
			return CartView{}, err
		}
		err = c.store.Save(ctx, userID, cart, etag)
		if errors.Is(err, ErrCartChanged) {
			continue
		}
		if err != nil {
			return CartView{}, err
		}
		return c.View(ctx, userID)
	}
	return CartView{}, ErrCartBusy
}
