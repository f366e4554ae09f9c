// Jaeger's HTTP API, the one its own UI reads, at this page's origin:
// Jaeger serves the viewer and the API on one port. Times are in
// microseconds since the epoch, durations in microseconds.

export interface KeyValue {
  key: string;
  type: string;
  value: string | number | boolean;
}

export interface Log {
  timestamp: number;
  fields: KeyValue[];
}

export interface Span {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[] | null;
  startTime: number;
  duration: number;
  tags: KeyValue[] | null;
  logs: Log[] | null;
  processID: string;
}

export interface Trace {
  traceID: string;
  spans: Span[];
  processes: Record<string, { serviceName: string; tags: KeyValue[] | null }>;
}

/** JaegerError is an answer of Jaeger's API other than 2xx. */
export class JaegerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Query is a search for traces: lookback is one of lookbacks' keys. */
export interface Query {
  service: string;
  operation: string;
  limit: number;
  lookback: string;
}

/** lookbacks are the windows a search can look back over, in µs. */
export const lookbacks: Record<string, { label: string; micros: number }> = {
  '5m': { label: 'Last 5 minutes', micros: 5 * 60e6 },
  '15m': { label: 'Last 15 minutes', micros: 15 * 60e6 },
  '1h': { label: 'Last hour', micros: 3600e6 },
  '6h': { label: 'Last 6 hours', micros: 6 * 3600e6 },
  '24h': { label: 'Last 24 hours', micros: 24 * 3600e6 },
};

// Jaeger wraps every answer as {data, errors: [{code, msg}]}.
async function get<T>(path: string): Promise<T> {
  const resp = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await resp.json().catch(() => null);
  if (!resp.ok) {
    const msg = body?.errors?.map((e: { msg: string }) => e.msg).join('; ');
    throw new JaegerError(resp.status, msg || `${resp.status} ${resp.statusText}`);
  }
  // Jaeger answers a path of an API it lacks with this page, 200: that is
  // no empty answer.
  if (!resp.headers.get('Content-Type')?.includes('json') || body === null)
    throw new JaegerError(resp.status, `not its API's answer (${resp.headers.get('Content-Type') || 'no content type'}) at ${path}`);
  return body.data as T;
}

const e = encodeURIComponent;

export const jaeger = {
  services: async () => ((await get<string[] | null>('/api/services')) ?? []).sort(),
  operations: async (service: string) => ((await get<string[] | null>(`/api/services/${e(service)}/operations`)) ?? []).sort(),
  /** search returns the traces q finds, newest first. */
  search: async (q: Query) => {
    // The API takes the window as start and end; lookback is only echoed.
    const end = Date.now() * 1000;
    const params = new URLSearchParams({
      service: q.service,
      limit: String(q.limit),
      lookback: q.lookback,
      start: String(end - lookbacks[q.lookback].micros),
      end: String(end),
    });
    if (q.operation) params.set('operation', q.operation);
    const traces = (await get<Trace[] | null>(`/api/traces?${params}`)) ?? [];
    const starts = new Map(traces.map((t) => [t, start(t)]));
    return traces.sort((a, b) => starts.get(b)! - starts.get(a)!);
  },
  trace: async (id: string) => {
    const [t] = (await get<Trace[] | null>(`/api/traces/${e(id)}`)) ?? [];
    if (!t) throw new JaegerError(404, 'trace not found');
    return t;
  },
};

/** start is when the first span of t started. */
export function start(t: Trace): number {
  // A loop: spreading a trace's spans as arguments overflows the stack.
  let min = Infinity;
  for (const s of t.spans) min = Math.min(min, s.startTime);
  return min;
}

/** describe is the sentence a person should read for err. */
export function describe(err: unknown): string {
  if (!(err instanceof JaegerError)) return 'Jaeger could not be reached: is it running (make run starts it)?';
  return `Jaeger answered ${err.status}: ${err.message}`;
}
