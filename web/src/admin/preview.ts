// A preview of a notification template with sample data, in the browser.
// It reads the part of Go's template language the templates use: fields
// ({{.OrderID}}), {{money .Cents .Currency}}, {{len .Items}}, and
// {{if}}/{{else}}/{{range}}/{{end}}. The API parses the template itself on
// save and refuses one that does not parse (422).

type Data = Record<string, unknown>;

// Sample data of each template, in the shape the notifications service
// renders it with.
const order = { OrderID: '00000000-0000-0000-0000-000000000000', UserID: '', TotalCents: 1999, Currency: 'USD', Reason: 'changed my mind' };
const payment = { PaymentID: '', OrderID: order.OrderID, AmountCents: 1999, Currency: 'USD', Reason: 'card declined' };
const lowStock = { SKU: 'SKU-1', ProductName: 'Widget', Available: 1, Threshold: 5 };
export const samples: Record<string, Data> = {
  welcome: { Name: 'Ada', Email: 'ada@example.com' },
  order_created: order,
  order_paid: { ...order, InvoiceNumber: 'INV-1' },
  payment_failed: payment,
  order_shipped: order,
  order_delivered: order,
  order_cancelled: order,
  payment_refunded: payment,
  low_stock: lowStock,
  low_stock_digest: { Items: [lowStock, { ...lowStock, SKU: 'SKU-2', ProductName: 'Gadget', Available: 0 }] },
};

type Node = string | { act: string; then?: Node[]; else?: Node[]; kind?: 'if' | 'range' };

function parse(src: string): Node[] {
  const root: Node[] = [];
  const stack: { nodes: Node[]; node?: Exclude<Node, string>; inElse?: boolean }[] = [{ nodes: root }];
  const re = /\{\{-?\s*(.*?)\s*-?\}\}/gs;
  let last = 0;
  for (let m; (m = re.exec(src)); last = re.lastIndex) {
    const top = stack[stack.length - 1];
    if (m.index > last) top.nodes.push(src.slice(last, m.index));
    const act = m[1];
    const block = /^(if|range)\s+(.*)$/.exec(act);
    if (block) {
      const node: Node = { act: block[2], kind: block[1] as 'if' | 'range', then: [], else: [] };
      top.nodes.push(node);
      stack.push({ nodes: node.then!, node });
    } else if (act === 'else' && top.node) {
      top.nodes = top.node.else!;
    } else if (act === 'end' && stack.length > 1) {
      stack.pop();
    } else {
      top.nodes.push({ act });
    }
  }
  stack[stack.length - 1].nodes.push(src.slice(last));
  return root;
}

const money = (cents: unknown, currency: unknown) => {
  const c = Number(cents);
  return `${c < 0 ? '-' : ''}${Math.trunc(Math.abs(c) / 100)}.${String(Math.abs(c) % 100).padStart(2, '0')} ${currency}`;
};

function value(expr: string, dot: unknown): unknown {
  const field = (name: string) => {
    if (name === '.') return dot;
    if (!name.startsWith('.')) return name.replace(/^"(.*)"$/, '$1');
    return name
      .slice(1)
      .split('.')
      .reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Data)[k] : undefined), dot);
  };
  const [fn, ...args] = expr.split(/\s+/);
  if (fn === 'money') return money(field(args[0]), field(args[1]));
  if (fn === 'len') return (field(args[0]) as unknown[] | undefined)?.length ?? 0;
  return field(fn);
}

const escapeHTML = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function run(nodes: Node[], dot: unknown, html: boolean): string {
  return nodes
    .map((n) => {
      if (typeof n === 'string') return n;
      const v = value(n.act, dot);
      if (n.kind === 'if') return run(v ? n.then! : n.else!, dot, html);
      if (n.kind === 'range') return Array.isArray(v) && v.length ? v.map((item) => run(n.then!, item, html)).join('') : run(n.else!, dot, html);
      const s = v === undefined || v === null ? '' : String(v);
      return html ? escapeHTML(s) : s;
    })
    .join('');
}

/** render fills a template with data; html escapes the values, as Go's html/template does. */
export function render(src: string, data: Data, html = false): string {
  return run(parse(src), data, html);
}
