import { useEffect, useState } from 'preact/hooks';
import { ErrorLine } from '../ui';
import { admin, type DeadLetter, type DeadLetterPage } from './api';
import { Pager } from './catalog';
import { Done } from './parts';

const services = ['products', 'orders', 'payments', 'notifications', 'workers'];

// DeadLettersView lists the dead letters of every service, or of one.
// Replays run after the API accepts them: the list shows their outcome
// once reloaded.
export function DeadLettersView({ service }: { service: string }) {
  const current = services.includes(service) ? service : '';
  const [page, setPage] = useState<DeadLetterPage | null>(null);
  const [n, setN] = useState(1);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const load = () => admin.deadLetters(current, n).then(setPage, setError);
  useEffect(() => {
    setError(null);
    setDone('');
    load();
  }, [current, n]);
  const replay = async (f: () => Promise<string>) => {
    setError(null);
    setDone('');
    try {
      setDone(await f());
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const one = (d: DeadLetter) =>
    replay(async () => {
      await admin.replay(d.id);
      return `Replay of ${d.service}'s event ${d.event_id} started; reload to see its outcome.`;
    });
  const all = () =>
    replay(async () => {
      const r = await admin.replayAll(current);
      const down = r.unavailable.length > 0 ? ` Not reached: ${r.unavailable.join(', ')}.` : '';
      return `Replay of ${r.queued} letter${r.queued === 1 ? '' : 's'} started, of ${r.unresolved} unresolved; reload to see the outcome.${down}`;
    });
  const where = current || 'any service';
  return (
    <main>
      <h1 tabIndex={-1}>Dead letters</h1>
      <div class="field narrow-select">
        <label for="service-filter">Service</label>
        <select
          id="service-filter"
          value={current}
          onChange={(e) => {
            setN(1);
            location.hash = `#/dead-letters${e.currentTarget.value ? `?service=${e.currentTarget.value}` : ''}`;
          }}
        >
          <option value="">Any</option>
          {services.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <ErrorLine error={error} />
      {done && <Done>{done}</Done>}
      {page && page.unavailable.length > 0 && (
        <p role="alert" class="error">
          Not listed, their service did not answer: the dead letters of {page.unavailable.join(', ')}.
        </p>
      )}
      <p>
        <button
          type="button"
          onClick={() => {
            setError(null);
            setDone('');
            load();
          }}
        >
          Reload
        </button>{' '}
        {page && page.items.some((d) => d.status === 'unresolved') && (
          <button type="button" onClick={all}>
            Replay unresolved letters of {where}
          </button>
        )}
      </p>
      {page && page.items.length === 0 && <p>No dead letters in {where}.</p>}
      {page && page.items.length > 0 && (
        <ul class="letters">
          {page.items.map((d) => (
            <li key={d.id} class="panel">
              <p>
                <strong>{d.service}</strong> · {d.topic} · <code>{d.event_id}</code> · <span class={`badge ${d.status}`}>{d.status}</span>
              </p>
              <p class="muted">
                {d.attempts} time{d.attempts === 1 ? '' : 's'}, first {new Date(d.first_seen).toLocaleString()}, last {new Date(d.last_seen).toLocaleString()}
                {d.last_replay_at && `, last replayed ${new Date(d.last_replay_at).toLocaleString()}`}
              </p>
              <p>Last error: {d.error}</p>
              {d.status === 'unresolved' && (
                <button type="button" onClick={() => one(d)} aria-label={`Replay ${d.service}'s event ${d.event_id}`}>
                  Replay
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {page && <Pager page={n} size={page.page_size} total={page.total} onPage={setN} />}
    </main>
  );
}
