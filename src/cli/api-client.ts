/** A problem+json answer (RFC 9457) or any other non-2xx answer of the API. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: Array<{ field: string; message: string }> = [],
  ) {
    super(`${status} ${title}: ${detail}`);
    this.name = 'ApiError';
  }
}

/** The API could not be reached at all (refused, DNS, timeout). */
export class UnreachableError extends Error {
  constructor(url: string, cause: string) {
    super(`cannot reach ${url}: ${cause}`);
    this.name = 'UnreachableError';
  }
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  etag: string | null;
}

/** A thin client of the HTTP API (MAILWARDEN_URL, MAILWARDEN_API_KEY) over Node's fetch. */
export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Sends one request; throws ApiError for any answer but 2xx and 304. */
  async request<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const url = new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`).toString();
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { Authorization: `Bearer ${this.apiKey}`, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      throw new UnreachableError(this.baseUrl, e.cause?.code ?? e.cause?.message ?? e.message);
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (res.status >= 400) {
      const p = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { title?: string; detail?: string; errors?: Array<{ field: string; message: string }> };
      throw new ApiError(res.status, p.title ?? res.statusText, p.detail ?? (typeof parsed === 'string' ? parsed.slice(0, 200) : 'no detail given'), p.errors ?? []);
    }
    return { status: res.status, body: parsed as T, etag: res.headers.get('etag') };
  }

  get<T = unknown>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, undefined, headers);
  }

  post<T = unknown>(path: string, body: unknown = {}) {
    return this.request<T>('POST', path, body);
  }

  put<T = unknown>(path: string, body: unknown = {}) {
    return this.request<T>('PUT', path, body);
  }

  delete<T = unknown>(path: string) {
    return this.request<T>('DELETE', path);
  }
}
