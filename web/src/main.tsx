import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { focusHeading, SkipLink, useRoute } from './page';
import { api, session } from './api';
import { CartView, CheckoutView } from './cart';
import { CardsView, LoginView, PreferencesView, RegisterView } from './account';
import { Home, ProductView } from './catalog';
import { OrdersView, OrderView } from './orders';
import './style.css';

function useSignedIn(): boolean {
  const [signedIn, setSignedIn] = useState(session.signedIn());
  useEffect(() => session.onChange(() => setSignedIn(session.signedIn())), []);
  return signedIn;
}

function page(route: string, signedIn: boolean) {
  const [path, query = ''] = route.split('?');
  const parts = path.split('/').filter(Boolean);
  const needsSignIn = <LoginView next={route} />;
  switch (parts[0]) {
    case undefined:
      return <Home search={query} signedIn={signedIn} />;
    case 'product':
      return <ProductView id={parts[1]} signedIn={signedIn} />;
    case 'login':
      return <LoginView next="/" />;
    case 'register':
      return <RegisterView />;
    case 'cart':
      return signedIn ? <CartView /> : needsSignIn;
    case 'cards':
      return signedIn ? <CardsView /> : needsSignIn;
    case 'notifications':
      return signedIn ? <PreferencesView /> : needsSignIn;
    case 'checkout':
      return signedIn ? <CheckoutView /> : needsSignIn;
    case 'orders':
      if (!signedIn) return needsSignIn;
      return parts[1] ? <OrderView id={parts[1]} /> : <OrdersView />;
    default:
      return (
        <main>
          <h1>Not found</h1>
          <p>
            <a href="#/">Back to the shop</a>
          </p>
        </main>
      );
  }
}

function App() {
  const route = useRoute();
  const signedIn = useSignedIn();
  // Each view sets the focus on its heading when the route changes, for
  // screen readers: the page does not reload.
  useEffect(() => {
    focusHeading();
  }, [route]);
  return (
    <>
      <SkipLink />
      <header>
        <a class="brand" href="#/">
          daprshop
        </a>
        <nav aria-label="Main">
          <a href="#/">Products</a>
          {signedIn ? (
            <>
              <a href="#/cart">Cart</a>
              <a href="#/orders">Orders</a>
              <a href="#/cards">Cards</a>
              <a href="#/notifications">Notifications</a>
              <button type="button" class="link" onClick={() => api.logout().finally(() => (location.hash = '#/'))}>
                Log out
              </button>
            </>
          ) : (
            <>
              <a href="#/login">Log in</a>
              <a href="#/register">Register</a>
            </>
          )}
        </nav>
      </header>
      {page(route, signedIn)}
    </>
  );
}

render(<App />, document.getElementById('app')!);
