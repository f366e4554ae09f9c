import { useEffect, useMemo, useState } from 'preact/hooks';
import { useLoad } from '../page';
import { describe, jaeger, lookbacks, type Query, type Trace } from './jaeger';
import { duration, summarize, when } from './model';

// Jaeger's own UI allows as many; a search of more is slow to draw.
const maxLimit = 1500;

/** parseQuery reads a search from the route's query; a missing or bad value takes its default. */
export function parseQuery(query: string): Query {
  const p = new URLSearchParams(query);
  const limit = Number(p.get('limit'));
  const lookback = p.get('lookback') ?? '';
  return {
    service: p.get('service') ?? '',
    operation: p.get('operation') ?? '',
    limit: Number.isInteger(limit) && limit >= 1 && limit <= maxLimit ? limit : 20,
    lookback: Object.hasOwn(lookbacks, lookback) ? lookback : '1h',
  };
}

// Every request enters through the gateway: its traces are the whole ones.
const standard = (services: string[] | null) => (services?.includes('gateway') ? 'gateway' : (services?.[0] ?? ''));

/**
 * SearchView finds traces by service, operation and time; the search is
 * in the fragment (#/?service=gateway&lookback=1h), so it can be linked
 * to and the back button returns to it.
 */
export function SearchView({ query }: { query: string }) {
  const q = parseQuery(query);
  const [services, setServices] = useState<string[] | null>(null);
  const [operations, setOperations] = useState<string[]>([]);
  // The form's choices, before they are searched for: the route sets
  // them, so that the form (and the focus in it) stays across searches.
  const [service, setService] = useState(q.service);
  const [operation, setOperation] = useState(q.operation);
  const [limit, setLimit] = useState(String(q.limit));
  const [lookback, setLookback] = useState(q.lookback);
  const [servicesError, setServicesError] = useState<unknown>(null);
  const [operationsError, setOperationsError] = useState<unknown>(null);
  // Asking again for services and operations after a failure.
  const [retries, setRetries] = useState(0);
  const [traces, setTraces] = useState<Trace[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    // #/ alone is a new search: the default service again.
    setService(q.service || standard(services));
    setOperation(q.operation);
    setLimit(String(q.limit));
    setLookback(q.lookback);
  }, [query]);
  useLoad(
    () => {
      setServicesError(null);
      return jaeger.services();
    },
    (s) => {
      setServices(s);
      setService((current) => current || standard(s));
    },
    setServicesError,
    [retries],
  );
  useLoad(
    () => {
      setOperationsError(null);
      return service ? jaeger.operations(service) : Promise.resolve([]);
    },
    setOperations,
    setOperationsError,
    [service, retries],
  );
  useLoad(
    () => {
      setTraces(null);
      setError(null);
      return q.service ? jaeger.search(q) : Promise.resolve(null);
    },
    setTraces,
    setError,
    [query, tick],
  );
  const lookupError = servicesError ?? operationsError;

  const find = (e: Event) => {
    e.preventDefault();
    if (lookupError) setRetries(retries + 1);
    const next = new URLSearchParams({ service, operation, limit, lookback });
    if (!operation) next.delete('operation');
    // The same search again asks again: new traces may have come.
    if (next.toString() === query) setTick(tick + 1);
    else location.hash = `#/?${next}`;
  };
  const open = (e: Event) => {
    e.preventDefault();
    const id = String(new FormData(e.currentTarget as HTMLFormElement).get('trace-id')).trim().toLowerCase();
    if (id) location.hash = `#/trace/${encodeURIComponent(id)}`;
  };
  // An operation of the link that the service no longer lists stays choosable.
  const choices = operation && !operations.includes(operation) ? [operation, ...operations] : operations;

  return (
    <main class="wide">
      <h1 tabIndex={-1}>Traces</h1>
      <form class="row" onSubmit={find} aria-label="Search traces">
        <div class="field">
          <label for="service">Service</label>
          <select
            id="service"
            value={service}
            required
            onChange={(e) => {
              setService(e.currentTarget.value);
              setOperation('');
            }}
          >
            {services === null && <option value={service}>{service || 'Loading…'}</option>}
            {services?.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="operation">Operation</label>
          <select id="operation" value={operation} onChange={(e) => setOperation(e.currentTarget.value)}>
            <option value="">All operations</option>
            {choices.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </div>
        <div class="field short">
          <label for="limit">Limit</label>
          <input
            id="limit"
            type="number"
            min={1}
            max={maxLimit}
            required
            value={limit}
            onInput={(e) => setLimit(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="lookback">Lookback</label>
          <select id="lookback" value={lookback} onChange={(e) => setLookback(e.currentTarget.value)}>
            {Object.entries(lookbacks).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" disabled={!service}>
          Find traces
        </button>
      </form>
      <form class="row by-id" onSubmit={open} aria-label="Open a trace by its ID">
        <div class="field">
          <label for="trace-id">Trace ID</label>
          <input id="trace-id" name="trace-id" pattern="\s*[0-9a-fA-F]{1,32}\s*" autoComplete="off" spellcheck={false} />
        </div>
        <button type="submit">Open trace</button>
      </form>
      {lookupError && (
        <p class="error" role="alert">
          {describe(lookupError)}{' '}
          <button type="button" onClick={() => setRetries(retries + 1)}>
            Try again
          </button>
        </p>
      )}
      {services?.length === 0 && <p role="status">Jaeger holds no traces yet: use the shop or the API, then search again.</p>}
      <Results q={q} traces={traces} error={error} />
    </main>
  );
}

function Results({ q, traces, error }: { q: Query; traces: Trace[] | null; error: unknown }) {
  if (!q.service) return null;
  if (error)
    return (
      <p class="error" role="alert">
        {describe(error)}
      </p>
    );
  if (!traces) return <p aria-busy="true">Searching…</p>;
  const what = `${q.service}${q.operation ? `, ${q.operation},` : ''} in the ${lookbacks[q.lookback].label.toLowerCase()}`;
  if (traces.length === 0) return <p role="status">No traces of {what}.</p>;
  return (
    <>
      <h2>
        {traces.length} trace{traces.length === 1 ? '' : 's'} of {what}
      </h2>
      <ul class="traces">
        {traces.map((t) => (
          <TraceItem key={t.traceID} t={t} />
        ))}
      </ul>
    </>
  );
}

function TraceItem({ t }: { t: Trace }) {
  const s = useMemo(() => summarize(t), [t]);
  return (
    <li class={`panel${s.errors > 0 ? ' failed' : ''}`}>
      <p class="title">
        <a href={`#/trace/${t.traceID}`}>
          {s.root.service}: {s.root.span.operationName}
        </a>{' '}
        {s.errors > 0 && (
          <span class="badge error">
            {s.errors} error{s.errors === 1 ? '' : 's'}
          </span>
        )}
      </p>
      <p class="muted">
        {s.spans} spans · {duration(s.duration)} · {when(s.start)} · <code>{t.traceID.slice(0, 7)}</code>
      </p>
      <ul class="service-list" aria-label="Services">
        {s.services.map((v) => (
          <li key={v.name}>
            {v.name} ({v.spans})
          </li>
        ))}
      </ul>
    </li>
  );
}
