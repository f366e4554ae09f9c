// What every page has (the shop, the admin console, the trace viewer),
// free of any API client: its route, the focus on its heading, loading.
import { useEffect, useState } from 'preact/hooks';

/**
 * useRoute is the page's route, from its fragment (#/product/<id>): the
 * servers of these pages serve only real files (or, Jaeger, one page for
 * every path), so no route needs a path of its own.
 */
export function useRoute(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.replace(/^#/, '') || '/';
}

/**
 * useLoad runs load whenever deps change and hands its answer to onValue,
 * a failure to onError, unless deps changed again before it came: an
 * earlier, slower answer must not overwrite the one the view now shows
 * (picking a template, then another, showed the first one's text).
 */
export function useLoad<T>(load: () => Promise<T>, onValue: (v: T) => void, onError: (e: unknown) => void, deps: unknown[]) {
  useEffect(() => {
    let current = true;
    load().then(
      (v) => current && onValue(v),
      (e) => current && onError(e),
    );
    return () => {
      current = false;
    };
  }, deps);
}

/** focusHeading moves the focus to the view's heading, for screen readers: the page does not reload. */
export const focusHeading = () => document.querySelector<HTMLElement>('main h1')?.focus();

/** SkipLink lets a keyboard skip the header, to the view's heading. */
export function SkipLink() {
  return (
    <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), focusHeading())}>
      Skip to content
    </a>
  );
}
