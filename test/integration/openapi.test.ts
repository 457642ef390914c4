import { expect } from 'chai';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { createApp, type RouteInfo } from '../../server/src/http/app.js';
import { openApiDocument } from '../../server/src/http/openapi.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { createLogger } from '../../server/src/ops/logger.js';
import { configDir } from '../helpers/paths.js';
import { migratedSqlite, type TempDatabase } from '../helpers/db.js';

/** Keeps the OpenAPI document true: the same /api/v1 operations as the route declarations, with their permissions. */

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
/** Declared in app.ts by the same change that added the document; tolerated as pending until then. */
const OPENAPI_ROUTE = 'GET /api/v1/openapi.json';

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
function operationProblems(doc: Doc, routes: readonly RouteInfo[], pending: ReadonlyMap<string, string>): string[] {
  const declared = new Map([...pending, ...declaredApi(routes)]);
  const problems: string[] = [];
  for (const [k, op] of documented(doc)) {
    const permission = declared.get(k);
    if (permission === undefined) continue; // a stale entry: reported by staleInDocument
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

describe('OpenAPI document of /api/v1', () => {
  let db: TempDatabase;
  let routes: RouteInfo[];
  let doc: Doc;
  /** The openapi.json route while app.ts does not declare it yet: nothing else may be missing. */
  let pending: Map<string, string>;

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
    doc = openApiDocument('test') as Doc;
    pending = declaredApi(routes).has(OPENAPI_ROUTE) ? new Map() : new Map([[OPENAPI_ROUTE, 'authenticated']]);
  });
  after(async () => {
    await db?.close();
  });

  it('(a) documents every declared /api/v1 route', () => {
    expect(declaredApi(routes).size, 'declared /api/v1 routes').to.be.greaterThan(10);
    expect(missingFromDocument(doc, routes), 'declared but not documented').to.deep.equal([]);
  });

  it('(b) documents no operation that is not a declared route', () => {
    // Only GET /api/v1/openapi.json may be documented ahead of its declaration in app.ts.
    expect(staleInDocument(doc, routes), 'documented but not declared').to.deep.equal([...pending.keys()]);
  });

  it('(c) gives every operation a summary, its declared permission as x-permission, and a 4xx response', () => {
    expect(documented(doc).size).to.equal(declaredApi(routes).size + pending.size);
    expect(operationProblems(doc, routes, pending)).to.deep.equal([]);
    expect(pathParameterProblems(doc)).to.deep.equal([]);
  });

  it('(d) is OpenAPI 3.1 and plain JSON, with every $ref resolved', () => {
    expect(doc.openapi)
      .to.be.a('string')
      .and.match(/^3\.1\./);
    expect(unserialisable(doc)).to.deep.equal([]);
    expect(JSON.parse(JSON.stringify(doc))).to.deep.equal(doc);
    expect(unresolvedRefs(doc)).to.deep.equal([]);
    expect((openApiDocument('9.9.9') as { info: { version: string } }).info.version).to.equal('9.9.9');
  });

  it('the checks catch a document that has drifted from the routes', () => {
    const tampered = (): Doc => JSON.parse(JSON.stringify(doc)) as Doc;
    const paths = (d: Doc) => d.paths as Record<string, Record<string, Operation & Record<string, unknown>>>;

    // (a) an operation left out
    const dropped = tampered();
    delete paths(dropped)['/api/v1/visits/{id}']!.get;
    expect(missingFromDocument(dropped, routes)).to.deep.equal(['GET /api/v1/visits/{id}']);
    // (a) a route declared without documentation (the way routes.test.ts adds one behind the back)
    expect(
      missingFromDocument(doc, [...routes, { method: 'POST', path: '/api/v1/visits/:id/reopen', access: { permission: 'visit.handle' } }]),
    ).to.deep.equal(['POST /api/v1/visits/{id}/reopen']);
    // (b) a stale path and a stale method
    const stale = tampered();
    paths(stale)['/api/v1/residents/{addresseeNo}/history'] = {
      get: { summary: 'x', 'x-permission': 'resident.search', responses: { '404': {} } },
    };
    paths(stale)['/api/v1/residents']!.post = { summary: 'x', 'x-permission': 'resident.search', responses: { '400': {} } };
    expect(staleInDocument(stale, routes).sort()).to.deep.equal(
      [...pending.keys(), 'POST /api/v1/residents', 'GET /api/v1/residents/{addresseeNo}/history'].sort(),
    );
    // (c) summary, permission and 4xx
    const wrong = tampered();
    paths(wrong)['/api/v1/residents']!.get!.summary = ' ';
    paths(wrong)['/api/v1/linkage/status']!.get!['x-permission'] = 'resident.search';
    paths(wrong)['/api/v1/addresses/towns']!.get!.responses = { '200': {}, '500': {} };
    delete paths(wrong)['/api/v1/openapi.json']!.get!['x-permission'];
    expect(operationProblems(wrong, routes, pending)).to.deep.equal([
      'GET /api/v1/residents: no summary',
      'GET /api/v1/addresses/towns: no 4xx response',
      'GET /api/v1/linkage/status: x-permission resident.search, declared linkage.read',
      'GET /api/v1/openapi.json: x-permission undefined, declared authenticated',
    ]);
    // (c) path parameters
    const params = tampered();
    paths(params)['/api/v1/visits/{id}']!.get!.parameters = [];
    expect(pathParameterProblems(params)).to.deep.equal(['GET /api/v1/visits/{id}: {id} not a required path parameter']);
    // (d) version, values JSON cannot carry, and dangling $refs
    expect('3.0.3').not.to.match(/^3\.1\./);
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
