import type { Knex } from 'knex';
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
export function registerHomeRoutes({ route, deps, chrome }: RouteKit): void {
  route(
    { method: 'GET', path: '/', access: 'public', summary: 'ホーム (職員) またはご案内 (未ログイン)', response: htmlOrRedirect },
    async (ctx) => {
      const session = ctx.state.session as StaffSession | undefined;
      if (session?.mustChangePassword) return ctx.redirect('/password');
      ctx.type = 'html';
      // The resident count scans the cache: only the landing page shows it, not every staff home.
      ctx.body =
        session?.kind === 'staff'
          ? await staffHome(deps.knex, deps.config, deps.linkage, session, chrome(ctx))
          : landingPage(deps.config, (await checkHealth(deps.knex, deps.version)).residents);
    },
  );
}
