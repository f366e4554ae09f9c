import { useEffect, useState } from 'preact/hooks';
import { money } from '../api';
import { ErrorLine, Field, fieldError } from '../ui';
import { useLoad } from '../page';
import { admin, type DaySales } from './api';

const dayMillis = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
const validDay = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));

/** days lists every UTC day from from to to, at most a year of them. */
function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to) && out.length < 366; t += dayMillis) out.push(isoDay(t));
  return out;
}

/** niceMax rounds max up to 1, 2 or 5 times a power of ten, for round ticks. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].find((m) => m * p >= max) ?? 10) * p;
}

export function SalesView({ from, to }: { from: string; to: string }) {
  const today = isoDay(Date.now());
  const end = validDay(to) ? to : today;
  const start = validDay(from) ? from : isoDay(Date.parse(end) - 13 * dayMillis);
  const [sales, setSales] = useState<DaySales[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const [width, setWidth] = useState(innerWidth);
  useEffect(() => {
    const on = () => setWidth(innerWidth);
    addEventListener('resize', on);
    return () => removeEventListener('resize', on);
  }, []);
  useLoad(
    () => {
      setError(null);
      return admin.sales(start, end);
    },
    setSales,
    setError,
    [start, end, tick],
  );
  const show = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    // Showing a range reads its figures again, even the range on screen.
    setTick(tick + 1);
    location.hash = `#/sales?from=${f.get('from')}&to=${f.get('to')}`;
  };
  const last = (n: number) => `#/sales?from=${isoDay(Date.now() - (n - 1) * dayMillis)}&to=${today}`;
  return (
    <main>
      <h1 tabIndex={-1}>Sales</h1>
      <form class="row range" onSubmit={show} aria-label="Date range" key={start + end}>
        <Field label="From" name="from" type="date" defaultValue={start} max={today} required error={fieldError(error, 'from')} />
        <Field label="To" name="to" type="date" defaultValue={end} max={today} required error={fieldError(error, 'to')} />
        <button type="submit">Show</button>
        <span class="quick">
          Last <a href={last(7)}>7</a> · <a href={last(30)}>30</a> · <a href={last(90)}>90</a> days
        </span>
      </form>
      <ErrorLine error={error} fields={['from', 'to']} />
      {sales && <Chart sales={sales} from={start} to={end} width={width} />}
    </main>
  );
}

// The plot's geometry, in SVG user units. The SVG scales to its box, and
// is drawn for about the width it gets, so that its text stays legible on
// a phone.
const H = 320;
const M = { top: 28, right: 44, bottom: 44, left: 76 };
const plotH = H - M.top - M.bottom;

function Chart({ sales, from, to, width }: { sales: DaySales[]; from: string; to: string; width: number }) {
  const W = Math.max(340, Math.min(720, width - 32));
  const plotW = W - M.left - M.right;
  const byDay = new Map(sales.map((s) => [s.date, s]));
  const all = days(from, to).map((d) => byDay.get(d) ?? { date: d, orders: 0, revenue_cents: 0, refunds_cents: 0, items_sold: 0 });
  // The API gives no currency: the shop's sales are in its default one.
  const usd = (cents: number) => money(cents, 'USD');
  const total = all.reduce((t, d) => ({ revenue: t.revenue + d.revenue_cents, refunds: t.refunds + d.refunds_cents, orders: t.orders + d.orders }), {
    revenue: 0,
    refunds: 0,
    orders: 0,
  });
  // At least $10 and 4 orders, so that an empty range still has round ticks.
  const moneyMax = Math.max(niceMax(Math.max(...all.map((d) => Math.max(d.revenue_cents, d.refunds_cents)))), 1000);
  const ordersMax = Math.max(4, Math.ceil(Math.max(...all.map((d) => d.orders)) / 4) * 4);
  const band = plotW / all.length;
  const bar = Math.max(1, Math.min(24, band * 0.36));
  const x = (i: number) => M.left + band * i + band / 2;
  const yMoney = (c: number) => M.top + plotH - (c / moneyMax) * plotH;
  const yOrders = (n: number) => M.top + plotH - (n / ordersMax) * plotH;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const labelEvery = Math.ceil(all.length / Math.max(2, Math.floor(plotW / 64)));
  const dayLabel = (d: string) => new Date(d + 'T00:00:00Z').toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
  const line = all.map((d, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${yOrders(d.orders).toFixed(1)}`).join('');
  return (
    <figure class="chart">
      <p data-testid="sales-total" class="totals">
        <span>
          Revenue <strong>{usd(total.revenue)}</strong>
        </span>
        <span>
          Orders <strong>{total.orders}</strong>
        </span>
        <span>
          Refunds <strong>{usd(total.refunds)}</strong>
        </span>
      </p>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="chart-title chart-desc" data-testid="sales-chart">
        <title id="chart-title">Daily revenue, refunds and orders</title>
        <desc id="chart-desc">
          {`From ${from} to ${to}: revenue ${usd(total.revenue)}, ${total.orders} orders, refunds ${usd(total.refunds)}.`}
        </desc>
        {ticks.map((t) => (
          <g key={t} class="grid">
            <line x1={M.left} x2={M.left + plotW} y1={yMoney(t * moneyMax)} y2={yMoney(t * moneyMax)} />
            <text x={M.left - 6} y={yMoney(t * moneyMax)} class="axis money-axis" text-anchor="end" dominant-baseline="middle">
              {usd(t * moneyMax)}
            </text>
            <text x={M.left + plotW + 6} y={yOrders(t * ordersMax)} class="axis" dominant-baseline="middle">
              {t * ordersMax}
            </text>
          </g>
        ))}
        <text x={M.left + plotW + 6} y={12} class="axis">
          orders
        </text>
        {all.map((d, i) => (
          <g key={d.date} data-date={d.date}>
            <title>{`${dayLabel(d.date)}: revenue ${usd(d.revenue_cents)}, ${d.orders} orders, ${d.items_sold} items, refunds ${usd(d.refunds_cents)}`}</title>
            {/* The whole band answers the pointer, not only the thin bars. */}
            <rect class="hit" x={M.left + band * i} y={M.top} width={band} height={plotH} />
            <rect class="revenue" x={x(i) - bar} y={yMoney(d.revenue_cents)} width={bar} height={M.top + plotH - yMoney(d.revenue_cents)} />
            <rect class="refunds" x={x(i)} y={yMoney(d.refunds_cents)} width={bar} height={M.top + plotH - yMoney(d.refunds_cents)} />
            {i % labelEvery === 0 && (
              <text x={x(i)} y={M.top + plotH + 18} class="axis" text-anchor="middle">
                {dayLabel(d.date)}
              </text>
            )}
          </g>
        ))}
        <line class="baseline" x1={M.left} x2={M.left + plotW} y1={M.top + plotH} y2={M.top + plotH} />
        <path class="orders" d={line} />
        {all.map((d, i) => (
          <circle key={d.date} class="orders-dot" cx={x(i)} cy={yOrders(d.orders)} r={band < 8 ? 1.5 : 3.5} />
        ))}
      </svg>
      <figcaption>
        <ul class="legend">
          <li>
            <span class="swatch revenue" aria-hidden="true" /> Revenue (left axis)
          </li>
          <li>
            <span class="swatch refunds" aria-hidden="true" /> Refunds (left axis)
          </li>
          <li>
            <span class="swatch orders" aria-hidden="true" /> Orders (right axis)
          </li>
        </ul>
        <span class="hint">Days in UTC; an order counts on the day it was paid, a refund on the day it succeeded.</span>
      </figcaption>
    </figure>
  );
}
