// The public API, through the gateway at this page's own origin. Every
// shape comes from the OpenAPI document (src/schema.d.ts is generated from
// it at build time).
import type { components } from './schema';

type S = components['schemas'];
export type Product = S['Product'];
export type ProductPage = S['ProductPage'];
export type Cart = S['Cart'];
export type Order = S['Order'];
export type OrderPage = S['OrderPage'];
export type Address = S['Address'];
export type PaymentMethod = S['PaymentMethod'];
export type PaymentProvider = S['PaymentProvider'];
export type User = S['User'];
export type Category = S['Category'];
export type Payment = S['Payment'];
export type Invoice = S['Invoice'];
export type Preferences = S['Preferences'];
/** ProductQuery is what the product grid can ask for: search, filters, sorting. */
export type ProductQuery = Partial<Record<'q' | 'category' | 'min_price' | 'max_price' | 'in_stock' | 'sort' | 'page', string>>;
export type Problem = S['Problem'];
type TokenPair = S['TokenPair'];

/** ApiError is an answer other than 2xx, with its problem document. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    readonly retryAfter: string | null,
  ) {
    super(problem.detail || problem.title);
  }
  /** fieldError is the message the API gave for one field, on a 422. */
  fieldError(field: string): string | undefined {
    return this.problem.errors?.find((e) => e.field === field)?.message;
  }
}

const storageKey = 'daprshop.tokens';

interface Tokens {
  access: string;
  refresh: string;
  /** expires is when the access token stops working, in ms since the epoch. */
  expires: number;
}

function loadTokens(): Tokens | null {
  try {
    return JSON.parse(localStorage.getItem(storageKey) || 'null');
  } catch {
    return null;
  }
}

let tokens: Tokens | null = loadTokens();
const listeners = new Set<() => void>();

function setTokens(pair: TokenPair | null) {
  tokens = pair && {
    access: pair.access_token,
    refresh: pair.refresh_token,
    expires: Date.now() + pair.expires_in * 1000,
  };
  if (tokens) localStorage.setItem(storageKey, JSON.stringify(tokens));
  else localStorage.removeItem(storageKey);
  listeners.forEach((l) => l());
}

export const session = {
  signedIn: () => tokens !== null,
  /** onChange calls l when the user signs in or out; returns the unsubscribe. */
  onChange(l: () => void) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

// One refresh at a time: the API spends a refresh token on use, and a
// second refresh with the spent one would revoke the whole session.
let refreshing: Promise<boolean> | null = null;

function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const current = tokens;
    if (!current) return false;
    try {
      const pair = await send<TokenPair>('POST', '/api/v1/auth/refresh', { refresh_token: current.refresh }, {}, false);
      setTokens(pair);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setTokens(null);
      return false;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export async function send<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  authenticated = true,
  read: (r: Response) => Promise<T> = async (r) => {
    const text = await r.text();
    return text ? JSON.parse(text) : undefined;
  },
): Promise<T> {
  // Refresh a little before the access token expires rather than after.
  if (authenticated && tokens && tokens.expires - Date.now() < 30_000) await refresh();
  const attempt = () => {
    const h: Record<string, string> = { Accept: 'application/json', ...headers };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    if (authenticated && tokens) h.Authorization = `Bearer ${tokens.access}`;
    return fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  let resp = await attempt();
  if (resp.status === 401 && authenticated && tokens && (await refresh())) resp = await attempt();
  if (resp.status === 204) return undefined as T;
  if (!resp.ok) {
    const text = await resp.text();
    let data: Problem | undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    const problem: Problem = data?.status ? data : { type: 'about:blank', title: resp.statusText, status: resp.status };
    throw new ApiError(resp.status, problem, resp.headers.get('Retry-After'));
  }
  return read(resp);
}

export const api = {
  products: (query: ProductQuery) =>
    send<ProductPage>('GET', `/api/v1/products?${new URLSearchParams({ ...query, page_size: '24' })}`, undefined, {}, false),
  categories: () => send<Category[]>('GET', '/api/v1/categories', undefined, {}, false),
  product: (id: string) => send<Product>('GET', `/api/v1/products/${encodeURIComponent(id)}`, undefined, {}, false),

  register: (name: string, email: string, password: string) =>
    send<User>('POST', '/api/v1/auth/register', { name, email, password }, {}, false),
  async login(email: string, password: string) {
    setTokens(await send<TokenPair>('POST', '/api/v1/auth/login', { email, password }, {}, false));
  },
  async logout() {
    try {
      await send<void>('POST', '/api/v1/auth/logout');
    } finally {
      setTokens(null);
    }
  },
  me: () => send<User>('GET', '/api/v1/auth/me'),

  cart: () => send<Cart>('GET', '/api/v1/cart'),
  addToCart: (product_id: string, quantity: number) => send<Cart>('POST', '/api/v1/cart/items', { product_id, quantity }),
  setQuantity: (productID: string, quantity: number) =>
    send<Cart>('PATCH', `/api/v1/cart/items/${encodeURIComponent(productID)}`, { quantity }),

  cards: () => send<PaymentMethod[]>('GET', '/api/v1/payment-methods'),
  saveCard: (payment_method: string) => send<PaymentMethod>('POST', '/api/v1/payment-methods', { payment_method }),
  makeDefault: (id: string) => send<PaymentMethod>('POST', `/api/v1/payment-methods/${encodeURIComponent(id)}/default`),

  checkout: (shipping_address: Address, payment_provider: PaymentProvider, idempotencyKey: string) =>
    send<Order>('POST', '/api/v1/checkout', { shipping_address, payment_provider }, { 'Idempotency-Key': idempotencyKey }),
  orders: () => send<OrderPage>('GET', '/api/v1/orders?page_size=50'),
  order: (id: string) => send<Order>('GET', `/api/v1/orders/${encodeURIComponent(id)}`),
  cancel: (id: string) => send<Order>('POST', `/api/v1/orders/${encodeURIComponent(id)}/cancel`),
  payments: (orderID: string) => send<Payment[]>('GET', `/api/v1/payments?${new URLSearchParams({ order_id: orderID })}`),
  invoices: (orderID: string) => send<Invoice[]>('GET', `/api/v1/invoices?${new URLSearchParams({ order_id: orderID })}`),
  invoicePDF: (id: string) =>
    send<Blob>('GET', `/api/v1/invoices/${encodeURIComponent(id)}`, undefined, { Accept: 'application/pdf' }, true, (r) => r.blob()),

  preferences: () => send<Preferences>('GET', '/api/v1/notifications/preferences'),
  setPreferences: (p: Preferences) => send<Preferences>('PUT', '/api/v1/notifications/preferences', p),
};

/** money formats minor units in their currency's own number of decimals. */
export function money(cents: number, currency: string): string {
  const f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
  return f.format(cents / 10 ** (f.resolvedOptions().maximumFractionDigits ?? 2));
}
