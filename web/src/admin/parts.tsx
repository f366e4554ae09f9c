// Small pieces the console's views share.
import type { ComponentChildren } from 'preact';

/** Done announces a finished action politely to screen readers. */
export function Done({ children }: { children: ComponentChildren }) {
  return (
    <p class="done" role="status">
      {children}
    </p>
  );
}

/** newKey draws an Idempotency-Key for one attempt of an action. */
export const newKey = () => crypto.randomUUID();
