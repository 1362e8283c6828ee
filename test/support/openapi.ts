import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Express } from 'express';
import request, { type Response } from 'supertest';

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, Json> }>>;
  components: { schemas: Record<string, Json>; responses?: Record<string, Json> };
}

interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  slash?: boolean;
}

/**
 * Every route express serves, as `GET /v1/domains/{id}`: the app's router stack, walked
 * into every router mounted on it. A router mounted below / would need its prefix added,
 * so it is refused rather than listed wrongly.
 */
export function servedRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const { path, methods } = layer.route;
        if (typeof path !== 'string') throw new Error(`a route path that is not a string: ${String(path)}`);
        for (const method of Object.keys(methods)) {
          if (method === '_all') throw new Error(`${path} answers every method (router.all); declare each one`);
          out.push(`${method.toUpperCase()} ${path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        if (!layer.slash) throw new Error('a router mounted below / : servedRoutes does not add mount paths');
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out.sort();
}

/** Every operation the document describes, as `GET /v1/domains/{id}`. */
export function documentedRoutes(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

const documents = new WeakMap<Express, Promise<OpenApiDocument>>();

/** The app's own /openapi.json, fetched once per app. */
export function documentOf(app: Express): Promise<OpenApiDocument> {
  let doc = documents.get(app);
  if (!doc) {
    doc = request(app)
      .get('/openapi.json')
      .expect(200)
      .then((res) => res.body as OpenApiDocument);
    documents.set(app, doc);
  }
  return doc;
}

const validators = new WeakMap<OpenApiDocument, { ajv: Ajv2020; compiled: Map<string, ValidateFunction> }>();

/** Compiles a schema of the document (JSON Schema 2020-12, as OpenAPI 3.1 has it), its $refs resolved in the document. */
export function schemaValidator(doc: OpenApiDocument, schema: Json): ValidateFunction {
  let v = validators.get(doc);
  if (!v) {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(ajv);
    // The component schemas as $defs of one schema, since `components` is no JSON Schema keyword.
    const defs = JSON.parse(JSON.stringify(doc.components.schemas).replace(/"#\/components\/schemas\//g, '"#/$defs/')) as Json;
    ajv.addSchema({ $id: 'openapi.json', $defs: defs });
    v = { ajv, compiled: new Map() };
    validators.set(doc, v);
  }
  const key = JSON.stringify(schema);
  let fn = v.compiled.get(key);
  if (!fn) {
    fn = v.ajv.compile(JSON.parse(key.replace(/"#\/components\/schemas\//g, '"openapi.json#/$defs/')) as Json);
    v.compiled.set(key, fn);
  }
  return fn;
}

/** The documented template that a concrete path matches; literal segments win over parameters. */
function templateOf(doc: OpenApiDocument, method: string, path: string): string | undefined {
  const segments = path.split('/');
  const matches = Object.keys(doc.paths).filter((t) => {
    const parts = t.split('/');
    return doc.paths[t][method] && parts.length === segments.length && parts.every((p, i) => /^\{.+\}$/.test(p) || p === segments[i]);
  });
  const params = (t: string) => (t.match(/\{/g) ?? []).length;
  return matches.sort((a, b) => params(a) - params(b))[0];
}

/**
 * Fails unless the answer is one the document describes: its status is listed for the
 * operation that the request's method and path name, its media type is that response's,
 * and its body matches that response's schema (or it has no body when none is documented).
 * Returns the response, to wrap a request where its body is used at once.
 */
export async function expectMatchesDocument(app: Express, res: Response): Promise<Response> {
  const doc = await documentOf(app);
  const req = (res as unknown as { req: { method: string; path: string } }).req;
  const method = req.method.toLowerCase();
  const path = decodeURIComponent(req.path.split('?')[0]);
  const template = templateOf(doc, method, path);
  if (!template) throw new Error(`${req.method} ${path} is not in /openapi.json`);
  let response = doc.paths[template][method].responses[String(res.status)];
  if (!response) throw new Error(`${req.method} ${template} answered ${res.status}, which /openapi.json does not list`);
  if (typeof response.$ref === 'string') response = doc.components.responses![response.$ref.split('/').pop()!];

  const content = response.content as Record<string, { schema: Json }> | undefined;
  const where = `${req.method} ${template} ${res.status}`;
  if (!content) {
    if (res.text) throw new Error(`${where}: the document says no body, got ${res.text.slice(0, 200)}`);
    return res;
  }
  const media = content[res.type];
  if (!media) throw new Error(`${where}: answered ${res.type || 'no Content-Type'}; the document lists ${Object.keys(content).join(', ')}`);
  const body = /json$/.test(res.type) ? res.body : (res.text ?? '');
  const validate = schemaValidator(doc, media.schema);
  if (!validate(body)) {
    throw new Error(`${where}: the body does not match /openapi.json:\n${JSON.stringify(validate.errors, null, 2)}\nbody: ${JSON.stringify(body).slice(0, 2000)}`);
  }
  return res;
}
