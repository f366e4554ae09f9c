import { useMemo, useState } from 'preact/hooks';
import { useLoad } from '../page';
import { describe, jaeger, JaegerError, type KeyValue, type Trace } from './jaeger';
import { duration, rows, summarize, when, type Row, type Summary } from './model';

// Colours are by the service's place in the trace's sorted list: eight
// of them (traces.css), more than daprshop has services.
const colours = 8;

// Tags that say a span failed, shown in the error colour.
const errorTags = new Set(['error', 'otel.status_code', 'otel.status_description', 'exception.message', 'exception.type']);

/** TraceView draws one trace as a waterfall: spans indented under their parents, bars on the trace's time. */
export function TraceView({ id, back }: { id: string; back: string }) {
  const [trace, setTrace] = useState<Trace | null>(null);
  const [error, setError] = useState<unknown>(null);
  useLoad(
    () => {
      setTrace(null);
      setError(null);
      return jaeger.trace(id);
    },
    setTrace,
    setError,
    [id],
  );
  const notFound = error instanceof JaegerError && error.status === 404;
  // Not again at each span opened or closed.
  const tree = useMemo(() => trace && rows(trace), [trace]);
  const s = useMemo(() => trace && tree && summarize(trace, tree), [tree]);
  // One heading throughout, so that the focus the route put on it stays.
  const title = s ? `${s.root.service}: ${s.root.span.operationName}` : notFound ? 'Trace not found' : `Trace ${id}`;
  return (
    <main class="wide">
      <p>
        <a href={back}>← Search</a>
      </p>
      <h1 tabIndex={-1}>{title}</h1>
      {trace && tree && s ? (
        <Waterfall trace={trace} tree={tree} s={s} />
      ) : (
        <>
          {notFound && (
            <p role="alert" class="error">
              Jaeger holds no trace {id}. It keeps traces in memory: a restart forgets them.
            </p>
          )}
          {error && !notFound && (
            <p role="alert" class="error">
              {describe(error)}
            </p>
          )}
          {!error && <p aria-busy="true">Loading…</p>}
        </>
      )}
    </main>
  );
}

function Waterfall({ trace, tree, s }: { trace: Trace; tree: Row[]; s: Summary }) {
  const colour = new Map(s.services.map((v, i) => [v.name, `svc-${i % colours}`]));
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (spanID: string) => {
    const next = new Set(open);
    if (!next.delete(spanID)) next.add(spanID);
    setOpen(next);
  };
  // A span of no duration still shows as a sliver.
  const total = Math.max(s.duration, 1);
  return (
    <>
      <dl class="facts">
        <dt>Trace ID</dt>
        <dd>
          <code>{trace.traceID}</code>
        </dd>
        <dt>Started</dt>
        <dd>{when(s.start)}</dd>
        <dt>Duration</dt>
        <dd>{duration(s.duration)}</dd>
        <dt>Spans</dt>
        <dd>
          {s.spans}
          {s.errors > 0 && (
            <>
              {' '}
              <span class="badge error">
                {s.errors} error{s.errors === 1 ? '' : 's'}
              </span>
            </>
          )}
        </dd>
      </dl>
      <h2>{s.services.length} services</h2>
      <ul class="legend" aria-label="Services">
        {s.services.map((v) => (
          <li key={v.name}>
            <span class={`swatch ${colour.get(v.name)}`} aria-hidden="true" />
            {v.name} ({v.spans})
          </li>
        ))}
      </ul>
      <h2>Spans</h2>
      <p class="hint-inline">Choose a span for its tags and logs.</p>
      <div class="ruler" aria-hidden="true">
        <span>Service and operation</span>
        <span class="ticks">
          {[0, 0.25, 0.5, 0.75, 1].map((f) => (
            <span key={f}>{duration(f * s.duration)}</span>
          ))}
        </span>
      </div>
      <ul class="spans">
        {tree.map((r) => (
          <SpanRow key={r.span.spanID} r={r} t0={s.start} total={total} colour={colour.get(r.service)!} open={open.has(r.span.spanID)} toggle={toggle} />
        ))}
      </ul>
    </>
  );
}

interface SpanRowProps {
  r: Row;
  t0: number;
  total: number;
  colour: string;
  open: boolean;
  toggle: (spanID: string) => void;
}

function SpanRow({ r, t0, total, colour, open, toggle }: SpanRowProps) {
  const { span } = r;
  const detailID = `span-${span.spanID}`;
  const x = ((span.startTime - t0) / total) * 100;
  return (
    <li class={r.error ? 'failed' : undefined}>
      <button type="button" class="span" aria-expanded={open} aria-controls={open ? detailID : undefined} onClick={() => toggle(span.spanID)}>
        <span class="name" style={`--depth: ${r.depth}`}>
          <span class="label">
            <span class={`svc ${colour}`}>{r.service}</span> {span.operationName}
            {r.error && (
              <>
                {' '}
                <span class="badge error">error</span>
              </>
            )}
          </span>
        </span>{' '}
        <span class="bar">
          <svg viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true">
            <rect class={colour} x={Math.min(x, 99.7)} y="0" width={Math.max((span.duration / total) * 100, 0.3)} height="1" />
          </svg>{' '}
          <span class="dur">{duration(span.duration)}</span>
        </span>
      </button>
      {open && <SpanDetail id={detailID} r={r} t0={t0} />}
    </li>
  );
}

function SpanDetail({ id, r, t0 }: { id: string; r: Row; t0: number }) {
  const { span } = r;
  return (
    <div class="detail" id={id}>
      <dl class="facts">
        <dt>Span ID</dt>
        <dd>
          <code>{span.spanID}</code>
        </dd>
        <dt>Parent</dt>
        <dd>{r.parent ? <code>{r.parent}</code> : 'none in this trace'}</dd>
        <dt>Start</dt>
        <dd>
          +{duration(span.startTime - t0)} ({when(span.startTime)})
        </dd>
        <dt>Duration</dt>
        <dd>{duration(span.duration)}</dd>
      </dl>
      <h3>Tags</h3>
      <KeyValues values={span.tags ?? []} />
      {(span.logs ?? []).length > 0 && (
        <>
          <h3>Logs</h3>
          <ol class="logs">
            {span.logs!.map((l, i) => (
              <li key={i}>
                <p>+{duration(l.timestamp - t0)}</p>
                <KeyValues values={l.fields} />
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

function KeyValues({ values }: { values: KeyValue[] }) {
  if (values.length === 0) return <p class="muted">None.</p>;
  return (
    <table class="kv">
      <tbody>
        {values.map((kv, i) => (
          <tr key={i} class={errorTags.has(kv.key) ? 'failed' : undefined}>
            <th scope="row">{kv.key}</th>
            <td>{String(kv.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
