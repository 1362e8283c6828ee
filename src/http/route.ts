import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../errors';
import { accountIdOf, requireAdmin } from './auth';
import { parse } from './validate';

export type Method = 'get' | 'post' | 'put' | 'delete';

/** Who may call a route: an account key, the admin key, or anyone. */
export type Auth = 'account' | 'admin' | 'public';

/** A path parameter. A value its schema refuses names nothing, so it answers 404 `<resource> not found`. */
export interface PathParam {
  schema: z.ZodType<string, string>;
  resource: string;
}

/** A path parameter of `resource`, any string unless `schema` says more. */
export function pathParam(resource: string, schema: z.ZodType<string, string> = z.string()): PathParam {
  return { schema, resource };
}

export interface ResponseSpec {
  description: string;
  /** The body's schema; leave it out for a response without a body (204, 304). */
  body?: z.ZodType;
  /** The body's media type when it is not application/json. */
  contentType?: string;
  /** Response headers worth knowing, by name: their descriptions. */
  headers?: Record<string, string>;
}

/** What the handler gets: the caller and the request, parsed with the declared schemas. */
export interface RouteInput<A extends Auth, P extends string, Q, B> {
  accountId: A extends 'account' ? string : undefined;
  params: Record<P, string>;
  query: Q extends z.ZodType ? z.output<Q> : undefined;
  body: B extends z.ZodType ? z.output<B> : undefined;
}

export interface RouteSpec<A extends Auth, P extends string, Q, B> {
  method: Method;
  /** The express path, `:name` for a parameter. */
  path: string;
  summary: string;
  description?: string;
  auth: A;
  /** One entry per `:name` in the path. */
  params?: Record<P, PathParam>;
  query?: Q;
  body?: B;
  /** False when a request may leave the body out; no body at all then counts as `{}`. Default true. */
  bodyRequired?: boolean;
  /** The successful answers, by status. */
  responses: Record<number, ResponseSpec>;
  /**
   * Problem statuses beyond those the declaration implies: 401 and 403 from `auth`, 404
   * from `params`, 400 from `query` or `body`, 413 and 415 from `body`.
   */
  errors?: number[];
  handler: (input: RouteInput<A, P, Q, B>, res: Response, req: Request) => unknown;
}

/** A route as /openapi.json describes it: everything but its handler. */
export type RouteDeclaration = Omit<RouteSpec<Auth, string, z.ZodType | undefined, z.ZodType | undefined>, 'handler'>;

/** True when the request carries a body, whether or not express.json parsed it. */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** The `:name`s of an express path, in order. */
export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
}

/**
 * One feature's routes: each is declared once, with its handler and its schemas. The
 * express router serves them; the declarations feed /openapi.json.
 */
export class RouteTable {
  readonly router: Router = Router();
  readonly declarations: RouteDeclaration[] = [];

  /**
   * Declares a route and registers its handler. The handler runs after, in this order:
   * the key is checked (`auth`), each path parameter, the query and the body are parsed;
   * the first that fails answers with its problem.
   */
  route<A extends Auth, P extends string = never, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
    spec: RouteSpec<A, P, Q, B>,
  ): this {
    const { handler, ...declaration } = spec;
    const params = Object.entries<PathParam>(spec.params ?? ({} as Record<P, PathParam>));
    const named = pathParamNames(spec.path);
    if (named.join() !== params.map(([name]) => name).join()) {
      throw new Error(`${spec.method.toUpperCase()} ${spec.path} declares params [${params.map(([n]) => n)}], its path has [${named}]`);
    }
    if (this.declarations.some((d) => d.method === spec.method && d.path === spec.path)) {
      throw new Error(`${spec.method.toUpperCase()} ${spec.path} is declared twice`);
    }
    this.declarations.push(declaration as RouteDeclaration);

    const bodyRequired = spec.bodyRequired ?? true;
    const handle: RequestHandler = async (req, res) => {
      const accountId = spec.auth === 'account' ? accountIdOf(req) : undefined;
      const values: Record<string, string> = {};
      for (const [name, param] of params) {
        const parsed = param.schema.safeParse(String(req.params[name]));
        if (!parsed.success) throw new NotFoundError(param.resource);
        values[name] = parsed.data;
      }
      const query = spec.query ? parse(spec.query, req.query, 'query') : undefined;
      const body = spec.body ? parse(spec.body, req.body === undefined && !bodyRequired && !hasBody(req) ? {} : req.body) : undefined;
      const input = { accountId, params: values, query, body } as RouteInput<A, P, Q, B>;
      await handler(input, res, req);
    };
    const handlers = spec.auth === 'admin' ? [requireAdmin, handle] : [handle];
    this.router[spec.method](spec.path, ...handlers);
    return this;
  }
}
