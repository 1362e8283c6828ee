import { z } from 'zod';
import type { RouteDeclaration } from './route';

type JsonSchema = Record<string, unknown>;

const PROBLEM_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
  },
};

const problem = { $ref: '#/components/responses/Problem' };

/** Express `:id` → OpenAPI `{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * JSON Schema of zod schemas, with every schema named by `.meta({ id })` moved to
 * components.schemas. A name given to two different schemas is a bug, caught here.
 */
class SchemaConverter {
  readonly components: Record<string, JsonSchema> = { Problem: PROBLEM_SCHEMA };

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const { $schema: _s, $defs, ...json } = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
      // The format says it all; zod's long regex for it would be repeated at every date.
      override: ({ jsonSchema }) => {
        if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
      },
    }) as JsonSchema;
    for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
      const moved = relink(def) as JsonSchema;
      const known = this.components[name];
      if (known && JSON.stringify(known) !== JSON.stringify(moved)) throw new Error(`two different schemas are named ${name}`);
      this.components[name] = moved;
    }
    return relink(json) as JsonSchema;
  }
}

function relink(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(relink);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace(/^#\/\$defs\//, '#/components/schemas/') : relink(v)]),
  );
}

function operation(route: RouteDeclaration, schemas: SchemaConverter): JsonSchema {
  const parameters: JsonSchema[] = Object.entries(route.params ?? {}).map(([name, p]) => ({
    name,
    in: 'path',
    required: true,
    schema: schemas.convert(p.schema, 'input'),
  }));
  if (route.query) {
    const q = schemas.convert(route.query, 'input');
    const required = (q.required ?? []) as string[];
    for (const [name, schema] of Object.entries((q.properties ?? {}) as Record<string, JsonSchema>)) {
      parameters.push({ name, in: 'query', required: required.includes(name), schema });
    }
  }

  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.headers
        ? { headers: Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) }
        : {}),
      ...(r.body ? { content: { [r.contentType ?? 'application/json']: { schema: schemas.convert(r.body, 'output') } } } : {}),
    };
  }
  const errors = new Set(route.errors ?? []);
  // Every authenticated route spends from its key's request budget (rate-limit.ts): 429 past it.
  if (route.auth !== 'public') [401, 403, 429].forEach((s) => errors.add(s));
  if (route.params) errors.add(404);
  if (route.query || route.body) errors.add(400);
  if (route.body) [413, 415].forEach((s) => errors.add(s));
  for (const status of [...errors].sort((a, b) => a - b)) responses[String(status)] ??= problem;

  return {
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    'x-auth': route.auth,
    ...(route.auth === 'public' ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? { requestBody: { required: route.bodyRequired ?? true, content: { 'application/json': { schema: schemas.convert(route.body, 'input') } } } }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the declared routes. */
export function openApiDocument(version: string, routes: readonly RouteDeclaration[]): JsonSchema {
  const schemas = new SchemaConverter();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] ??= {};
    if (paths[path][route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is declared twice`);
    paths[path][route.method] = operation(route, schemas);
  }
  return {
    openapi: '3.1.0',
    info: { title: 'mailwarden', version, description: 'Sending-domain verification (SPF, DKIM) and a policy-gated SMTP relay.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Problem: {
          description: 'RFC 9457 problem',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
      schemas: schemas.components,
    },
    security: [{ bearer: [] }],
    paths,
  };
}
