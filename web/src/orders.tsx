import { useEffect, useState } from 'preact/hooks';
import { api, money, type Invoice, type Order, type OrderPage } from './api';
import { ErrorLine, Head, useAction } from './ui';

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
        <table class="lines" aria-label="Your orders">
          <Head cols={['Placed', 'Status', 'Total']} num={2} />
          <tbody>
            {page.items.map((o) => (
              <tr key={o.id}>
                <th scope="row">
                  <a href={`#/orders/${o.id}`}>{new Date(o.created_at).toLocaleString()}</a>
                </th>
                <td class={`status ${o.status}`}>{statusText[o.status]}</td>
                <td class="num">{money(o.total_cents, o.currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

// While something is under way (the payment, a refund, the invoice) the
// order is read again every second, so the page changes by itself.
const pollMillis = 1000;

const wasPaid = (o: Order) => o.history.some((h) => h.status === 'paid');

/** What the page reads besides the order: why a payment failed, the invoices. */
interface Extra {
  declined?: string;
  invoices: Invoice[];
}

async function extra(o: Order): Promise<Extra> {
  if (o.status === 'pending_payment') return { invoices: [] };
  if (o.status === 'cancelled' && !wasPaid(o)) {
    const failed = (await api.payments(o.id)).find((p) => p.status === 'failed');
    if (!failed) return { invoices: [] };
    // PayPal's reasons are codes ("capture declined: DECLINED_BY_RISK_FRAUD_FILTERS"), not for people.
    if (o.payment_provider === 'paypal') return { declined: 'PayPal declined the payment.', invoices: [] };
    // Stripe's decline code leads its message ("generic_decline: Your card was declined."): the sentence is for people.
    return { declined: failed.failure_message?.replace(/^[a-z_]+: /, '') || 'Your card was declined.', invoices: [] };
  }
  return { invoices: await api.invoices(o.id) };
}

/** settled says the order and what goes with it will not change without the customer. */
const settled = (o: Order, x: Extra) =>
  !(o.status === 'pending_payment' || (o.status === 'cancelled' && wasPaid(o)) || (o.status === 'paid' && x.invoices.length === 0));

/** download saves the invoice's PDF under its number. */
async function download(inv: Invoice) {
  const url = URL.createObjectURL(await api.invoicePDF(inv.id));
  const a = document.createElement('a');
  a.href = url;
  a.download = `${inv.number}.pdf`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function OrderView({ id }: { id: string }) {
  const [order, setOrder] = useState<Order | null>(null);
  const [x, setX] = useState<Extra>({ invoices: [] });
  const { busy, error, setError, run } = useAction();
  const [reload, setReload] = useState(0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let live = true;
    const load = async () => {
      try {
        const o = await api.order(id);
        const more = await extra(o);
        if (!live) return;
        setOrder(o);
        setX(more);
        setError(null);
        if (!settled(o, more)) timer = setTimeout(load, pollMillis);
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
  }, [id, reload]);

  const cancel = () =>
    run(async () => {
      setOrder(await api.cancel(id));
      setReload((n) => n + 1);
    });

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
          {x.declined && (
            <p class="error" role="alert">
              Payment declined: {x.declined} The order was cancelled and nothing was charged.{' '}
              {order.payment_provider === 'paypal' ? (
                <>
                  <a href="#/">Pay with PayPal again or choose another payment</a> when you order again.
                </>
              ) : (
                <>
                  <a href="#/cards">Use another card</a> and order again.
                </>
              )}
            </p>
          )}
          {order.status === 'pending_payment' && order.payment?.approval_url && (
            <p>
              <a class="button" href={order.payment.approval_url}>
                Pay with PayPal
              </a>
            </p>
          )}
          {order.status === 'cancelled' && wasPaid(order) && <p role="status">Cancelled: your payment is being refunded.</p>}
          {order.status === 'refunded' && <p>Cancelled and refunded in full.</p>}
          {(order.status === 'pending_payment' || order.status === 'paid') && (
            <p>
              <button type="button" class="secondary" disabled={busy} onClick={cancel}>
                Cancel order
              </button>{' '}
              {order.status === 'paid' && <span class="hint-inline">You will be refunded in full.</span>}
            </p>
          )}
          {x.invoices.map((inv) => (
            <p key={inv.id}>
              <button type="button" disabled={busy} onClick={() => run(() => download(inv))}>
                Download invoice {inv.number} (PDF)
              </button>
            </p>
          ))}
          <table class="lines">
            <caption class="visually-hidden">Items of the order</caption>
            <Head cols={['Product', 'Quantity', 'Total']} num={1} />
            <tbody>
              {order.items.map((l) => (
                <tr key={l.product_id}>
                  <th scope="row">
                    <a href={`#/product/${l.product_id}`}>{l.name}</a>
                  </th>
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
          <p>
            <a href="#/orders">All your orders</a>
          </p>
        </>
      )}
    </main>
  );
}
