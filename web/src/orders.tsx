import { useEffect, useState } from 'preact/hooks';
import { api, money, type Order, type OrderPage } from './api';
import { ErrorLine } from './ui';

const statusText: Record<Order['status'], string> = {
  pending_payment: 'waiting for payment',
  paid: 'paid',
  shipped: 'shipped',
  delivered: 'delivered',
  cancelled: 'cancelled',
  refunded: 'refunded',
};

export function OrdersView() {
  const [page, setPage] = useState<OrderPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.orders().then(setPage, setError);
  }, []);
  return (
    <main>
      <h1 tabIndex={-1}>Orders</h1>
      <ErrorLine error={error} />
      {page && page.items.length === 0 && <p>No orders yet.</p>}
      {page && page.items.length > 0 && (
        <ul class="lines" aria-label="Your orders">
          {page.items.map((o) => (
            <li key={o.id}>
              <a href={`#/orders/${o.id}`}>{new Date(o.created_at).toLocaleString()}</a> · {money(o.total_cents, o.currency)} ·{' '}
              {statusText[o.status]}
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}

// While the payment is under way the order is read again every second, so
// that it turns paid (or cancelled) on the page by itself.
const pollMillis = 1000;

export function OrderView({ id }: { id: string }) {
  const [order, setOrder] = useState<Order | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let live = true;
    const load = async () => {
      try {
        const o = await api.order(id);
        if (!live) return;
        setOrder(o);
        setError(null);
        if (o.status === 'pending_payment') timer = setTimeout(load, pollMillis);
      } catch (e) {
        if (!live) return;
        setError(e);
        timer = setTimeout(load, pollMillis * 3);
      }
    };
    load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id]);
  return (
    <main>
      <h1 tabIndex={-1}>Order</h1>
      <ErrorLine error={error} />
      {order && (
        <>
          <p>
            Status:{' '}
            <strong role="status" data-testid="order-status" class={`status ${order.status}`}>
              {statusText[order.status]}
            </strong>
          </p>
          <table class="lines">
            <caption class="visually-hidden">Items of the order</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" class="num">
                  Quantity
                </th>
                <th scope="col" class="num">
                  Total
                </th>
              </tr>
            </thead>
            <tbody>
              {order.items.map((l) => (
                <tr key={l.product_id}>
                  <th scope="row">{l.name}</th>
                  <td class="num">{l.quantity}</td>
                  <td class="num">{money(l.line_total_cents, order.currency)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colSpan={2}>
                  Total
                </th>
                <td class="num">{money(order.total_cents, order.currency)}</td>
              </tr>
            </tfoot>
          </table>
          <h2>Shipping to</h2>
          <p>
            {order.shipping_address.name}, {order.shipping_address.line1}, {order.shipping_address.postal_code}{' '}
            {order.shipping_address.city}, {order.shipping_address.country}
          </p>
          <h2>History</h2>
          <ol>
            {order.history.map((h) => (
              <li key={h.at + h.status}>
                {statusText[h.status]} · {new Date(h.at).toLocaleString()}
              </li>
            ))}
          </ol>
        </>
      )}
    </main>
  );
}
