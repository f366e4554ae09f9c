// The admin endpoints of the public API, on the shop's client (one
// session, one token refresh, the same problem+json errors).
import { send, type Order, type OrderPage, type Product, type ProductPage, type User } from '../api';
import type { components } from '../schema';

type S = components['schemas'];
export type Category = S['Category'];
export type Inventory = S['Inventory'];
export type Payment = S['Payment'];
export type Refund = S['Refund'];
export type Role = S['Role'];
export type UserPage = S['UserPage'];
export type Template = S['Template'];
export type TemplateInput = S['TemplateInput'];
export type DaySales = S['DaySales'];
export type DeadLetter = S['DeadLetter'];
export type DeadLetterPage = S['DeadLetterPage'];
export type ReplayAccepted = S['ReplayAccepted'];
export type OrderStatus = S['OrderStatus'];

const e = encodeURIComponent;
const query = (q: Record<string, string | number | undefined>) =>
  new URLSearchParams(Object.entries(q).flatMap(([k, v]) => (v === undefined || v === '' ? [] : [[k, String(v)]]))).toString();

export const admin = {
  products: (q: string, page: number) => send<ProductPage>('GET', `/api/v1/products?${query({ q, page, page_size: 20, sort: q ? 'relevance' : '-created_at' })}`),
  product: (id: string) => send<Product>('GET', `/api/v1/products/${e(id)}`),
  createProduct: (p: S['ProductInput']) => send<Product>('POST', '/api/v1/products', p),
  updateProduct: (id: string, p: S['ProductUpdate']) => send<Product>('PATCH', `/api/v1/products/${e(id)}`, p),
  deleteProduct: (id: string) => send<void>('DELETE', `/api/v1/products/${e(id)}`),
  inventory: (id: string) => send<Inventory>('GET', `/api/v1/products/${e(id)}/inventory`),
  adjust: (id: string, delta: number, reason: string) =>
    send<Inventory>('POST', `/api/v1/products/${e(id)}/inventory/adjustments`, { delta, reason }),

  categories: () => send<Category[]>('GET', '/api/v1/categories'),
  createCategory: (c: S['CategoryInput']) => send<Category>('POST', '/api/v1/categories', c),
  updateCategory: (id: string, c: S['CategoryUpdate']) => send<Category>('PATCH', `/api/v1/categories/${e(id)}`, c),
  deleteCategory: (id: string) => send<void>('DELETE', `/api/v1/categories/${e(id)}`),

  orders: (status: string, page: number) => send<OrderPage>('GET', `/api/v1/orders?${query({ status, page, page_size: 20 })}`),
  order: (id: string) => send<Order>('GET', `/api/v1/orders/${e(id)}`),
  orderAction: (id: string, action: 'ship' | 'deliver' | 'cancel') => send<Order>('POST', `/api/v1/orders/${e(id)}/${action}`),
  payments: (orderID: string) => send<Payment[]>('GET', `/api/v1/payments?${query({ order_id: orderID })}`),
  refund: (paymentID: string, amountCents: number | undefined, idempotencyKey: string) =>
    send<Refund>('POST', `/api/v1/payments/${e(paymentID)}/refunds`, amountCents ? { amount_cents: amountCents } : {}, {
      'Idempotency-Key': idempotencyKey,
    }),

  users: (page: number) => send<UserPage>('GET', `/api/v1/admin/users?${query({ page, page_size: 50 })}`),
  setRoles: (id: string, roles: Role[]) => send<User>('PUT', `/api/v1/admin/users/${e(id)}/roles`, { roles }),

  template: (name: string) => send<Template>('GET', `/api/v1/admin/notification-templates/${e(name)}`),
  saveTemplate: (name: string, t: TemplateInput) => send<Template>('PUT', `/api/v1/admin/notification-templates/${e(name)}`, t),

  sales: (from: string, to: string) => send<DaySales[]>('GET', `/api/v1/admin/analytics/sales?${query({ from, to })}`),

  deadLetters: (service: string, page: number) =>
    send<DeadLetterPage>('GET', `/api/v1/admin/dead-letters?${query({ service, page, page_size: 20 })}`),
  replay: (id: string) => send<DeadLetter>('POST', `/api/v1/admin/dead-letters/${e(id)}/replay`),
  replayAll: (service: string) => send<ReplayAccepted>('POST', `/api/v1/admin/dead-letters/replay?${query({ service })}`),
};

/** isAdmin tells whether roles let a user into the console. */
export const isAdmin = (roles: readonly Role[]) => roles.includes('ADMIN') || roles.includes('SUPER_ADMIN');
