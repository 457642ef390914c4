import { expect } from 'chai';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { createApp, type RouteInfo } from '../../server/src/http/app.js';
import { Ajv } from 'ajv';
import { openApiDocument } from '../../server/src/http/openapi.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { createLogger } from '../../server/src/ops/logger.js';
import { configDir } from '../helpers/paths.js';
import { migratedSqlite, type TempDatabase } from '../helpers/db.js';

/**
 * The OpenAPI document is generated from the route registry; these checks keep the generator
 * honest: the same /api/v1 operations as the declarations, with their permissions, closed response
 * schemas and resolvable references. The checks are tried on tampered copies so each can fail.
 */

interface Operation {
  summary?: unknown;
  parameters?: unknown;
  responses?: Record<string, unknown>;
  'x-permission'?: unknown;
}
interface Doc {
  openapi: unknown;
  paths: Record<string, Record<string, unknown>>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const toOpenApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const accessOf = (r: RouteInfo): string => (typeof r.access === 'object' ? r.access.permission : r.access);

/** The declared /api/v1 routes, as `GET /api/v1/visits/{id}` → expected x-permission. */
function declaredApi(routes: readonly RouteInfo[]): Map<string, string> {
  return new Map(routes.filter((r) => r.path.startsWith('/api/v1/')).map((r) => [`${r.method} ${toOpenApiPath(r.path)}`, accessOf(r)]));
}

/** The operations of the document, as `GET /api/v1/visits/{id}` → operation. */
function documented(doc: Doc): Map<string, Operation> {
  const out = new Map<string, Operation>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, operation] of Object.entries(item ?? {}))
      if (METHODS.includes(method)) out.set(`${method.toUpperCase()} ${path}`, operation as Operation);
  }
  return out;
}

function missingFromDocument(doc: Doc, routes: readonly RouteInfo[]): string[] {
  const ops = documented(doc);
  return [...declaredApi(routes).keys()].filter((k) => !ops.has(k));
}

function staleInDocument(doc: Doc, routes: readonly RouteInfo[]): string[] {
  const declared = declaredApi(routes);
  return [...documented(doc).keys()].filter((k) => !declared.has(k));
}

/** Summary, permission and 4xx responses of each documented operation that is (or is pending to be) declared. */
function operationProblems(doc: Doc, routes: readonly RouteInfo[]): string[] {
  const declared = declaredApi(routes);
  const problems: string[] = [];
  for (const [k, op] of documented(doc)) {
    const permission = declared.get(k);
    if (permission === undefined) continue; // a stale entry: reported by staleInDocument
    if (!Object.keys(op.responses ?? {}).some((status) => /^2[0-9]{2}$/.test(status))) problems.push(`${k}: no 2xx response`);
    if (typeof op.summary !== 'string' || !op.summary.trim()) problems.push(`${k}: no summary`);
    if (op['x-permission'] !== permission) problems.push(`${k}: x-permission ${String(op['x-permission'])}, declared ${permission}`);
    if (!Object.keys(op.responses ?? {}).some((status) => /^4[0-9]{2}$/.test(status))) problems.push(`${k}: no 4xx response`);
  }
  return problems;
}

/** Values that JSON cannot carry faithfully (undefined, functions, Dates, NaN…), by location. */
function unserialisable(value: unknown, at = '$'): string[] {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return [];
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${at}: ${value}`];
  if (Array.isArray(value)) return value.flatMap((v, i) => unserialisable(v, `${at}[${i}]`));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => unserialisable(v, `${at}.${k}`));
  }
  return [`${at}: ${typeof value === 'object' ? ((value as object).constructor?.name ?? 'object') : typeof value}`];
}

/** `$ref`s that point nowhere in the document. */
function unresolvedRefs(doc: unknown): string[] {
  const bad: string[] = [];
  const resolve = (pointer: string): boolean => {
    let node: unknown = doc;
    for (const part of pointer.replace(/^#\//, '').split('/')) {
      if (typeof node !== 'object' || node === null || !(part in node)) return false;
      node = (node as Record<string, unknown>)[part];
    }
    return true;
  };
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && (typeof x !== 'string' || !x.startsWith('#/') || !resolve(x))) bad.push(String(x));
        else walk(x);
      }
    }
  };
  walk(doc);
  return bad;
}

/** Path templates whose `{param}` has no required path parameter, and the reverse. */
function pathParameterProblems(doc: Doc): string[] {
  const problems: string[] = [];
  for (const [k, op] of documented(doc)) {
    const path = k.slice(k.indexOf(' ') + 1);
    const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const declared = ((op.parameters ?? []) as { name?: string; in?: string; required?: boolean }[]).filter((p) => p.in === 'path');
    for (const name of inPath)
      if (!declared.some((p) => p.name === name && p.required === true)) problems.push(`${k}: {${name}} not a required path parameter`);
    for (const p of declared) if (!inPath.includes(String(p.name))) problems.push(`${k}: path parameter ${String(p.name)} not in the path`);
  }
  return problems;
}

/**
 * Places in the JSON response schemas that accept undeclared properties: an object without
 * `additionalProperties: false` (records use `patternProperties`), or `additionalProperties: true`.
 */
function openResponseObjects(doc: Doc): string[] {
  const components = ((doc as unknown as { components?: { schemas?: Record<string, unknown> } }).components?.schemas ?? {}) as Record<
    string,
    unknown
  >;
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = (v: unknown, at: string): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}[${i}]`));
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.$ref === 'string') {
      const name = o.$ref.split('/').pop()!;
      if (!seen.has(name)) {
        seen.add(name);
        walk(components[name], `#${name}`);
      }
      return;
    }
    if (o.additionalProperties === true) out.push(`${at}: additionalProperties true`);
    if (o.type === 'object' && o.properties && o.additionalProperties !== false) out.push(`${at}: open object`);
    for (const [k, x] of Object.entries(o)) if (k !== 'examples' && k !== 'example') walk(x, `${at}.${k}`);
  };
  for (const [k, op] of documented(doc)) {
    for (const [status, r] of Object.entries(op.responses ?? {})) {
      if (!/^2/.test(status)) continue;
      const content = (r as { content?: Record<string, { schema?: unknown }> }).content ?? {};
      if (content['application/json']) walk(content['application/json'].schema, `${k} ${status}`);
    }
  }
  return out;
}

/** JSON responses (2xx) documented without a schema. */
function jsonWithoutSchema(doc: Doc): string[] {
  const out: string[] = [];
  for (const [k, op] of documented(doc))
    for (const [status, r] of Object.entries(op.responses ?? {})) {
      const json = (r as { content?: Record<string, { schema?: unknown }> }).content?.['application/json'];
      if (/^2/.test(status) && json && !json.schema) out.push(`${k} ${status}`);
    }
  return out;
}

describe('OpenAPI document of /api/v1 (generated from the route registry)', () => {
  let db: TempDatabase;
  let routes: RouteInfo[];
  let doc: Doc;

  before(async () => {
    db = await migratedSqlite();
    const { knex } = db;
    const config = loadAppConfig(configDir);
    ({ routes } = createApp({
      knex,
      config,
      configDir,
      logger: createLogger({ console: false }),
      version: 'test',
      linkage: { knex, registry: LayoutRegistry.load(configDir), settings: config.linkage, closedDates: [], loads: () => [] },
    }));
    doc = openApiDocument(routes, 'test') as unknown as Doc;
  });
  after(async () => {
    await db?.close();
  });

  it('declares every route with a contract (no route left on the old declaration without schemas)', () => {
    const legacy = routes.filter((r) => !r.spec).map((r) => `${r.method} ${r.path}`);
    const legacyApi = legacy.filter((r) => r.includes(' /api/'));
    expect(legacyApi, 'JSON API routes without a contract').to.deep.equal([]);
    expect(legacy, 'routes without a contract').to.deep.equal([]);
  });

  it('(a) documents every declared /api/v1 route, and (b) nothing else', () => {
    expect(declaredApi(routes).size, 'declared /api/v1 routes').to.be.greaterThan(20);
    expect(missingFromDocument(doc, routes), 'declared but not documented').to.deep.equal([]);
    expect(
      staleInDocument(doc, routes).filter((k) => k !== 'GET /healthz'),
      'documented but not declared',
    ).to.deep.equal([]);
  });

  it('(c) gives every operation a summary, its declared permission as x-permission, a 2xx and a 4xx response', () => {
    expect(operationProblems(doc, routes)).to.deep.equal([]);
    expect(pathParameterProblems(doc)).to.deep.equal([]);
  });

  it('(d) has a closed response schema for every JSON 2xx response (no additionalProperties: true)', () => {
    expect(jsonWithoutSchema(doc)).to.deep.equal([]);
    expect(openResponseObjects(doc)).to.deep.equal([]);
  });

  it('(e) is OpenAPI 3.1 and plain JSON, with every $ref resolved and every schema compilable', () => {
    expect(doc.openapi)
      .to.be.a('string')
      .and.match(/^3\.1\./);
    expect(unserialisable(doc)).to.deep.equal([]);
    expect(JSON.parse(JSON.stringify(doc))).to.deep.equal(doc);
    expect(unresolvedRefs(doc)).to.deep.equal([]);
    const ajv = new Ajv({ strict: false });
    ajv.addSchema({ components: (doc as unknown as { components: unknown }).components }, 'doc');
    for (const [k, op] of documented(doc))
      for (const r of Object.values(op.responses ?? {})) {
        const schema = (r as { content?: Record<string, { schema?: object }> }).content?.['application/json']?.schema;
        if (schema)
          expect(() => ajv.compile(JSON.parse(JSON.stringify(schema).replace(/"#\/components/g, '"doc#/components'))), k).not.to.throw();
      }
    expect((openApiDocument(routes, '9.9.9') as { info: { version: string } }).info.version).to.equal('9.9.9');
  });

  it('the checks catch a document that has drifted from the routes', () => {
    const tampered = (): Doc => JSON.parse(JSON.stringify(doc)) as Doc;
    const paths = (d: Doc) => d.paths as Record<string, Record<string, Operation & Record<string, unknown>>>;

    // (a) an operation left out
    const dropped = tampered();
    delete paths(dropped)['/api/v1/linkage/status']!.get;
    expect(missingFromDocument(dropped, routes)).to.deep.equal(['GET /api/v1/linkage/status']);
    expect(
      missingFromDocument(doc, [...routes, { method: 'POST', path: '/api/v1/visits/:id/reopen', access: { permission: 'visit.handle' } }]),
    ).to.deep.equal(['POST /api/v1/visits/{id}/reopen']);
    // (b) a stale path
    const stale = tampered();
    paths(stale)['/api/v1/residents/{addresseeNo}/history'] = {
      get: { summary: 'x', 'x-permission': 'resident.search', responses: { '404': {} } },
    };
    expect(staleInDocument(stale, routes).filter((k) => k !== 'GET /healthz')).to.deep.equal([
      'GET /api/v1/residents/{addresseeNo}/history',
    ]);
    // (c) summary, permission, 2xx and 4xx
    const wrong = tampered();
    paths(wrong)['/api/v1/linkage/runs']!.get!.summary = ' ';
    paths(wrong)['/api/v1/linkage/status']!.get!['x-permission'] = 'resident.search';
    paths(wrong)['/api/v1/linkage/runs/{id}']!.get!.responses = { '200': {}, '500': {} };
    expect(operationProblems(wrong, routes)).to.deep.equal([
      'GET /api/v1/linkage/status: x-permission resident.search, declared linkage.read',
      'GET /api/v1/linkage/runs: no summary',
      'GET /api/v1/linkage/runs/{id}: no 4xx response',
    ]);
    const params = tampered();
    paths(params)['/api/v1/linkage/runs/{id}']!.get!.parameters = [];
    expect(pathParameterProblems(params)).to.deep.equal(['GET /api/v1/linkage/runs/{id}: {id} not a required path parameter']);
    // (d) an open response object and a JSON response without a schema
    const open = tampered();
    const ok = (
      paths(open)['/api/v1/linkage/runs']!.get!.responses as Record<
        string,
        { content: Record<string, { schema: Record<string, unknown> }> }
      >
    )['200']!;
    ok.content['application/json']!.schema.additionalProperties = true;
    (paths(open)['/api/v1/linkage/status']!.get!.responses as Record<string, unknown>)['200'] = { content: { 'application/json': {} } };
    expect(openResponseObjects(open)).to.include('GET /api/v1/linkage/runs 200: additionalProperties true');
    expect(jsonWithoutSchema(open)).to.deep.equal(['GET /api/v1/linkage/status 200']);
    // (e) values JSON cannot carry, and dangling $refs
    expect(unserialisable({ a: [1, undefined], b: new Date(0), c: () => 1, d: NaN })).to.deep.equal([
      '$.a[1]: undefined',
      '$.b: Date',
      '$.c: function',
      '$.d: NaN',
    ]);
    expect(
      unresolvedRefs({
        components: { schemas: { A: {} } },
        x: { $ref: '#/components/schemas/A' },
        y: [{ $ref: '#/components/schemas/Missing' }],
      }),
    ).to.deep.equal(['#/components/schemas/Missing']);
  });
});
