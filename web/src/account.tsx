import { useEffect, useState } from 'preact/hooks';
import { api, type PaymentMethod, type Preferences } from './api';
import { ErrorLine, Field, fieldError, useAction } from './ui';

export function LoginView({ next }: { next: string }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      await api.login(String(f.get('email')), String(f.get('password')));
      location.hash = `#${next === '/login' ? '/' : next}`;
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main>
      <h1 tabIndex={-1}>Log in</h1>
      <form onSubmit={submit} class="form">
        <Field label="Email" name="email" type="email" autoComplete="username" required error={fieldError(error, 'email')} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required error={fieldError(error, 'password')} />
        <ErrorLine error={error} fields={['email', 'password']} />
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
      <p>
        New here? <a href="#/register">Create an account</a>
      </p>
    </main>
  );
}

export function RegisterView() {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const [name, email, password] = ['name', 'email', 'password'].map((k) => String(f.get(k)));
    setBusy(true);
    setError(null);
    try {
      await api.register(name, email, password);
      await api.login(email, password);
      location.hash = '#/';
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main>
      <h1 tabIndex={-1}>Create an account</h1>
      <form onSubmit={submit} class="form">
        <Field label="Name" name="name" autoComplete="name" required error={fieldError(error, 'name')} />
        <Field label="Email" name="email" type="email" autoComplete="email" required error={fieldError(error, 'email')} />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          aria-describedby="pw-hint"
          error={fieldError(error, 'password')}
        />
        <p id="pw-hint" class="hint">
          At least 12 characters, with an upper case letter, a lower case letter and a digit.
        </p>
        <ErrorLine error={error} fields={['name', 'email', 'password']} />
        <button type="submit" disabled={busy}>
          Create account
        </button>
      </form>
    </main>
  );
}

// Stripe's test PaymentMethods: no card number ever passes through the shop.
const testCards = [
  { id: 'pm_card_visa', label: 'Visa test card (succeeds)' },
  { id: 'pm_card_mastercard', label: 'Mastercard test card (succeeds)' },
  { id: 'pm_card_chargeDeclined', label: 'Test card that is declined' },
];

export function CardsView() {
  const [cards, setCards] = useState<PaymentMethod[] | null>(null);
  const [choice, setChoice] = useState(testCards[0].id);
  const action = useAction();
  const { busy, error } = action;
  const load = () => api.cards().then(setCards, action.setError);
  useEffect(() => {
    load();
  }, []);
  const run = (f: () => Promise<unknown>) =>
    action.run(async () => {
      await f();
      await load();
    });
  const save = (e: Event) => {
    e.preventDefault();
    run(() => api.saveCard(choice));
  };
  return (
    <main>
      <h1 tabIndex={-1}>Payment cards</h1>
      {cards && cards.length === 0 && <p>No card saved yet.</p>}
      {cards && cards.length > 0 && (
        <ul class="lines" aria-label="Saved cards">
          {cards.map((c) => (
            <li key={c.id}>
              {c.brand} ending in {c.last4}, expires {String(c.exp_month).padStart(2, '0')}/{c.exp_year}
              {c.default ? (
                <strong> (default, charged at checkout)</strong>
              ) : (
                <>
                  {' '}
                  <button
                    type="button"
                    class="link"
                    disabled={busy}
                    aria-label={`Charge the ${c.brand} ending in ${c.last4} at checkout`}
                    onClick={() => run(() => api.makeDefault(c.id))}
                  >
                    Make default
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={save} class="form">
        <div class="field">
          <label for="card">Test card</label>
          <select id="card" value={choice} onChange={(e) => setChoice(e.currentTarget.value)}>
            {testCards.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
          {fieldError(error, 'payment_method') && <p class="field-error">{fieldError(error, 'payment_method')}</p>}
        </div>
        <ErrorLine error={error} fields={['payment_method']} />
        <button type="submit" disabled={busy}>
          Save card
        </button>
      </form>
    </main>
  );
}

const channels: [keyof Preferences, string][] = [
  ['email', 'Email'],
  ['sms', 'Text message (SMS)'],
  ['push', 'Push notification'],
];

/** PreferencesView sets the channels the shop may reach the customer on. */
export function PreferencesView() {
  const [prefs, setPrefs] = useState<Preferences | null>(null);
  const { busy, error, setError, run } = useAction();
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    api.preferences().then(setPrefs, setError);
  }, []);
  const save = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    setSaved(false);
    run(async () => {
      setPrefs(await api.setPreferences({ email: f.has('email'), sms: f.has('sms'), push: f.has('push') }));
      setSaved(true);
    });
  };
  return (
    <main>
      <h1 tabIndex={-1}>Notifications</h1>
      <ErrorLine error={error} />
      {prefs && (
        <form onSubmit={save} class="form">
          <fieldset>
            <legend>Tell me about my orders by</legend>
            {channels.map(([k, label]) => (
              <label key={k} class="check">
                <input type="checkbox" name={k} defaultChecked={prefs[k]} onChange={() => setSaved(false)} /> {label}
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={busy}>
            Save preferences
          </button>
          <p role="status">{saved ? 'Preferences saved.' : ''}</p>
        </form>
      )}
    </main>
  );
}
