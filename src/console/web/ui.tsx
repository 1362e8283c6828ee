import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

const TONES: Record<string, string> = {
  pass: 'good',
  verified: 'good',
  approved: 'good',
  active: 'good',
  delivered: 'good',
  allowed: 'good',
  fail: 'bad',
  failed: 'bad',
  suspended: 'bad',
  rejected: 'bad',
  bounced: 'bad',
  disabled: 'bad',
  'not allowed': 'bad',
  temperror: 'warn',
  deferred: 'warn',
  retiring: 'warn',
  verp: 'good',
  reject: 'warn',
  pending_review: 'warn',
  held: 'warn',
  retrying: 'warn',
};

/** A status word in a coloured pill; the word itself carries the meaning, the colour only helps. */
export function Badge({ value, label }: { value: string; label?: string }) {
  return (
    <span class={`badge tone-${TONES[value] ?? 'neutral'}`} data-value={value}>
      {label ? <span class="visually-hidden">{label}: </span> : null}
      {value.replace(/_/g, ' ')}
    </span>
  );
}

/** Copies `text`; says so in a live region for screen readers. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<'copied' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone('copied');
    } catch {
      setDone('failed');
    }
    setTimeout(() => setDone(null), 2000);
  };
  return (
    <button type="button" class="copy" onClick={copy} aria-label={`Copy ${label}`}>
      <span aria-live="polite">{done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed' : 'Copy'}</span>
    </button>
  );
}

/** A value to paste somewhere, with its copy button. */
export function CopyValue({ text, label }: { text: string; label: string }) {
  return (
    <div class="copy-value">
      <code class="value">{text}</code>
      <CopyButton text={text} label={label} />
    </div>
  );
}

/** An error from the API: its problem's status and title, then its detail, in an alert. */
export function ErrorNote({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  const message = error instanceof ApiError ? error.message : String((error as Error).message ?? error);
  const title = error instanceof ApiError && error.status && error.title && error.title !== message ? `${error.status} ${error.title}` : null;
  return (
    <p class="error" role="alert" id={id} data-status={error instanceof ApiError ? error.status : undefined}>
      {title ? <strong class="error-title">{title}: </strong> : null}
      {message}
    </p>
  );
}

/** The API's problems about one form field, shown beside it and tied to it by id. */
export function FieldErrors({ id, error, field }: { id: string; error: unknown; field: string }) {
  const messages = error instanceof ApiError ? error.about(field) : [];
  if (!messages.length) return null;
  return (
    <ul class="field-errors" id={id}>
      {messages.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/**
 * A loaded list as a table: its error, its empty state, the rows, and "Show more" when there is
 * a next page. `columns` are the header cells; a column without a visible name gives a node.
 */
export function ListTable<T>({
  error,
  items,
  empty,
  columns,
  row,
  tableClass,
  onMore,
}: {
  error: unknown;
  /** undefined while loading. */
  items: T[] | undefined;
  empty: ComponentChildren;
  columns: ComponentChildren[];
  row: (item: T) => ComponentChildren;
  tableClass?: string;
  /** Set when there is a next page. */
  onMore?: () => void;
}) {
  return (
    <>
      <ErrorNote error={error} />
      {items && items.length === 0 ? <Empty>{empty}</Empty> : null}
      {items && items.length > 0 ? (
        <div class="table-wrap">
          <table class={tableClass}>
            <thead>
              <tr>
                {columns.map((c, i) => (
                  <th key={i} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>{items.map(row)}</tbody>
          </table>
        </div>
      ) : null}
      {onMore ? (
        <button type="button" class="secondary" onClick={onMore}>
          Show more
        </button>
      ) : null}
    </>
  );
}

export function Section({ title, id, children, actions }: { title: string; id: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-labelledby={id}>
      <div class="card-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** Loads something once (and again on `reload()`), keeping the last value while it reloads. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (v) => live && (setValue(v), setError(null)),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { value, error, reload };
}

/** Runs a form action: busy while it runs, its error kept for the fields to show. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async <T,>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> => {
    setBusy(true);
    setError(null);
    try {
      return { ok: true, value: await fn() };
    } catch (e) {
      setError(e);
      return { ok: false };
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}
