import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { z } from 'zod';
import type { Principal } from '../../../src/http/auth';
import { openApiDocument } from '../../../src/http/openapi';
import { problemHandler } from '../../../src/http/problem';
import { pathParam, RouteTable } from '../../../src/http/route';
import { createLogger } from '../../../src/logger';

const thing = pathParam('thing', z.string().regex(/^thg_\d+$/));
const item = z.strictObject({ id: z.string(), at: z.iso.datetime() }).meta({ id: 'Item' });

function table(): RouteTable {
  return new RouteTable()
    .route({
      method: 'post',
      path: '/v1/things/:id',
      summary: 'Make a thing',
      auth: 'account',
      params: { id: thing },
      query: z.strictObject({ dry: z.enum(['yes', 'no']).optional() }),
      body: z.strictObject({ name: z.string({ message: 'is required' }) }),
      responses: { 201: { description: 'made', body: item } },
      errors: [409],
      handler: ({ accountId, params, query, body }, res) =>
        void res.status(201).json({ accountId, id: params.id, dry: query.dry ?? null, name: body.name }),
    })
    .route({
      method: 'put',
      path: '/v1/things/:id/tags',
      summary: 'Tag a thing; no body is {}',
      auth: 'admin',
      params: { id: thing },
      body: z.strictObject({ tags: z.array(z.string()).default([]) }),
      bodyRequired: false,
      responses: { 200: { description: 'tagged', body: z.strictObject({ tags: z.array(z.string()) }) } },
      handler: ({ body }, res) => void res.json(body),
    })
    .route({
      method: 'get',
      path: '/ping',
      summary: 'Ping',
      auth: 'public',
      responses: { 200: { description: 'pong', body: item } },
      handler: (_input, res) => void res.json({ id: 'x', at: new Date(0).toISOString() }),
    });
}

function appAs(principal: Principal | undefined) {
  const app = express();
  const as: RequestHandler = (req, _res, next) => {
    req.principal = principal;
    next();
  };
  app.use(as, express.json());
  app.use(table().router);
  app.use(problemHandler(createLogger('silent')));
  return app;
}

const account: Principal = { kind: 'account', account: { id: 'acc_1' } };
const admin: Principal = { kind: 'admin' };

describe('RouteTable', () => {
  it('hands the handler the account and the parsed params, query and body', async () => {
    const res = await request(appAs(account)).post('/v1/things/thg_7?dry=yes').send({ name: 'n' }).expect(201);
    expect(res.body).toEqual({ accountId: 'acc_1', id: 'thg_7', dry: 'yes', name: 'n' });
  });

  it('checks, in order, the key, each path parameter, the query, then the body', async () => {
    const bad = { name: 5 };
    expect((await request(appAs(admin)).post('/v1/things/nope?dry=maybe').send(bad).expect(403)).body.status).toBe(403);
    expect((await request(appAs(account)).post('/v1/things/nope?dry=maybe').send(bad).expect(404)).body.detail).toBe('thing not found');
    expect((await request(appAs(account)).post('/v1/things/thg_1?dry=maybe').send(bad).expect(400)).body.errors).toEqual([
      { field: 'dry', message: expect.any(String) },
    ]);
    expect((await request(appAs(account)).post('/v1/things/thg_1').send(bad).expect(400)).body.errors).toEqual([{ field: 'name', message: 'is required' }]);
    expect((await request(appAs(account)).post('/v1/things/thg_1').send([]).expect(400)).body.errors).toEqual([
      { field: 'body', message: 'must be a JSON object' },
    ]);
  });

  it('lets admin routes run for the admin key only, and counts a missing optional body as {}', async () => {
    await request(appAs(account)).put('/v1/things/thg_1/tags').expect(403);
    expect((await request(appAs(admin)).put('/v1/things/thg_1/tags').expect(200)).body).toEqual({ tags: [] });
    await request(appAs(admin)).put('/v1/things/thg_1/tags').set('Content-Type', 'text/plain').send('x').expect(400);
  });

  it('refuses a declaration whose params differ from its path, and a route declared twice', () => {
    const handler = () => undefined;
    const responses = { 204: { description: 'ok' } };
    expect(() => new RouteTable().route({ method: 'get', path: '/a/:id', summary: 's', auth: 'public', responses, handler })).toThrow(/declares params \[\]/);
    expect(() =>
      new RouteTable().route({ method: 'get', path: '/a', summary: 's', auth: 'public', params: { id: pathParam('a') }, responses, handler }),
    ).toThrow(/its path has \[\]/);
    const t = new RouteTable().route({ method: 'get', path: '/a', summary: 's', auth: 'public', responses, handler });
    expect(() => t.route({ method: 'get', path: '/a', summary: 's', auth: 'public', responses, handler })).toThrow(/declared twice/);
  });
});

describe('openApiDocument', () => {
  const doc = openApiDocument('1.2.3', table().declarations) as any;

  it('turns express paths into OpenAPI paths, with path and query parameters', () => {
    expect(Object.keys(doc.paths)).toEqual(['/v1/things/{id}', '/v1/things/{id}/tags', '/ping']);
    expect(doc.paths['/v1/things/{id}'].post.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^thg_\\d+$' } },
      { name: 'dry', in: 'query', required: false, schema: { type: 'string', enum: ['yes', 'no'] } },
    ]);
    expect(doc.info.version).toBe('1.2.3');
  });

  it('lists the problem statuses the declaration implies, and the declared ones', () => {
    expect(Object.keys(doc.paths['/v1/things/{id}'].post.responses)).toEqual(['201', '400', '401', '403', '404', '409', '413', '415', '429']);
    expect(doc.paths['/v1/things/{id}'].post.responses['409']).toEqual({ $ref: '#/components/responses/Problem' });
    expect(Object.keys(doc.paths['/ping'].get.responses)).toEqual(['200']);
  });

  it('marks who may call: public routes need no key', () => {
    expect(doc.paths['/ping'].get.security).toEqual([]);
    expect(doc.paths['/v1/things/{id}/tags'].put).toMatchObject({ 'x-auth': 'admin', requestBody: { required: false } });
    expect(doc.paths['/v1/things/{id}'].post.security).toBeUndefined();
  });

  it('moves named schemas to components, referenced from every use', () => {
    expect(doc.paths['/ping'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Item' });
    expect(doc.components.schemas.Item).toMatchObject({ required: ['id', 'at'], additionalProperties: false });
    expect(doc.components.schemas.Item.properties.at).toEqual({ type: 'string', format: 'date-time' });
    expect(doc.components.schemas.Problem.required).toEqual(['type', 'title', 'status', 'detail']);
  });

  it('refuses two different schemas under one name', () => {
    const other = z.strictObject({ id: z.number() }).meta({ id: 'Item' });
    const t = new RouteTable().route({
      method: 'get',
      path: '/other',
      summary: 's',
      auth: 'public',
      responses: { 200: { description: 'd', body: other } },
      handler: () => undefined,
    });
    expect(() => openApiDocument('1', [...table().declarations, ...t.declarations])).toThrow(/two different schemas are named Item/);
  });
});
