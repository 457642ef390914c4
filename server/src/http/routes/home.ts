import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { StaffSession } from '../../auth/sessions.js';
import { activeBulletins } from '../../bulletins/bulletins.js';
import type { AppConfig } from '../../config/appConfig.js';
import { linkageStatus, type LinkageView } from '../../linkage/status.js';
import { checkHealth } from '../../ops/health.js';
import { listActiveVisits } from '../../visits/visits.js';
import type { PageChrome } from '../html.js';
import { htmlOrRedirect, type RouteKit } from '../kit.js';
import { landingPage, staffHomePage, type StaffHomeData } from '../views/home.js';

export { landingPage } from '../views/home.js';

/** What the staff home shows: today's bulletins, open and paused visits (with visit.handle), linkage. */
export async function staffHomeData(knex: Knex, config: AppConfig, linkage: LinkageView, session: StaffSession): Promise<StaffHomeData> {
  const [bulletins, visits, status] = await Promise.all([
    activeBulletins(knex),
    session.permissions.has('visit.handle') ? listActiveVisits(knex) : Promise.resolve([]),
    linkageStatus(linkage),
  ]);
  return { session, config, bulletins, visits, specs: status.specs };
}

/** Home after login and counter choice, as a full page. */
export async function staffHome(
  knex: Knex,
  config: AppConfig,
  linkage: LinkageView,
  session: StaffSession,
  chrome: PageChrome,
): Promise<string> {
  return staffHomePage(await staffHomeData(knex, config, linkage, session), chrome);
}

/** GET /: the staff home, or the landing page before login. */
export function registerHomeRoutes({ route, deps, chrome, actor }: RouteKit): void {
  route(
    { method: 'GET', path: '/', access: 'public', summary: 'ホーム (職員) またはご案内 (未ログイン)', response: htmlOrRedirect },
    async (ctx) => {
      const session = ctx.state.session as StaffSession | undefined;
      if (session?.mustChangePassword) return ctx.redirect('/password');
      ctx.type = 'html';
      // The resident count scans the cache: only the landing page shows it, not every staff home.
      if (session?.kind !== 'staff') {
        ctx.body = landingPage(deps.config, (await checkHealth(deps.knex, deps.version)).residents);
        return;
      }
      const data = await staffHomeData(deps.knex, deps.config, deps.linkage, session);
      // The open visits are listed with the names of their persons: that read is audited here,
      // naming the visits shown (the landing page before login shows no one and writes nothing).
      if (data.visits.some((v) => v.persons.length))
        await deps.knex.transaction((trx) =>
          appendAudit(trx, {
            ...actor(ctx),
            action: 'visit.view',
            targetKind: 'visit',
            targetIds: data.visits.filter((v) => v.persons.length).map((v) => String(v.id)),
            result: 'success',
            detail: { via: 'home.activeVisits' },
          }),
        );
      ctx.body = staffHomePage(data, chrome(ctx));
    },
  );
}
