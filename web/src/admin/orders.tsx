import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, money, type Order, type OrderPage } from '../api';
import { ErrorLine, Field, fieldError } from '../ui';
import { useLoad } from '../page';
import { admin, type OrderStatus, type Payment } from './api';
import { fromCents, Pager, toCents } from './catalog';
import { Done, newKey } from './parts';

const statuses: OrderStatus[] = ['pending_payment', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'];
const label = (s: string) => s.replace('_', ' ');
const short = (id: string) => id.slice(0, 8);

export function OrdersView({ status }: { status: string }) {
  const [page, setPage] = useState<OrderPage | null>(null);
  const [n, setN] = useState(1);
  const [error, setError] = useState<unknown>(null);
  useLoad(
    () => {
      setError(null);
      return admin.orders(status, n);
    },
    setPage,
    setError,
    [status, n],
  );
  return (
    <main>
      <h1 tabIndex={-1}>Orders</h1>
      <div class="field narrow-select">
        <label for="status-filter">Status</label>
        <select
          id="status-filter"
          value={status}
          onChange={(e) => {
            setN(1);
            location.hash = `#/orders${e.currentTarget.value ? `?status=${e.currentTarget.value}` : ''}`;
          }}
        >
          <option value="">Any</option>
          {statuses.map((s) => (
            <option key={s} value={s}>
              {label(s)}
            </option>
          ))}
        </select>
      </div>
      <ErrorLine error={error} />
      {page && page.items.length === 0 && <p>No orders.</p>}
      {page && page.items.length > 0 && (
        <div class="scroll">
          <table class="lines">
            <caption class="visually-hidden">Orders, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Placed</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Total
                </th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((o) => (
                <tr key={o.id}>
                  <th scope="row">
                    <a href={`#/orders/${o.id}`} aria-label={`Order ${o.id}`}>
                      {short(o.id)}
                    </a>
                  </th>
                  <td>{new Date(o.created_at).toLocaleString()}</td>
                  <td>
                    <span class={`badge ${o.status}`}>{label(o.status)}</span>
                  </td>
                  <td class="num">{money(o.total_cents, o.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={n} size={page.page_size} total={page.total} onPage={setN} />
        </div>
      )}
    </main>
  );
}

const actions: { action: 'ship' | 'deliver' | 'cancel'; label: string; from: OrderStatus[] }[] = [
  { action: 'ship', label: 'Mark shipped', from: ['paid'] },
  { action: 'deliver', label: 'Mark delivered', from: ['shipped'] },
  { action: 'cancel', label: 'Cancel order', from: ['pending_payment', 'paid'] },
];

export function OrderView({ id }: { id: string }) {
  const [order, setOrder] = useState<Order | null>(null);
  const [payments, setPayments] = useState<Payment[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const load = () => {
    admin.order(id).then(setOrder, setError);
    admin.payments(id).then(setPayments, setError);
  };
  useEffect(load, [id]);
  const act = async (action: 'ship' | 'deliver' | 'cancel', text: string) => {
    if (action === 'cancel' && !confirm('Cancel this order? A paid order is refunded.')) return;
    setBusy(true);
    setActionError(null);
    setDone('');
    try {
      setOrder(await admin.orderAction(id, action));
      setDone(text);
      admin.payments(id).then(setPayments, setError);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main>
      <h1 tabIndex={-1}>Order {short(id)}</h1>
      <p>
        <a href="#/orders">All orders</a>
      </p>
      <ErrorLine error={error} />
      {order && (
        <>
          <p>
            Status:{' '}
            <strong data-testid="order-status" class={`badge ${order.status}`}>
              {label(order.status)}
            </strong>{' '}
            · {money(order.total_cents, order.currency)} · customer <code>{order.user_id}</code>
          </p>
          <div class="actions">
            {actions
              .filter((a) => a.from.includes(order.status))
              .map((a) => (
                <button key={a.action} type="button" disabled={busy} class={a.action === 'cancel' ? 'danger' : undefined} onClick={() => act(a.action, `Order ${label(a.action === 'ship' ? 'shipped' : a.action === 'deliver' ? 'delivered' : 'cancelled')}.`)}>
                  {a.label}
                </button>
              ))}
          </div>
          <ErrorLine error={actionError} />
          {done && <Done>{done}</Done>}
          <h2>Items</h2>
          <ul>
            {order.items.map((l) => (
              <li key={l.product_id}>
                {l.quantity} × {l.name} · {money(l.line_total_cents, order.currency)}
              </li>
            ))}
          </ul>
          <h2>Payments</h2>
          {payments.length === 0 && <p>No payment yet.</p>}
          {payments.map((p) => (
            <PaymentPanel key={p.id} payment={p} onRefunded={load} />
          ))}
          <h2>Shipping to</h2>
          <p>
            {order.shipping_address.name}, {order.shipping_address.line1}, {order.shipping_address.postal_code} {order.shipping_address.city},{' '}
            {order.shipping_address.country}
          </p>
          <h2>History</h2>
          <ol>
            {order.history.map((h) => (
              <li key={h.at + h.status}>
                {label(h.status)} · {new Date(h.at).toLocaleString()}
              </li>
            ))}
          </ol>
        </>
      )}
    </main>
  );
}

function PaymentPanel({ payment: p, onRefunded }: { payment: Payment; onRefunded: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState('');
  // One key per attempt: a double click or a retry after a lost answer
  // refunds once; a new key only after the API answered.
  const key = useRef(newKey());
  const left = p.amount_cents - p.refunded_cents;
  const refund = async (e: Event) => {
    e.preventDefault();
    const amount = String(new FormData(e.currentTarget as HTMLFormElement).get('amount'));
    setBusy(true);
    setError(null);
    setDone('');
    try {
      const r = await admin.refund(p.id, amount ? toCents(amount, p.currency) : undefined, key.current);
      key.current = newKey();
      setDone(`Refund of ${money(r.amount_cents, r.currency)}: ${r.status}.`);
      onRefunded();
    } catch (err) {
      if (err instanceof ApiError) key.current = newKey();
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel" aria-label={`Payment ${p.payment_intent_id}`}>
      <p>
        {p.payment_intent_id} · <span data-testid="payment-status">{p.status}</span> · {money(p.amount_cents, p.currency)} paid ·{' '}
        <span data-testid="refunded">{money(p.refunded_cents, p.currency)} refunded</span>
      </p>
      {p.refunds.length > 0 && (
        <ul>
          {p.refunds.map((r) => (
            <li key={r.id}>
              Refund {money(r.amount_cents, r.currency)} · {r.status} · {new Date(r.created_at).toLocaleString()}
            </li>
          ))}
        </ul>
      )}
      {p.status === 'succeeded' && left > 0 && (
        <form class="row" onSubmit={refund} aria-label="Refund">
          <Field
            label={`Amount (empty: the rest, ${money(left, p.currency)})`}
            name="amount"
            type="number"
            min="0.01"
            step="0.01"
            max={fromCents(left, p.currency)}
            error={fieldError(error, 'amount_cents')}
          />
          <button type="submit" disabled={busy}>
            Refund
          </button>
        </form>
      )}
      <ErrorLine error={error} fields={['amount_cents']} />
      {done && <Done>{done}</Done>}
    </section>
  );
}
