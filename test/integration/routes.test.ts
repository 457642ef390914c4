import { expect } from 'chai';
import { permissions } from '../../server/src/auth/permissions.js';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { createApp, undeclaredRoutes } from '../../server/src/http/app.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { createLogger } from '../../server/src/ops/logger.js';
import { configDir } from '../helpers/paths.js';
import { migratedSqlite } from '../helpers/db.js';

describe('route declarations', () => {
  it('every route of the router declares its access, and every permission is a known one', async () => {
    const db = await migratedSqlite();
    const { knex } = db;
    try {
      const config = loadAppConfig(configDir);
      const { router, routes } = createApp({
        knex,
        config,
        configDir,
        logger: createLogger({ console: false }),
        version: 'test',
        linkage: { knex, registry: LayoutRegistry.load(configDir), settings: config.linkage, closedDates: [], loads: () => [] },
      });
      expect(routes.length).to.be.greaterThan(5);
      expect(undeclaredRoutes(router, routes)).to.deep.equal([]);
      for (const r of routes) {
        if (r.access === 'public' || r.access === 'authenticated' || r.access === 'residentScreen' || r.access === 'standbyPeer') continue;
        expect(permissions as readonly string[], `${r.method} ${r.path}`).to.include(r.access.permission);
      }
      // Personal-data and status pages are never public; health, the landing page and the resident
      // screen's pairing form (a 6-digit code the clerk shows) are.
      const publicPaths = routes.filter((r) => r.access === 'public').map((r) => r.path);
      expect(publicPaths.filter((p) => !p.startsWith('/static/'))).to.deep.equal([
        '/login',
        '/login',
        '/healthz',
        '/',
        '/resident',
        '/resident/pair',
      ]);
      // What a resident screen shows needs its paired device, nothing else.
      expect(routes.filter((r) => r.access === 'residentScreen').map((r) => `${r.method} ${r.path}`)).to.deep.equal([
        'GET /resident/screen',
        'POST /resident/confirm',
        'POST /resident/signature',
      ]);
      // The check itself catches a route added behind its back.
      router.get('/api/v1/sneaky', (ctx) => {
        ctx.body = 'x';
      });
      expect(undeclaredRoutes(router, routes)).to.deep.equal(['GET /api/v1/sneaky']);
    } finally {
      await db.close();
    }
  });
});
