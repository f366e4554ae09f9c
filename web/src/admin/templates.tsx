import { useState } from 'preact/hooks';
import { ErrorLine, fieldError } from '../ui';
import { useLoad } from '../page';
import { admin, type Template } from './api';
import { Done } from './parts';
import { render, samples } from './preview';

const names = Object.keys(samples);

function Area({ label, name, value, onInput, rows, error }: { label: string; name: string; value: string; onInput: (v: string) => void; rows: number; error?: string }) {
  const id = `tpl-${name}`;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <textarea id={id} name={name} rows={rows} value={value} onInput={(e) => onInput(e.currentTarget.value)} aria-invalid={error ? 'true' : undefined} aria-describedby={error ? `${id}-error` : undefined} spellcheck={false} />
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {label} {error}
        </p>
      )}
    </div>
  );
}

export function TemplatesView({ name }: { name: string }) {
  const current = names.includes(name) ? name : names[0];
  const [tpl, setTpl] = useState<Template | null>(null);
  const [draft, setDraft] = useState({ subject: '', body: '', text: '' });
  const [error, setError] = useState<unknown>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saved, setSaved] = useState('');
  useLoad(
    () => {
      setTpl(null);
      setError(null);
      setSaveError(null);
      setSaved('');
      return admin.template(current);
    },
    (t) => {
      setTpl(t);
      setDraft({ subject: t.subject, body: t.body, text: t.text });
    },
    setError,
    [current],
  );
  const save = async (e: Event) => {
    e.preventDefault();
    setSaveError(null);
    setSaved('');
    try {
      setTpl(await admin.saveTemplate(current, draft));
      setSaved('Template saved.');
    } catch (err) {
      setSaveError(err);
    }
  };
  const sample = samples[current];
  const set = (k: keyof typeof draft) => (v: string) => setDraft({ ...draft, [k]: v });
  return (
    <main>
      <h1 tabIndex={-1}>Notification templates</h1>
      <div class="field narrow-select">
        <label for="tpl-name">Template</label>
        <select id="tpl-name" value={current} onChange={(e) => (location.hash = `#/templates/${e.currentTarget.value}`)}>
          {names.map((n) => (
            <option key={n} value={n}>
              {n.replace(/_/g, ' ')}
            </option>
          ))}
        </select>
      </div>
      <ErrorLine error={error} />
      {tpl && (
        <div class="split">
          <form class="form" onSubmit={save}>
            <Area label="Subject" name="subject" rows={2} value={draft.subject} onInput={set('subject')} error={fieldError(saveError, 'subject')} />
            <Area label="HTML body" name="body" rows={8} value={draft.body} onInput={set('body')} error={fieldError(saveError, 'body')} />
            <Area label="Plain text (also SMS and push)" name="text" rows={4} value={draft.text} onInput={set('text')} error={fieldError(saveError, 'text')} />
            <p class="hint">
              Fields: {Object.keys(sample).map((k) => `{{.${k}}}`).join(' ')}; {'{{money .TotalCents .Currency}}'}
            </p>
            <ErrorLine error={saveError} fields={['subject', 'body', 'text']} />
            <button type="submit">Save template</button>
            {saved && <Done>{saved}</Done>}
            <p class="hint">Last saved {new Date(tpl.updated_at).toLocaleString()}.</p>
          </form>
          <section class="preview" aria-labelledby="preview-h">
            <h2 id="preview-h">Preview with sample data</h2>
            <p>
              <strong>Subject:</strong> <span data-testid="preview-subject">{render(draft.subject, sample)}</span>
            </p>
            {/* No script runs in the preview: an empty sandbox. */}
            <iframe title="HTML body preview" sandbox="" srcdoc={render(draft.body, sample, true)} />
            <pre data-testid="preview-text">{render(draft.text, sample)}</pre>
          </section>
        </div>
      )}
    </main>
  );
}
