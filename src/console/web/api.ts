// The console's only way out: the public /v1 API on this origin, with the owner's key.

const KEY = 'mailwarden.apiKey';

/** The key lives in sessionStorage only: never a cookie, never the URL. */
export const session = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem (or a network failure) from the API. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: FieldError[] = [],
    /** The problem's title (`Conflict`, `Bad Request`), when the API sent one. */
    readonly title: string | null = null,
  ) {
    super(message);
  }

  /** The messages of the fields named `field` or below it (`cidrs` covers `cidrs.2`). */
  about(field: string): string[] {
    return this.errors.filter((e) => e.field === field || e.field.startsWith(`${field}.`)).map((e) => `${e.field}: ${e.message}`);
  }
}

/** Called when the API refuses the key, so the app can sign out. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

async function toError(res: Response): Promise<ApiError> {
  let body: { detail?: string; title?: string; errors?: FieldError[] } = {};
  try {
    body = await res.json();
  } catch {
    // not problem+json: the status says enough
  }
  return new ApiError(
    res.status,
    body.detail ?? body.title ?? `HTTP ${res.status}`,
    Array.isArray(body.errors) ? body.errors : [],
    typeof body.title === 'string' ? body.title : null,
  );
}

async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, key = session.get()): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      // The console keeps its own ETag; the browser's cache must not answer for the API.
      cache: 'no-store',
      credentials: 'omit',
      headers: {
        Accept: 'application/json',
        ...(key ? { Authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'the API cannot be reached');
  }
  if (res.status === 401) onUnauthorized();
  return res;
}

/** Calls the API and returns its JSON (undefined for 202/204 without a body); throws ApiError otherwise. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body);
  if (!res.ok) throw await toError(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Checks a key before it is kept. */
export async function checkKey(key: string): Promise<void> {
  const res = await send('GET', '/v1/domains?limit=1', undefined, {}, key);
  if (!res.ok) throw await toError(res);
}

/**
 * A conditional GET: sends the last ETag in If-None-Match, so an unchanged resource costs a
 * 304 and the caller keeps what it has (`changed: false`).
 */
export async function getIfChanged<T>(path: string, etag: string | null): Promise<{ changed: true; body: T; etag: string | null } | { changed: false }> {
  // Our own Cache-Control keeps fetch from adding `no-cache`, which would make the server skip its ETag check.
  const res = await send('GET', path, undefined, etag ? { 'If-None-Match': etag, 'Cache-Control': 'max-age=0' } : {});
  if (res.status === 304) return { changed: false };
  if (!res.ok) throw await toError(res);
  return { changed: true, body: (await res.json()) as T, etag: res.headers.get('ETag') };
}

export const enc = encodeURIComponent;

/** The choices the API accepts, read from its own /openapi.json so the console cannot drift from it. */
export interface Choices {
  algorithms: string[];
  /** The algorithms a rotation may switch to. */
  rotationAlgorithms: string[];
  events: string[];
  /** What the relay does while a return path is not verified. */
  fallbacks: string[];
}

let choices: Promise<Choices> | null = null;

function enumAt(node: unknown, path: string[]): string[] {
  let at = node as Record<string, unknown> | undefined;
  for (const step of path) at = at?.[step] as Record<string, unknown> | undefined;
  return Array.isArray(at?.enum) ? (at.enum as string[]) : [];
}

export function apiChoices(): Promise<Choices> {
  choices ??= fetch('/openapi.json', { credentials: 'omit' })
    .then((res) => (res.ok ? res.json() : {}))
    .then((doc: { components?: { schemas?: Record<string, unknown> } }) => {
      const schemas = doc.components?.schemas ?? {};
      return {
        algorithms: enumAt(schemas.CreateDomain, ['properties', 'dkim', 'properties', 'algorithm']),
        rotationAlgorithms: enumAt(schemas.RotateDkim, ['properties', 'algorithm']),
        events: enumAt(schemas.CreateWebhook, ['properties', 'events', 'items']),
        fallbacks: enumAt(schemas.SetReturnPath, ['properties', 'fallback']),
      };
    })
    .catch(() => ({ algorithms: [], rotationAlgorithms: [], events: [], fallbacks: [] }));
  return choices;
}
