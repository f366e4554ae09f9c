import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, money, type Address, type Cart, type PaymentMethod, type PaymentProvider } from './api';
import { ErrorLine, Field, fieldError, Head } from './ui';

function Lines({ cart, edit }: { cart: Cart; edit?: (productID: string, quantity: number) => void }) {
  return (
    <>
      <table class="lines">
        <caption class="visually-hidden">Items in the cart</caption>
        <Head cols={['Product', 'Quantity', 'Price', 'Total']} num={2} />
        <tbody>
          {cart.items.map((l) => (
            <tr key={l.product_id}>
              <th scope="row">
                <a href={`#/product/${l.product_id}`}>{l.name}</a>
              </th>
              <td>
                {edit ? (
                  <>
                    <input
                      type="number"
                      min={0}
                      max={100}
                      value={l.quantity}
                      aria-label={`Quantity of ${l.name}`}
                      onChange={(e) => edit(l.product_id, Math.max(0, Number(e.currentTarget.value) || 0))}
                    />
                    <button type="button" class="link" onClick={() => edit(l.product_id, 0)} aria-label={`Remove ${l.name}`}>
                      Remove
                    </button>
                  </>
                ) : (
                  l.quantity
                )}
              </td>
              <td class="num">{money(l.unit_price_cents, cart.currency)}</td>
              <td class="num">{money(l.line_total_cents, cart.currency)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={3}>
              Total
            </th>
            <td class="num" data-testid="cart-total">
              {money(cart.total_cents, cart.currency)}
            </td>
          </tr>
        </tfoot>
      </table>
    </>
  );
}

export function CartView() {
  const [cart, setCart] = useState<Cart | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.cart().then(setCart, setError);
  }, []);
  const edit = async (productID: string, quantity: number) => {
    setError(null);
    try {
      setCart(await api.setQuantity(productID, quantity));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <main>
      <h1 tabIndex={-1}>Cart</h1>
      <ErrorLine error={error} />
      {cart && cart.items.length === 0 && (
        <p>
          Your cart is empty. <a href="#/">Find something</a>
        </p>
      )}
      {cart && cart.items.length > 0 && (
        <>
          <Lines cart={cart} edit={edit} />
          <p>
            <a class="button" href="#/checkout">
              Go to checkout
            </a>
          </p>
        </>
      )}
    </main>
  );
}

const addressFields: [keyof Address, string, string][] = [
  ['name', 'Full name', 'name'],
  ['line1', 'Address', 'address-line1'],
  ['city', 'City', 'address-level2'],
  ['postal_code', 'Postal code', 'postal-code'],
  ['country', 'Country code (e.g. GB)', 'country'],
];

export function CheckoutView() {
  const [cart, setCart] = useState<Cart | null>(null);
  const [cards, setCards] = useState<PaymentMethod[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [provider, setProvider] = useState<PaymentProvider>('stripe');
  // One key per attempt: a double click, or a retry after the answer was
  // lost, sends the same key and the API replays the same order. A new
  // attempt starts only after the API answered with a refusal.
  const key = useRef(crypto.randomUUID());
  const inFlight = useRef(false);
  useEffect(() => {
    api.cart().then(setCart, setError);
    api.cards().then(setCards, setError);
  }, []);
  const card = cards?.find((c) => c.default);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const address = Object.fromEntries(addressFields.map(([k]) => [k, String(f.get(k)).trim()])) as unknown as Address;
    setBusy(true);
    setError(null);
    try {
      const order = await api.checkout(address, provider, key.current);
      location.hash = `#/orders/${order.id}`;
    } catch (err) {
      if (err instanceof ApiError) key.current = crypto.randomUUID();
      setError(err);
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const names = [...addressFields.map(([k]) => `shipping_address.${k}`), 'payment_provider'];
  return (
    <main>
      <h1 tabIndex={-1}>Checkout</h1>
      {cart && cart.items.length === 0 && <p>Your cart is empty.</p>}
      {cart && cart.items.length > 0 && <Lines cart={cart} />}
      <form onSubmit={submit} class="form">
        <fieldset>
          <legend>Payment</legend>
          <label>
            <input type="radio" name="payment_provider" value="stripe" checked={provider === 'stripe'} onChange={() => setProvider('stripe')} />{' '}
            Card
          </label>
          <label>
            <input type="radio" name="payment_provider" value="paypal" checked={provider === 'paypal'} onChange={() => setProvider('paypal')} />{' '}
            PayPal
          </label>
          {provider === 'stripe' && cards && !card && (
            <p class="error" role="alert">
              Save a card first: <a href="#/cards">add a payment card</a>.
            </p>
          )}
          {provider === 'stripe' && card && (
            <p>
              Paid with your {card.brand} ending in {card.last4}.
            </p>
          )}
          {provider === 'paypal' && <p>After placing the order, you approve the payment at PayPal.</p>}
          {fieldError(error, 'payment_provider') && (
            <p class="error" role="alert">
              {fieldError(error, 'payment_provider')}
            </p>
          )}
        </fieldset>
        <fieldset>
          <legend>Shipping address</legend>
          {addressFields.map(([k, label, autocomplete]) => (
            <Field
              key={k}
              label={label}
              name={k}
              autoComplete={autocomplete}
              required
              error={fieldError(error, `shipping_address.${k}`)}
            />
          ))}
        </fieldset>
        <ErrorLine error={error} fields={names} />
        <button type="submit" disabled={busy || (provider === 'stripe' && !card) || !cart?.items.length}>
          Place order
        </button>
      </form>
    </main>
  );
}
