// What the viewer shows of a trace: its spans as a tree, and a summary
// for the list of search results.
import { start, type Span, type Trace } from './jaeger';

/** Row is a span placed in its trace's tree. */
export interface Row {
  span: Span;
  service: string;
  depth: number;
  /** parent is the ID of the span's parent in the trace, if Jaeger holds it. */
  parent?: string;
  error: boolean;
}

export interface Summary {
  root: Row;
  /** services are the trace's services by name, with how many spans each has. */
  services: { name: string; spans: number }[];
  spans: number;
  errors: number;
  start: number;
  duration: number;
}

/** isError tells whether s ended in error, as OpenTelemetry marks it (Jaeger turns its status into tags). */
export const isError = (s: Span) =>
  (s.tags ?? []).some((t) => (t.key === 'error' && String(t.value) === 'true') || (t.key === 'otel.status_code' && t.value === 'ERROR'));

/**
 * rows lists t's spans depth first, siblings in the order they started.
 * A span whose parent Jaeger does not hold (the client's own span, one
 * still in flight) is a root.
 */
export function rows(t: Trace): Row[] {
  const ids = new Set(t.spans.map((s) => s.spanID));
  const children = new Map<string | undefined, Span[]>();
  const parents = new Map<string, string | undefined>();
  for (const s of t.spans) {
    const parent = (s.references ?? []).find((r) => r.traceID === t.traceID && ids.has(r.spanID))?.spanID;
    parents.set(s.spanID, parent);
    const siblings = children.get(parent);
    if (siblings) siblings.push(s);
    else children.set(parent, [s]);
  }
  for (const c of children.values()) c.sort((a, b) => a.startTime - b.startTime);
  const out: Row[] = [];
  const seen = new Set<string>();
  const walk = (s: Span, depth: number) => {
    if (seen.has(s.spanID)) return;
    seen.add(s.spanID);
    out.push({ span: s, service: t.processes[s.processID]?.serviceName ?? s.processID, depth, parent: parents.get(s.spanID), error: isError(s) });
    for (const c of children.get(s.spanID) ?? []) walk(c, depth + 1);
  };
  for (const s of children.get(undefined) ?? []) walk(s, 0);
  // Spans that are each other's parents reach no root: listed all the same.
  for (const s of t.spans) walk(s, 0);
  return out;
}

/** summarize describes t by its first root span, its services, size and time. */
export function summarize(t: Trace, tree = rows(t)): Summary {
  const services = new Map<string, number>();
  for (const r of tree) services.set(r.service, (services.get(r.service) ?? 0) + 1);
  const t0 = start(t);
  let end = -Infinity;
  for (const s of t.spans) end = Math.max(end, s.startTime + s.duration);
  return {
    root: tree[0],
    services: [...services].map(([name, spans]) => ({ name, spans })).sort((a, b) => a.name.localeCompare(b.name)),
    spans: tree.length,
    errors: tree.filter((r) => r.error).length,
    start: t0,
    duration: end - t0,
  };
}

/** duration renders microseconds as a person reads them. */
export function duration(micros: number): string {
  if (micros < 1000) return `${Math.round(micros)} µs`;
  if (micros < 1e6) return `${+(micros / 1000).toFixed(micros < 1e4 ? 2 : 1)} ms`;
  return `${+(micros / 1e6).toFixed(2)} s`;
}

/** when renders a time in microseconds since the epoch in the reader's locale. */
export const when = (micros: number) => new Date(micros / 1000).toLocaleString();
