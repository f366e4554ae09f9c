import { useEffect, useState } from 'preact/hooks';
import { api, money, type Product, type ProductPage } from './api';
import { ErrorLine } from './ui';

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

export function Home({ q, signedIn }: { q: string; signedIn: boolean }) {
  const [query, setQuery] = useState(q);
  const [page, setPage] = useState<ProductPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    setError(null);
    api.products(q).then(
      (p) => live && setPage(p),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [q]);
  return (
    <main>
      <h1 tabIndex={-1}>Products</h1>
      <form
        role="search"
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          location.hash = query ? `#/?${new URLSearchParams({ q: query })}` : '#/';
        }}
      >
        <label for="search">Search products</label>
        <input id="search" type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      <ErrorLine error={error} />
      {page && (
        <>
          <p role="status">
            {page.total} {page.total === 1 ? 'product' : 'products'}
            {q && ` for “${q}”`}
          </p>
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
        </>
      )}
    </main>
  );
}

export function ProductView({ id, signedIn }: { id: string; signedIn: boolean }) {
  const [p, setP] = useState<Product | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [quantity, setQuantity] = useState(1);
  useEffect(() => {
    api.product(id).then(setP, setError);
  }, [id]);
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
