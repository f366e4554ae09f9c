// Small pieces every view uses: form fields that show the API's message
// next to them, and the one line an error becomes otherwise.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from './api';

let fieldSeq = 0;

interface FieldProps extends JSX.InputHTMLAttributes<HTMLInputElement> {
  label: string;
  /** error is the API's message for this field on a 422. */
  error?: string;
}

export function Field({ label, error, id, ...input }: FieldProps) {
  const inputID = (id as string) || `f${++fieldSeq}`;
  const errID = `${inputID}-error`;
  return (
    <div class="field">
      <label for={inputID}>{label}</label>
      <input id={inputID} aria-invalid={error ? 'true' : undefined} aria-describedby={error ? errID : undefined} {...input} />
      {error && (
        <p class="field-error" id={errID}>
          {label} {error}
        </p>
      )}
    </div>
  );
}

/** describe is the sentence a person should read for err. */
export function describe(err: unknown): string {
  if (!(err instanceof ApiError)) return 'The shop could not be reached. Check your connection and try again.';
  const detail = err.problem.detail || err.problem.title;
  switch (err.status) {
    case 409:
      return `Not possible right now: ${detail}`;
    case 429:
      return `Too many attempts. Try again${err.retryAfter ? ` in ${err.retryAfter} seconds` : ' shortly'}.`;
    case 503:
    case 502:
    case 504:
      return 'The shop is temporarily unavailable. Please try again in a moment.';
    case 422:
      return err.problem.errors?.length
        ? `Please correct: ${err.problem.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`
        : detail;
    default:
      return detail;
  }
}

/**
 * ErrorLine shows err as one clear line, or nothing. With fields, a 422
 * whose every field is shown next to its input adds no line.
 */
export function ErrorLine({ error, fields = [] }: { error: unknown; fields?: string[] }) {
  if (!error) return null;
  if (error instanceof ApiError && error.status === 422) {
    const errs = error.problem.errors ?? [];
    if (errs.length > 0 && errs.every((e) => fields.includes(e.field))) return null;
  }
  return (
    <p class="error" role="alert">
      {describe(error)}
    </p>
  );
}

/** fieldError is the API's message for field when err is a 422. */
export function fieldError(err: unknown, field: string): string | undefined {
  return err instanceof ApiError && err.status === 422 ? err.fieldError(field) : undefined;
}

/** Head is a table's header row; the columns from num on hold numbers, aligned right. */
export function Head({ cols, num }: { cols: string[]; num: number }) {
  return (
    <thead>
      <tr>
        {cols.map((c, i) => (
          <th key={c} scope="col" class={i >= num ? 'num' : undefined}>
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/**
 * useAction runs one request at a time for a form or a button: busy while
 * it runs, the error it ended with (cleared when the next one starts).
 * run resolves to whether f succeeded.
 */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}
