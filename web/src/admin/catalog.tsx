import { useEffect, useState } from 'preact/hooks';
import { money, type Product, type ProductPage } from '../api';
import { ErrorLine, Field, fieldError } from '../ui';
import { useLoad } from '../page';
import { admin, type Category, type Inventory } from './api';
import { Done } from './parts';

/** digits is how many minor units a currency's major unit has (2 for USD). */
function digits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export const toCents = (price: string, currency: string) => Math.round(Number(price) * 10 ** digits(currency));
export const fromCents = (cents: number, currency: string) => (cents / 10 ** digits(currency)).toFixed(digits(currency));

/** flatten lists a category tree depth first, each with its depth. */
function flatten(tree: Category[], depth = 0): { c: Category; depth: number }[] {
  return tree.flatMap((c) => [{ c, depth }, ...flatten(c.children, depth + 1)]);
}

function useCategories(): [Category[], () => void, unknown] {
  const [tree, setTree] = useState<Category[]>([]);
  const [error, setError] = useState<unknown>(null);
  const load = () => admin.categories().then(setTree, setError);
  useEffect(() => {
    load();
  }, []);
  return [tree, load, error];
}

function CategorySelect({ tree, value, id, label = 'Category', none = 'Uncategorised' }: { tree: Category[]; value: string; id: string; label?: string; none?: string }) {
  const [choice, setChoice] = useState(value);
  useEffect(() => setChoice(value), [value]);
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} name={id} value={choice} onChange={(e) => setChoice(e.currentTarget.value)}>
        <option value="">{none}</option>
        {flatten(tree).map(({ c, depth }) => (
          <option key={c.id} value={c.id}>
            {'\u2003'.repeat(depth) + c.name}
          </option>
        ))}
      </select>
    </div>
  );
}

export function ProductsView({ q }: { q: string }) {
  const [page, setPage] = useState<ProductPage | null>(null);
  const [n, setN] = useState(1);
  const [error, setError] = useState<unknown>(null);
  const [createError, setCreateError] = useState<unknown>(null);
  const [created, setCreated] = useState<Product | null>(null);
  const [tree] = useCategories();
  const [busy, setBusy] = useState(false);
  useLoad(() => admin.products(q, n), setPage, setError, [q, n, created]);
  const search = (e: Event) => {
    e.preventDefault();
    const v = String(new FormData(e.currentTarget as HTMLFormElement).get('q'));
    setN(1);
    location.hash = `#/products${v ? `?q=${encodeURIComponent(v)}` : ''}`;
  };
  const create = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    const currency = String(f.get('currency')).toUpperCase();
    setBusy(true);
    setCreateError(null);
    try {
      const p = await admin.createProduct({
        sku: String(f.get('sku')),
        name: String(f.get('name')),
        description: String(f.get('description')),
        price_cents: toCents(String(f.get('price')), currency),
        currency,
        initial_stock: Number(f.get('initial_stock')),
        ...(f.get('new-category') ? { category_id: String(f.get('new-category')) } : {}),
      });
      form.reset();
      setCreated(p);
    } catch (err) {
      setCreateError(err);
    } finally {
      setBusy(false);
    }
  };
  const fe = (field: string) => fieldError(createError, field);
  return (
    <main>
      <h1 tabIndex={-1}>Products</h1>
      <form class="search" role="search" onSubmit={search}>
        <label class="visually-hidden" for="admin-q">
          Search products
        </label>
        <input id="admin-q" name="q" type="search" defaultValue={q} placeholder="Name, SKU or description" />
        <button type="submit">Search</button>
      </form>
      <ErrorLine error={error} />
      {page && (
        <div class="scroll">
          <table class="lines">
            <caption class="visually-hidden">Products</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">SKU</th>
                <th scope="col" class="num">
                  Price
                </th>
                <th scope="col" class="num">
                  Available
                </th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((p) => (
                <tr key={p.id}>
                  <th scope="row">
                    <a href={`#/products/${p.id}`}>{p.name}</a>
                  </th>
                  <td>{p.sku}</td>
                  <td class="num">{money(p.price_cents, p.currency)}</td>
                  <td class="num">{p.available}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={n} size={page.page_size} total={page.total} onPage={setN} />
        </div>
      )}
      <h2>New product</h2>
      <form class="form" onSubmit={create}>
        <Field label="SKU" name="sku" required maxLength={64} error={fe('sku')} />
        <Field label="Name" name="name" required maxLength={200} error={fe('name')} />
        <Field label="Description" name="description" maxLength={5000} error={fe('description')} />
        <div class="row">
          <Field label="Price" name="price" type="number" min="0" step="0.01" required inputMode="decimal" error={fe('price_cents')} />
          <Field label="Currency" name="currency" defaultValue="USD" required pattern="[A-Za-z]{3}" maxLength={3} class="short" error={fe('currency')} />
          <Field label="Initial stock" name="initial_stock" type="number" min="0" step="1" defaultValue="0" required error={fe('initial_stock')} />
        </div>
        <CategorySelect tree={tree} value="" id="new-category" />
        {fe('category_id') && <p class="field-error">Category {fe('category_id')}</p>}
        <ErrorLine error={createError} fields={['sku', 'name', 'description', 'price_cents', 'currency', 'initial_stock', 'category_id']} />
        <button type="submit" disabled={busy}>
          Create product
        </button>
        {created && (
          <Done>
            Created <a href={`#/products/${created.id}`}>{created.name}</a>.
          </Done>
        )}
      </form>
    </main>
  );
}

export function Pager({ page, size, total, onPage }: { page: number; size: number; total: number; onPage: (n: number) => void }) {
  const last = Math.max(1, Math.ceil(total / size));
  if (last === 1) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page} of {last}
      </span>
      <button type="button" disabled={page >= last} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}

export function ProductView({ id }: { id: string }) {
  const [product, setProduct] = useState<Product | null>(null);
  const [inventory, setInventory] = useState<Inventory | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [stockError, setStockError] = useState<unknown>(null);
  const [saved, setSaved] = useState('');
  const [tree] = useCategories();
  useLoad(() => admin.product(id), setProduct, setError, [id]);
  useLoad(() => admin.inventory(id), setInventory, setError, [id]);
  if (!product)
    return (
      <main>
        <h1 tabIndex={-1}>Product</h1>
        <ErrorLine error={error} />
      </main>
    );
  const save = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const currency = String(f.get('currency')).toUpperCase();
    setSaveError(null);
    setSaved('');
    try {
      setProduct(
        await admin.updateProduct(id, {
          sku: String(f.get('sku')),
          name: String(f.get('name')),
          description: String(f.get('description')),
          price_cents: toCents(String(f.get('price')), currency),
          currency,
          low_stock_threshold: Number(f.get('low_stock_threshold')),
          category_id: String(f.get('edit-category')) || null,
        }),
      );
      setSaved('Saved.');
    } catch (err) {
      setSaveError(err);
    }
  };
  const adjust = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    setStockError(null);
    try {
      setInventory(await admin.adjust(id, Number(f.get('delta')), String(f.get('reason'))));
      form.reset();
    } catch (err) {
      setStockError(err);
    }
  };
  const deactivate = async () => {
    if (!confirm(`Deactivate ${product.name}? It leaves the shop's lists.`)) return;
    try {
      await admin.deleteProduct(id);
      location.hash = '#/products';
    } catch (err) {
      setSaveError(err);
    }
  };
  const fe = (field: string) => fieldError(saveError, field);
  const se = (field: string) => fieldError(stockError, field);
  return (
    <main>
      <h1 tabIndex={-1}>{product.name}</h1>
      <p>
        <a href="#/products">All products</a>
      </p>
      <section aria-labelledby="stock-h">
        <h2 id="stock-h">Stock</h2>
        {inventory && (
          <dl class="levels" data-testid="stock-levels">
            <div>
              <dt>On hand</dt>
              <dd>{inventory.on_hand}</dd>
            </div>
            <div>
              <dt>Reserved</dt>
              <dd>{inventory.reserved}</dd>
            </div>
            <div>
              <dt>Available</dt>
              <dd data-testid="available">{inventory.available}</dd>
            </div>
          </dl>
        )}
        <form class="form" onSubmit={adjust} aria-label="Adjust stock">
          <div class="row">
            <Field label="Units to add (negative removes)" name="delta" type="number" step="1" required error={se('delta')} />
            <Field label="Reason" name="reason" required maxLength={500} error={se('reason')} />
          </div>
          <ErrorLine error={stockError} fields={['delta', 'reason']} />
          <button type="submit">Adjust stock</button>
        </form>
      </section>
      <section aria-labelledby="edit-h">
        <h2 id="edit-h">Details</h2>
        <form class="form" onSubmit={save} key={product.updated_at}>
          <Field label="SKU" name="sku" defaultValue={product.sku} required error={fe('sku')} />
          <Field label="Name" name="name" defaultValue={product.name} required error={fe('name')} />
          <Field label="Description" name="description" defaultValue={product.description} error={fe('description')} />
          <div class="row">
            <Field label="Price" name="price" type="number" min="0" step="0.01" defaultValue={fromCents(product.price_cents, product.currency)} required error={fe('price_cents')} />
            <Field label="Currency" name="currency" defaultValue={product.currency} required maxLength={3} class="short" error={fe('currency')} />
            <Field label="Low-stock threshold" name="low_stock_threshold" type="number" min="0" defaultValue={String(product.low_stock_threshold)} error={fe('low_stock_threshold')} />
          </div>
          <CategorySelect tree={tree} value={product.category_id ?? ''} id="edit-category" />
          <ErrorLine error={saveError} fields={['sku', 'name', 'description', 'price_cents', 'currency', 'low_stock_threshold']} />
          <div class="actions">
            <button type="submit">Save</button>
            <button type="button" class="danger" onClick={deactivate}>
              Deactivate
            </button>
          </div>
          {saved && <Done>{saved}</Done>}
        </form>
      </section>
    </main>
  );
}

export function CategoriesView() {
  const [tree, load, loadError] = useCategories();
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      setEditing(null);
      load();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  const create = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    const parent = String(f.get('parent'));
    if (await act(() => admin.createCategory({ name: String(f.get('name')), slug: String(f.get('slug')), ...(parent ? { parent_id: parent } : {}) })))
      form.reset();
  };
  const rename = (c: Category) => (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    act(() => admin.updateCategory(c.id, { name: String(f.get('name')), slug: String(f.get('slug')) }));
  };
  const fe = (field: string) => fieldError(error, field);
  return (
    <main>
      <h1 tabIndex={-1}>Categories</h1>
      <ErrorLine error={loadError} />
      <ErrorLine error={error} fields={['name', 'slug', 'parent_id']} />
      <ul class="tree">
        {flatten(tree).map(({ c, depth }) => (
          <li key={c.id} data-depth={Math.min(depth, 4)}>
            {editing === c.id ? (
              <form class="row" onSubmit={rename(c)} aria-label={`Rename ${c.name}`}>
                <Field label="Name" name="name" defaultValue={c.name} required error={fe('name')} />
                <Field label="Slug" name="slug" defaultValue={c.slug} required error={fe('slug')} />
                <button type="submit">Save</button>
                <button type="button" class="link" onClick={() => setEditing(null)}>
                  Cancel
                </button>
              </form>
            ) : (
              <>
                <span>
                  {c.name} <code>{c.slug}</code>
                </span>
                <button type="button" class="link" onClick={() => setEditing(c.id)} aria-label={`Edit ${c.name}`}>
                  Edit
                </button>
                <button type="button" class="link" onClick={() => confirm(`Delete ${c.name}?`) && act(() => admin.deleteCategory(c.id))} aria-label={`Delete ${c.name}`}>
                  Delete
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      <h2>New category</h2>
      <form class="form" onSubmit={create}>
        <Field label="Name" name="name" required maxLength={100} error={editing ? undefined : fe('name')} />
        <Field label="Slug" name="slug" required maxLength={100} pattern="[a-z0-9-]+" error={editing ? undefined : fe('slug')} />
        <CategorySelect tree={tree} value="" id="parent" label="Parent" none="None (top level)" />
        <button type="submit">Create category</button>
      </form>
    </main>
  );
}
