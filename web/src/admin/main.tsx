import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { focusHeading, SkipLink, useRoute } from '../page';
import { api, session, type User } from '../api';
import { ErrorLine, Field, fieldError } from '../ui';
import { isAdmin } from './api';
import { CategoriesView, ProductsView, ProductView } from './catalog';
import { DeadLettersView } from './deadletters';
import { OrdersView, OrderView } from './orders';
import { SalesView } from './sales';
import { TemplatesView } from './templates';
import { UsersView } from './users';
import '../style.css';
import './admin.css';

/** useMe is the signed-in user (null while unknown or signed out). */
function useMe(): [User | null, boolean, unknown] {
  const [signedIn, setSignedIn] = useState(session.signedIn());
  const [me, setMe] = useState<User | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => session.onChange(() => setSignedIn(session.signedIn())), []);
  useEffect(() => {
    setMe(null);
    setError(null);
    if (signedIn) api.me().then(setMe, setError);
  }, [signedIn]);
  return [me, signedIn, error];
}

function LoginView() {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      await api.login(String(f.get('email')), String(f.get('password')));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main>
      <h1 tabIndex={-1}>Admin sign-in</h1>
      <form onSubmit={submit} class="form">
        <Field label="Email" name="email" type="email" autoComplete="username" required error={fieldError(error, 'email')} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required error={fieldError(error, 'password')} />
        <ErrorLine error={error} fields={['email', 'password']} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function page(route: string) {
  const [path, query = ''] = route.split('?');
  const parts = path.split('/').filter(Boolean);
  const params = new URLSearchParams(query);
  switch (parts[0]) {
    case undefined:
    case 'sales':
      return <SalesView from={params.get('from') ?? ''} to={params.get('to') ?? ''} />;
    case 'products':
      return parts[1] ? <ProductView id={parts[1]} /> : <ProductsView q={params.get('q') ?? ''} />;
    case 'categories':
      return <CategoriesView />;
    case 'orders':
      return parts[1] ? <OrderView id={parts[1]} /> : <OrdersView status={params.get('status') ?? ''} />;
    case 'users':
      return <UsersView />;
    case 'templates':
      return <TemplatesView name={parts[1] ?? ''} />;
    case 'dead-letters':
      return <DeadLettersView service={params.get('service') ?? ''} />;
    default:
      return (
        <main>
          <h1 tabIndex={-1}>Not found</h1>
          <p>
            <a href="#/">Back to the console</a>
          </p>
        </main>
      );
  }
}

const sections = [
  ['#/', 'Sales'],
  ['#/products', 'Products'],
  ['#/categories', 'Categories'],
  ['#/orders', 'Orders'],
  ['#/users', 'Users'],
  ['#/templates', 'Templates'],
  ['#/dead-letters', 'Dead letters'],
] as const;

function App() {
  const route = useRoute();
  const [me, signedIn, error] = useMe();
  useEffect(() => {
    focusHeading();
  }, [route, me]);
  const section = '#/' + (route.split(/[/?]/)[1] ?? '');
  let body;
  if (!signedIn) body = <LoginView />;
  else if (error)
    body = (
      <main>
        <h1 tabIndex={-1}>Admin console</h1>
        <ErrorLine error={error} />
      </main>
    );
  else if (!me) body = <main aria-busy="true" />;
  else if (!isAdmin(me.roles))
    body = (
      <main>
        <h1 tabIndex={-1}>Not an admin</h1>
        <p>
          {me.email} has no admin role. <a href="/">Go to the shop</a>
        </p>
        <button type="button" onClick={() => api.logout()}>
          Sign out
        </button>
      </main>
    );
  else body = page(route);
  return (
    <>
      <SkipLink />
      <header>
        <a class="brand" href="#/">
          daprshop admin
        </a>
        {me && isAdmin(me.roles) && (
          <nav aria-label="Console">
            {sections.map(([href, label]) => (
              <a key={href} href={href} aria-current={(href === '#/' ? section === '#/' || section === '#/sales' : section === href) ? 'page' : undefined}>
                {label}
              </a>
            ))}
            <button type="button" class="link" onClick={() => api.logout().finally(() => (location.hash = '#/'))}>
              Sign out
            </button>
          </nav>
        )}
      </header>
      {body}
    </>
  );
}

render(<App />, document.getElementById('app')!);
