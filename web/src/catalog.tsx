import { useEffect, useState } from 'preact/hooks';
import { api, money, type Category, type Product, type ProductPage, type ProductQuery } from './api';
import { useLoad } from './page';
import { ErrorLine, Field } from './ui';
import './shop.css';

function Availability({ p }: { p: Product }) {
  if (p.available <= 0) return <span class="stock out">Out of stock</span>;
  if (p.available <= p.low_stock_threshold) return <span class="stock low">Only {p.available} left</span>;
  return <span class="stock in">In stock ({p.available})</span>;
}

/** AddToCart adds one product; signed out, it leads to the login page. */
function AddToCart({ p, signedIn, quantity = 1 }: { p: Product; signedIn: boolean; quantity?: number }) {
  const [state, setState] = useState<'idle' | 'busy' | 'added'>('idle');
  const [error, setError] = useState<unknown>(null);
  if (!signedIn) return <a href="#/login">Log in to buy</a>;
  const add = async () => {
    setState('busy');
    setError(null);
    try {
      await api.addToCart(p.id, quantity);
      setState('added');
    } catch (e) {
      setError(e);
      setState('idle');
    }
  };
  return (
    <div>
      <button type="button" onClick={add} disabled={state === 'busy' || p.available <= 0} aria-label={`Add ${p.name} to cart`}>
        Add to cart
      </button>
      <span role="status" class="added">
        {state === 'added' ? 'Added to cart' : ''}
      </span>
      <ErrorLine error={error} />
    </div>
  );
}

const pageSize = 24;
const queryKeys = ['q', 'category', 'min_price', 'max_price', 'in_stock', 'sort', 'page'];

const sorts: [string, string][] = [
  ['', 'Best match'],
  ['price', 'Price, low to high'],
  ['-price', 'Price, high to low'],
  ['name', 'Name'],
  ['-created_at', 'Newest'],
];

/** link is the grid's route for query with changes applied (an empty value drops the key). */
function link(query: ProductQuery, changes: ProductQuery): string {
  const next = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...query, page: '', ...changes })) if (v) next.set(k, v);
  const s = next.toString();
  return s ? `#/?${s}` : '#/';
}

/** Tree lists categories with their sub-categories, the chosen one marked. */
function Tree({ cats, query }: { cats: Category[]; query: ProductQuery }) {
  return (
    <ul>
      {cats.map((c) => (
        <li key={c.id}>
          <a href={link(query, { category: c.slug })} aria-current={query.category === c.slug || query.category === c.id ? 'page' : undefined}>
            {c.name}
          </a>
          {c.children.length > 0 && <Tree cats={c.children} query={query} />}
        </li>
      ))}
    </ul>
  );
}

function findCategory(cats: Category[], key: string): Category | undefined {
  for (const c of cats) {
    const found = c.slug === key || c.id === key ? c : findCategory(c.children, key);
    if (found) return found;
  }
  return undefined;
}

// Prices are typed in the currency's units and sent in cents.
const toCents = (v: FormDataEntryValue | null) => (v && !Number.isNaN(Number(v)) ? String(Math.round(Number(v) * 100)) : '');
const fromCents = (v?: string) => (v ? String(Number(v) / 100) : '');

/**
 * Home is the product grid: search, the category tree, filters and
 * sorting, all kept in the route so that a result can be linked to and
 * the back button undoes a filter.
 */
export function Home({ search, signedIn }: { search: string; signedIn: boolean }) {
  const query: ProductQuery = Object.fromEntries([...new URLSearchParams(search)].filter(([k]) => queryKeys.includes(k)));
  const [page, setPage] = useState<ProductPage | null>(null);
  const [cats, setCats] = useState<Category[]>([]);
  const [error, setError] = useState<unknown>(null);
  const key = JSON.stringify(query);
  useEffect(() => {
    api.categories().then(setCats, setError);
  }, []);
  useLoad(
    () => {
      setError(null);
      return api.products(query);
    },
    setPage,
    setError,
    [key],
  );
  const category = query.category ? findCategory(cats, query.category) : undefined;
  const current = Number(query.page) || 1;
  const filter = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    location.hash = link(query, {
      min_price: toCents(f.get('min')),
      max_price: toCents(f.get('max')),
      in_stock: f.get('in_stock') ? 'true' : '',
      sort: String(f.get('sort') ?? ''),
    });
  };
  return (
    <main class="shop">
      <h1 tabIndex={-1}>Products</h1>
      <form
        role="search"
        class="search"
        key={`q${query.q ?? ''}`}
        onSubmit={(e) => {
          e.preventDefault();
          location.hash = link(query, { q: String(new FormData(e.currentTarget).get('q')).trim() });
        }}
      >
        <label for="search">Search products</label>
        <input id="search" name="q" type="search" defaultValue={query.q ?? ''} />
        <button type="submit">Search</button>
      </form>
      <details class="filters" open={matchMedia('(min-width: 48rem)').matches}>
        <summary>Categories and filters</summary>
        <nav aria-label="Categories">
          <h2>Categories</h2>
          <ul>
            <li>
              <a href={link(query, { category: '' })} aria-current={query.category ? undefined : 'page'}>
                All products
              </a>
              <Tree cats={cats} query={query} />
            </li>
          </ul>
        </nav>
        <form class="form" onSubmit={filter} key={key} aria-labelledby="filters-h">
          <h2 id="filters-h">Filter and sort</h2>
          <div class="prices">
            <Field label="Min price" name="min" type="number" min={0} step="0.01" inputMode="decimal" defaultValue={fromCents(query.min_price)} />
            <Field label="Max price" name="max" type="number" min={0} step="0.01" inputMode="decimal" defaultValue={fromCents(query.max_price)} />
          </div>
          <label class="check">
            <input type="checkbox" name="in_stock" defaultChecked={query.in_stock === 'true'} /> In stock only
          </label>
          <div class="field">
            <label for="sort">Sort by</label>
            <select id="sort" name="sort">
              {sorts.map(([v, label]) => (
                <option key={v} value={v} selected={v === (query.sort ?? '')}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          <button type="submit">Apply</button>
        </form>
      </details>
      <div class="results">
        <ErrorLine error={error} />
        {page && (
          <>
            <p role="status">
              {page.total} {page.total === 1 ? 'product' : 'products'}
              {query.q && ` for “${query.q}”`}
              {category && ` in ${category.name}`}
            </p>
            {page.total === 0 && (
              <p>
                Nothing matches. <a href="#/">Show all products</a>
              </p>
            )}
            <ul class="grid" aria-label="Products">
              {page.items.map((p) => (
                <li key={p.id} class="card">
                  <h2>
                    <a href={`#/product/${p.id}`}>{p.name}</a>
                  </h2>
                  <p class="price">{money(p.price_cents, p.currency)}</p>
                  <Availability p={p} />
                  <AddToCart p={p} signedIn={signedIn} />
                </li>
              ))}
            </ul>
            {page.total > pageSize && (
              <nav aria-label="Pages" class="pages">
                {current > 1 && <a href={link(query, { page: String(current - 1) })}>Previous page</a>}
                <span>
                  Page {current} of {Math.ceil(page.total / pageSize)}
                </span>
                {current * pageSize < page.total && <a href={link(query, { page: String(current + 1) })}>Next page</a>}
              </nav>
            )}
          </>
        )}
      </div>
    </main>
  );
}

export function ProductView({ id, signedIn }: { id: string; signedIn: boolean }) {
  const [p, setP] = useState<Product | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [quantity, setQuantity] = useState(1);
  useLoad(() => api.product(id), setP, setError, [id]);
  if (error) {
    return (
      <main>
        <h1 tabIndex={-1}>Product</h1>
        <ErrorLine error={error} />
      </main>
    );
  }
  if (!p) return <main aria-busy="true" />;
  return (
    <main>
      <h1 tabIndex={-1}>{p.name}</h1>
      <p class="price">{money(p.price_cents, p.currency)}</p>
      <Availability p={p} />
      <p>{p.description}</p>
      {signedIn && p.available > 0 && (
        <div class="field narrow">
          <label for="qty">Quantity</label>
          <input
            id="qty"
            type="number"
            min={1}
            max={Math.min(100, p.available)}
            value={quantity}
            onInput={(e) => setQuantity(Math.max(1, Number(e.currentTarget.value) || 1))}
          />
        </div>
      )}
      <AddToCart p={p} signedIn={signedIn} quantity={quantity} />
      <p>
        <a href="#/">Back to the products</a>
      </p>
    </main>
  );
}
