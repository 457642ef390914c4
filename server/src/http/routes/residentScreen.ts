import { Type as T } from '@sinclair/typebox';
import { appendAudit } from '../../audit/trail.js';
import { DomainError, notFound } from '../../errors/domainError.js';
import { getNotice } from '../../notices/queries.js';
import { protection } from '../../residents/protection.js';
import { ResidentPresentations, residentViewOf, type Presentation } from '../../residentScreen/presentations.js';
import { Pairings, pairScreen, screensOf, unpairScreens, type ResidentScreen } from '../../residentScreen/screens.js';
import { recordSignature, signatureOf, signatureMethodLabels, signaturePng } from '../../residentScreen/signatures.js';
import { getVisit } from '../../visits/visits.js';
import { languagesForRequest } from '../../i18n/languages.js';
import { badRequest, file, htmlOrRedirect, htmlPage, json, type Ctx, type RouteAccess, type RouteKit } from '../kit.js';
import { CsrfField, IdParam, Nullable } from '../schemas/common.js';
import { RESIDENT_COOKIE } from '../sessionCookie.js';
import { residentPage } from '../views/residentScreen.js';

const COOKIE_DAYS = 400;

const NoticeParams = T.Object({ id: IdParam('来庁番号'), nid: IdParam('届出番号') });
const Ack = T.Object({ status: T.String() }, { additionalProperties: false });
const PairingResponse = T.Object(
  { code: T.String({ pattern: '^[0-9]{6}$' }), expiresAt: T.String({ format: 'date-time' }) },
  { additionalProperties: false },
);
const StatusQuery = T.Object({ notice: T.Optional(T.Integer({ minimum: 1, maximum: 2_147_483_647, title: '届出番号' })) });
const StatusResponse = T.Object(
  {
    counter: Nullable(T.String()),
    screens: T.Integer({ description: 'この窓口につながっている住民用画面の数' }),
    presentation: Nullable(
      T.Object(
        { noticeId: T.Integer(), confirmed: T.Boolean(), signed: T.Boolean() },
        { additionalProperties: false, description: '住民用画面に表示中の届出' },
      ),
    ),
    signature: Nullable(T.Object({ method: T.String(), label: T.String(), signedAt: T.String() }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
const PersonSchema = T.Object(
  { name: T.String(), kana: Nullable(T.String()), birthDate: T.String(), sex: T.String(), relationship: T.String() },
  { additionalProperties: false },
);
const ScreenResponse = T.Object(
  {
    state: T.Union([T.Literal('waiting'), T.Literal('confirm')]),
    counterName: T.String(),
    presentation: T.Optional(
      T.Object(
        {
          id: T.String(),
          lang: T.String(),
          texts: T.Record(T.String(), T.String()),
          title: T.String(),
          fields: T.Array(
            T.Object({ label: T.String(), value: T.String(), masked: T.Optional(T.Boolean()) }, { additionalProperties: false }),
          ),
          persons: T.Array(PersonSchema),
          confirmed: T.Boolean(),
          signed: T.Boolean(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
const PresentationBody = T.Object({ id: T.String({ maxLength: 64, title: '表示の番号' }) });
const SignatureBody = T.Object({
  id: T.String({ maxLength: 64, title: '表示の番号' }),
  // Checked in the handler (data URL of a PNG, at most MAX_SIGNATURE_BYTES).
  image: T.String({ maxLength: 210_000, title: '署名の画像' }),
});

/**
 * The resident screen: a device paired to one counter (a code the clerk shows, then a device cookie)
 * shows only what the clerk of that counter sends — a notice to confirm and sign — and nothing once
 * the clerk closes it. Staff routes need `visit.handle`; the screen's routes are public at the door
 * and refuse any request without a paired device cookie (the device is the permission).
 */
export function registerResidentScreenRoutes({ route, deps, session, actor }: RouteKit): void {
  const knex = deps.knex;
  const pairings = new Pairings();
  const presentations = new ResidentPresentations();
  const staff: RouteAccess = { permission: 'visit.handle' };
  const counterName = (id: string) => deps.config.counters.find((c) => c.id === id)?.name ?? id;

  const counterOf = (ctx: Ctx): string => {
    const s = session(ctx);
    if (s.kind !== 'staff' || s.staffId === null) throw new DomainError('auth.staffOnly');
    if (!s.counterId) throw new DomainError('card.noCounter');
    return s.counterId;
  };
  /** The paired screen of the request (the kit's 'residentScreen' access has checked there is one). */
  const screenOfRequest = (ctx: Ctx): ResidentScreen => ctx.state.residentScreen as ResidentScreen;
  const noticeOfVisit = async (visitId: number, noticeId: number) => {
    const n = await getNotice(knex, noticeId);
    if (!n || n.visitId !== visitId) throw notFound('届出');
    return n;
  };
  const screenAudit = (screen: ResidentScreen, action: string, p: Presentation, detail: Record<string, unknown> = {}) =>
    knex.transaction((trx) =>
      appendAudit(trx, {
        staffId: null,
        staffLogin: `screen:${screen.id}`,
        role: null,
        counterId: screen.counterId,
        clientAddress: null,
        action,
        targetKind: 'notice',
        targetIds: [String(p.noticeId)],
        result: 'success',
        detail: { screen: screen.id, visit: p.visitId, ...detail },
      }),
    );

  /**
   * The counter's presentation while its step is open: the clerk who sent it is still logged in at
   * that counter and the visit is open. Otherwise it is closed here, so that a clerk who logged out,
   * moved to another counter or paused or closed the visit leaves nothing on the resident's screen.
   */
  const openAt = async (counterId: string): Promise<Presentation | null> => {
    const p = presentations.current(counterId);
    if (!p) return null;
    const [sender, visit] = await Promise.all([
      knex('staff_sessions').where({ id: p.sentBy }).first('counter_id'),
      knex('visits').where({ id: p.visitId }).first('status'),
    ]);
    if (sender?.counter_id === counterId && visit?.status === 'open') return p;
    presentations.close(counterId);
    return null;
  };
  const openById = async (counterId: string, id: string): Promise<Presentation> => {
    const p = await openAt(counterId);
    if (!p || p.id !== id) throw new DomainError('residentScreen.closed');
    return p;
  };

  // --- staff ---------------------------------------------------------------------------------

  route(
    {
      method: 'POST',
      path: '/resident-screen/pairing',
      access: staff,
      summary: 'この窓口に住民用画面をつなぐ番号 (6 桁、5 分有効) を出す',
      body: T.Object({ _csrf: CsrfField }),
      response: json(PairingResponse),
      errors: ['card.noCounter'],
    },
    async (ctx) => {
      const counterId = counterOf(ctx);
      const issued = pairings.issue(counterId, session(ctx).staffId!, null);
      await knex.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'residentScreen.pairingCode',
          targetKind: 'residentScreen',
          targetIds: [],
          result: 'success',
          detail: { counter: counterId },
        }),
      );
      return { code: issued.code, expiresAt: issued.expiresAt.toISOString() };
    },
  );

  route(
    {
      method: 'POST',
      path: '/resident-screen/unpair',
      access: staff,
      summary: 'この窓口の住民用画面の接続をすべて解除する (端末の紛失・交換)',
      body: T.Object({ _csrf: CsrfField }),
      response: json(T.Object({ unpaired: T.Integer() }, { additionalProperties: false })),
    },
    async (ctx) => {
      const counterId = counterOf(ctx);
      presentations.close(counterId);
      return { unpaired: await unpairScreens(knex, counterId, actor(ctx)) };
    },
  );

  route(
    {
      method: 'GET',
      path: '/resident-screen/status',
      access: staff,
      summary: 'この窓口の住民用画面の状態 (画面が数秒ごとに見る)',
      query: StatusQuery,
      response: json(StatusResponse),
    },
    async (ctx) => {
      const s = session(ctx);
      if (!s.counterId) return { counter: null, screens: 0, presentation: null, signature: null };
      const p = await openAt(s.counterId);
      const noticeId = ctx.input.query.notice;
      const sig = noticeId ? await signatureOf(knex, noticeId) : null;
      return {
        counter: s.counterId,
        screens: (await screensOf(knex, s.counterId)).length,
        presentation: p ? { noticeId: p.noticeId, confirmed: p.confirmedAt !== null, signed: p.signedAt !== null } : null,
        signature: sig ? { method: sig.method, label: signatureMethodLabels[sig.method], signedAt: sig.signedAt.toISOString() } : null,
      };
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/notices/:nid/resident-screen',
      access: staff,
      summary: '届出をこの窓口の住民用画面に表示する (住民が確認して署名する。lang で住民の言語)',
      description:
        '住民用画面には、送った届出だけを大きな文字とふりがなで表示します。支援措置の住所は、来庁者が支援措置の対象者本人で、送った職員に閲覧の権限があるときだけ表示し、ほかは伏せます。',
      params: NoticeParams,
      body: T.Object({ _csrf: CsrfField, lang: T.Optional(T.String({ pattern: '^[a-z]{2,3}(-[A-Za-z]{2,8})?$', title: '住民の言語' })) }),
      response: json(T.Object({ presentationId: T.String() }, { additionalProperties: false })),
      errors: ['card.noCounter', 'residentScreen.noScreen'],
    },
    async (ctx) => {
      const counterId = counterOf(ctx);
      const { id, nid } = ctx.input.params;
      const [visit, notice] = await Promise.all([getVisit(knex, id), noticeOfVisit(id, nid)]);
      if (!visit) throw notFound('来庁記録');
      if (!(await screensOf(knex, counterId)).length) throw new DomainError('residentScreen.noScreen', { counter: counterName(counterId) });
      // The resident's language (config/languages; read on each send, so an edit applies at once).
      const languages = languagesForRequest(deps.configDir);
      const lang = ctx.input.body.lang ?? 'ja';
      if (!languages.has(lang)) throw badRequest(`言語「${lang}」は config/languages にありません`);
      const view = residentViewOf(notice, visit, await protection(knex), session(ctx), languages, lang);
      const p = presentations.send({
        counterId,
        visitId: id,
        noticeId: nid,
        sentBy: session(ctx).id,
        sentByStaff: session(ctx).staffId!,
        view,
      });
      await knex.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'residentScreen.show',
          targetKind: 'notice',
          targetIds: [String(nid), ...notice.members.flatMap((m) => (m.addresseeNo ? [m.addresseeNo] : []))],
          result: 'success',
          detail: { counter: counterId, visit: id, masked: view.fields.some((f) => f.masked) },
        }),
      );
      return { presentationId: p.id };
    },
  );

  route(
    {
      method: 'POST',
      path: '/resident-screen/close',
      access: staff,
      summary: '住民用画面の表示を閉じる (画面は待ち受けに戻り、何も表示しない)',
      body: T.Object({ _csrf: CsrfField }),
      response: json(Ack),
    },
    async (ctx) => {
      presentations.close(counterOf(ctx));
      return { status: 'closed' };
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/notices/:nid/signature/paper',
      access: staff,
      summary: '届出の署名を紙でもらったと記録する',
      params: NoticeParams,
      body: T.Object({ _csrf: CsrfField }),
      response: json(Ack),
    },
    async (ctx) => {
      const { id, nid } = ctx.input.params;
      await noticeOfVisit(id, nid);
      await recordSignature(
        knex,
        { noticeId: nid, method: 'paper', image: null, staffId: session(ctx).staffId!, screenId: null },
        actor(ctx),
      );
      return { status: 'recorded' };
    },
  );

  route(
    {
      method: 'GET',
      path: '/visits/:id/notices/:nid/signature.png',
      access: staff,
      summary: '住民用画面で書かれた署名の画像',
      params: NoticeParams,
      response: file('image/png'),
    },
    async (ctx) => {
      const { id, nid } = ctx.input.params;
      await noticeOfVisit(id, nid);
      const sig = await signatureOf(knex, nid);
      if (!sig?.image) throw notFound('署名');
      await knex.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'notice.signatureView',
          targetKind: 'notice',
          targetIds: [String(nid)],
          result: 'success',
          detail: { sha256: sig.sha256 },
        }),
      );
      ctx.type = 'image/png';
      ctx.body = sig.image;
    },
  );

  // --- the screen -------------------------------------------------------------------------------

  route(
    {
      method: 'GET',
      path: '/resident',
      access: 'public',
      summary: '住民用画面 (つないだ窓口から送られた内容だけを表示)',
      response: htmlPage,
    },
    async (ctx) => {
      const screen = ctx.state.residentScreen as ResidentScreen | undefined;
      ctx.type = 'html';
      ctx.body = residentPage(screen ? { counterName: counterName(screen.counterId) } : null, ctx.query.error === '1');
    },
  );

  route(
    {
      method: 'POST',
      path: '/resident/pair',
      access: 'public',
      summary: '住民用画面を窓口につなぐ (職員が表示した 6 桁の番号で)',
      body: T.Object({ code: T.String({ maxLength: 12, title: '番号' }) }),
      response: htmlOrRedirect,
    },
    async (ctx) => {
      const code = ctx.input.body.code.normalize('NFKC').replace(/\s/g, '');
      const pending = /^[0-9]{6}$/.test(code) ? pairings.take(code) : null;
      if (!pending) {
        ctx.status = 303;
        return ctx.redirect('/resident?error=1');
      }
      const token = await pairScreen(knex, pending, {
        staffId: pending.staffId,
        staffLogin: null,
        role: null,
        counterId: pending.counterId,
        clientAddress: ctx.ip,
      });
      ctx.cookies.set(RESIDENT_COOKIE, token, {
        httpOnly: true,
        sameSite: 'strict',
        secure: ctx.secure,
        path: '/resident',
        maxAge: COOKIE_DAYS * 24 * 3600 * 1000,
        overwrite: true,
      });
      ctx.status = 303;
      ctx.redirect('/resident');
    },
  );

  route(
    {
      method: 'GET',
      path: '/resident/screen',
      access: 'residentScreen',
      summary: '住民用画面が表示する内容 (つないだ窓口の、職員が送った届出だけ)',
      response: json(ScreenResponse),
      errors: ['residentScreen.notPaired'],
    },
    async (ctx) => {
      const screen = screenOfRequest(ctx);
      const p = await openAt(screen.counterId);
      const counter = counterName(screen.counterId);
      if (!p) return { state: 'waiting' as const, counterName: counter };
      return {
        state: 'confirm' as const,
        counterName: counter,
        presentation: { id: p.id, ...p.view, texts: { ...p.view.texts }, confirmed: p.confirmedAt !== null, signed: p.signedAt !== null },
      };
    },
  );

  route(
    {
      method: 'POST',
      path: '/resident/confirm',
      access: 'residentScreen',
      summary: '住民が「内容を確認しました」を押す',
      body: PresentationBody,
      response: json(Ack),
      errors: ['residentScreen.notPaired', 'residentScreen.closed'],
    },
    async (ctx) => {
      const screen = screenOfRequest(ctx);
      const p = await openById(screen.counterId, ctx.input.body.id);
      if (p.confirmedAt === null) {
        p.confirmedAt = Date.now();
        await screenAudit(screen, 'residentScreen.confirm', p);
      }
      return { status: 'confirmed' };
    },
  );

  route(
    {
      method: 'POST',
      path: '/resident/signature',
      access: 'residentScreen',
      summary: '住民が画面に書いた署名を送る',
      body: SignatureBody,
      response: json(Ack),
      errors: ['residentScreen.notPaired', 'residentScreen.closed', 'residentScreen.notConfirmed', 'residentScreen.badSignature'],
    },
    async (ctx) => {
      const screen = screenOfRequest(ctx);
      const p = await openById(screen.counterId, ctx.input.body.id);
      if (p.confirmedAt === null) throw new DomainError('residentScreen.notConfirmed');
      const png = await signaturePng(ctx.input.body.image);
      await recordSignature(
        knex,
        { noticeId: p.noticeId, method: 'touch', image: png, staffId: p.sentByStaff, screenId: screen.id },
        { staffId: null, staffLogin: `screen:${screen.id}`, role: null, counterId: screen.counterId, clientAddress: ctx.ip },
      );
      p.signedAt = Date.now();
      return { status: 'signed' };
    },
  );
}
