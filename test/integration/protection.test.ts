import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResidentRow } from '../../server/src/db/tables.generated.js';
import { MASKED_ADDRESS } from '../../server/src/residents/warnings.js';
import { makeHousehold, makeResident } from '../helpers/factories.js';
import { getAs, postForm } from '../helpers/http.js';
import type { LoggedIn } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 15 items 1–3: one protection decision for every address-bearing value, whatever its source
 * (register rows, typed notice addresses, the visitor's address, target households), one presenter,
 * notices touching protection routed to 支援措置担当, and no search oracle.
 */
describe('protection: every address-bearing value goes through one decision and one presenter', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clerk: LoggedIn;
  let shien: LoggedIn;
  let reviewer: LoggedIn;
  let protectedHousehold: { householdNo: string; members: ResidentRow[] };
  let victim: ResidentRow;
  let neighbour: ResidentRow;

  /** The true (protected) address, as registered and as typed in other forms. */
  const TRUE_ADDRESS = '本町77番地7';
  const TRUE_ADDRESS_TYPED = '熊本県窓口郡まどぐち町本町７７－７';
  /** Where she is moving: typed in the 転居届, in no register row yet. */
  const SECRET_NEW = '窓口郡まどぐち町緑ケ丘五丁目88番地8 サニー101';
  const leaked = (text: string, ...secrets: string[]) => secrets.filter((s) => text.includes(s));

  const visitOf = async (who: LoggedIn): Promise<number> => {
    const res = await postForm(`${server.url}visits`, who, {});
    expect(res.status).to.equal(303);
    return Number(/\/visits\/(\d+)$/.exec(res.headers.get('location') ?? '')![1]);
  };
  const newNotice = async (who: LoggedIn, visitId: number, type: string): Promise<number> => {
    const created = await postForm(`${server.url}visits/${visitId}/notices`, who, { type });
    expect(created.status).to.equal(303);
    return Number(/notices\/(\d+)$/.exec(created.headers.get('location')!)![1]);
  };
  const pdfText = async (url: string, who: LoggedIn, name: string): Promise<string> => {
    const res = await getAs(url, who);
    expect(res.status).to.equal(200);
    const file = path.join(server.dir, name);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
  };
  const squash = (s: string) => s.replace(/\s/g, '');
  const auditOf = async (action: string, staffId: number) =>
    (await server.knex('audit_trail').where({ action, staff_id: staffId }).orderBy('seq').select('target_ids', 'detail')) as {
      target_ids: string;
      detail: string | null;
    }[];

  before(async () => {
    server = await startTestServer();
    const knex = server.knex;
    protectedHousehold = await makeHousehold(
      knex,
      [
        { name: '守田 静香', name_kana: 'モリタ シズカ', sex: '2' },
        { name: '守田 陽太', name_kana: 'モリタ ヒナタ', birth_date: '2015-05-05' },
      ],
      { town_name: '本町', block_number: '77番地7' },
    );
    victim = protectedHousehold.members[0]!;
    await knex('support_measures').insert({ addressee_no: victim.addressee_no, measure_code: '1', start_date: '2020-01-01' });
    // Another household registered at the same address (a neighbour in the same house).
    neighbour = await makeResident(knex, { name: '隣家 一郎', name_kana: 'リンカ イチロウ', town_name: '本町', block_number: '77番地7' });
    clerk = await server.login(['counter']);
    shien = await server.loginDemo('shien');
    reviewer = await server.login(['reviewer']);
  });
  after(async () => {
    await server?.close();
  });

  describe('a 転居 of a protected person: the typed new address', () => {
    let visitId: number;
    let noticeId: number;
    before(async () => {
      visitId = await visitOf(clerk);
      await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { addresseeNo: victim.addressee_no });
      noticeId = await newNotice(clerk, visitId, 'relocation');
      const ok = await postForm(`${server.url}visits/${visitId}/notices/${noticeId}`, clerk, {
        action: 'accept',
        effectiveDate: 'R8.11.28',
        previousAddress: `窓口郡まどぐち町${TRUE_ADDRESS}`,
        newAddress: SECRET_NEW,
        m0_addresseeNo: victim.addressee_no,
        m0_name: victim.name,
        moving: ['0'],
        head: '0',
      });
      expect(ok.status).to.equal(303);
    });

    it('is masked on the notice page and the notices API for a counter group, with the 支援措置 warning', async () => {
      const page = await (await getAs(`${server.url}visits/${visitId}/notices/${noticeId}`, clerk)).text();
      expect(leaked(page, '88番地8', 'サニー101', '77番地7')).to.deep.equal([]);
      expect(page).to.contain(MASKED_ADDRESS).and.contain('支援措置');
      const res = await getAs(`${server.url}api/v1/visits/${visitId}/notices`, clerk);
      expect(res.status).to.equal(200);
      const text = await res.text();
      expect(leaked(text, '88番地8', 'サニー101', '77番地7')).to.deep.equal([]);
      const body = JSON.parse(text) as { notices: { data: Record<string, string>; addressProtected: boolean }[] };
      expect(body.notices[0]!.data.newAddress).to.equal(MASKED_ADDRESS);
      expect(body.notices[0]!.data.previousAddress).to.equal(MASKED_ADDRESS);
      expect(body.notices[0]!.addressProtected).to.equal(true);
      const visitPage = await (await getAs(`${server.url}visits/${visitId}`, clerk)).text();
      expect(leaked(visitPage, '88番地8', 'サニー101', '77番地7')).to.deep.equal([]);
      expect(visitPage).to.contain('id="notice-protected-');
    });

    it('is shown to 支援措置担当, and that unmasked read is audited', async () => {
      const res = await getAs(`${server.url}api/v1/visits/${visitId}/notices`, shien);
      const body = (await res.json()) as { notices: { data: Record<string, string> }[] };
      expect(body.notices[0]!.data.newAddress).to.equal(SECRET_NEW);
      const page = await (await getAs(`${server.url}visits/${visitId}/notices/${noticeId}`, shien)).text();
      expect(page).to.contain('サニー101');
      const audit = await auditOf('address.viewProtected', shien.staffId);
      expect(audit.length).to.be.at.least(2);
      expect(
        audit.some((a) => JSON.parse(a.target_ids).includes(String(noticeId)) || JSON.parse(a.target_ids).includes(victim.addressee_no)),
      ).to.be.true;
    });

    it('is routed to 支援措置担当 for review: flagged in the list, masked on the review page, refused to a reviewer without the right', async () => {
      const list = await (await getAs(`${server.url}review`, reviewer)).text();
      expect(list).to.contain('支援措置担当の審査が必要');
      const view = await (await getAs(`${server.url}review/notices/${noticeId}`, reviewer)).text();
      expect(leaked(view, '88番地8', 'サニー101', '77番地7')).to.deep.equal([]);
      expect(view).to.contain(MASKED_ADDRESS).and.contain('支援措置');
      const refused = await fetch(`${server.url}notices/${noticeId}/move`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: reviewer.cookie, 'x-csrf-token': reviewer.csrf, accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ move: 'review' }),
      });
      expect(refused.status).to.equal(403);
      expect(((await refused.json()) as { error: { code: string } }).error.code).to.equal('notice.protectedReview');
      expect(((await server.knex('notices').where({ id: noticeId }).first('status')) as { status: string }).status).to.equal('accepted');
      // 支援措置担当 (the shipped group reviews notices since migration 014) may review it.
      const ok = await postForm(`${server.url}notices/${noticeId}/move`, shien, { move: 'review' });
      expect(ok.status).to.equal(303);
      expect(((await server.knex('notices').where({ id: noticeId }).first('status')) as { status: string }).status).to.equal('reviewed');
    });
  });

  describe('the visitor address of the identity form', () => {
    it('saved by 支援措置担当 (pre-filled with the true address) is masked on /visits/:id and in the visit API for a counter group', async () => {
      const visitId = await visitOf(shien);
      await postForm(`${server.url}visits/${visitId}/subjects`, shien, { addresseeNo: victim.addressee_no });
      const form = await (await getAs(`${server.url}visits/${visitId}`, shien)).text();
      expect(form).to.contain(TRUE_ADDRESS);
      const saved = await postForm(`${server.url}visits/${visitId}/visitor`, shien, {
        visitorRole: 'subject',
        identityDocument: 'myNumberCard',
        visitorName: victim.name,
        visitorAddress: `熊本県窓口郡まどぐち町${TRUE_ADDRESS}`,
      });
      expect(saved.status).to.equal(303);
      const page = await (await getAs(`${server.url}visits/${visitId}`, clerk)).text();
      expect(leaked(page, '77番地7', '77-7')).to.deep.equal([]);
      const api = await getAs(`${server.url}api/v1/visits/${visitId}`, clerk);
      expect(api.status).to.equal(200);
      const text = await api.text();
      expect(leaked(text, '77番地7', '77-7')).to.deep.equal([]);
      expect((JSON.parse(text) as { visitorAddress: string }).visitorAddress).to.equal(MASKED_ADDRESS);
      const own = (await (await getAs(`${server.url}api/v1/visits/${visitId}`, shien)).json()) as { visitorAddress: string };
      expect(own.visitorAddress).to.equal(`熊本県窓口郡まどぐち町${TRUE_ADDRESS}`);
    });

    it('equal to a protected address after normalisation is masked even with no protected subject (a proxy, a hand-typed subject)', async () => {
      const visitId = await visitOf(clerk);
      await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { manualName: '手入力 花子', manualAddress: '本町七十七番地の七' });
      await postForm(`${server.url}visits/${visitId}/visitor`, clerk, {
        visitorRole: 'proxy',
        proxyRelationship: '知人',
        visitorName: '代理 人',
        visitorAddress: TRUE_ADDRESS_TYPED,
      });
      const text = await (await getAs(`${server.url}api/v1/visits/${visitId}`, clerk)).text();
      expect(leaked(text, '７７－７', '七十七')).to.deep.equal([]);
      const v = JSON.parse(text) as { visitorAddress: string; subjects: { manualAddress: string }[] };
      expect(v.visitorAddress).to.equal(MASKED_ADDRESS);
      expect(v.subjects[0]!.manualAddress).to.equal(MASKED_ADDRESS);
      const page = await (await getAs(`${server.url}visits/${visitId}`, clerk)).text();
      expect(leaked(page, '７７－７', '七十七')).to.deep.equal([]);
    });
  });

  describe('a 転入 into a protected household', () => {
    let visitId: number;
    before(async () => {
      visitId = await visitOf(clerk);
      const nid = await newNotice(clerk, visitId, 'moveIn');
      const ok = await postForm(`${server.url}visits/${visitId}/notices/${nid}`, clerk, {
        action: 'accept',
        effectiveDate: 'R8.11.28',
        previousAddress: '東京都千代田区霞が関1-1',
        newAddress: `窓口郡まどぐち町${TRUE_ADDRESS}`,
        certificateRef: 'T-0077',
        targetHouseholdNo: protectedHousehold.householdNo,
        m0_name: '合流 一',
        m0_birthDate: 'H2.2.2',
        m0_sex: '1',
        m0_relationship: '兄',
        moving: ['0'],
      });
      expect(ok.status, await ok.text()).to.equal(303);
    });

    it('prints masked on the 住民異動届 and the bundle for a counter group, with a warning beside the print links', async () => {
      const n = (await server.knex('notices').where({ visit_id: visitId }).first('id')) as { id: number };
      const form = await pdfText(`${server.url}visits/${visitId}/notices/${n.id}/form.pdf`, clerk, 'movein-clerk.pdf');
      expect(leaked(squash(form), '77番地7', '77-7')).to.deep.equal([]);
      expect(squash(form)).to.contain(squash(MASKED_ADDRESS));
      const bundle = await pdfText(`${server.url}visits/${visitId}/bundle.pdf`, clerk, 'movein-bundle.pdf');
      expect(leaked(squash(bundle), '77番地7', '77-7')).to.deep.equal([]);
      const page = await (await getAs(`${server.url}visits/${visitId}`, clerk)).text();
      expect(page).to.contain('支援措置').and.contain(`id="notice-protected-${n.id}"`);
      expect(leaked(page, '77番地7')).to.deep.equal([]);
      const shown = await pdfText(`${server.url}visits/${visitId}/notices/${n.id}/form.pdf`, shien, 'movein-shien.pdf');
      expect(squash(shown)).to.contain('77番地7');
    });
  });

  describe('address search is no oracle', () => {
    const TOWN = '試験町';
    let plain: string[];
    before(async () => {
      const knex = server.knex;
      // Unprotected residents on either side of the protected address, by address order.
      for (const [block, name] of [
        ['1番地', '一番 太郎'],
        ['2番地', '二番 太郎'],
        ['4番地', '四番 太郎'],
        ['5番地', '五番 太郎'],
      ] as const)
        await makeResident(knex, { town_name: TOWN, block_number: block, name });
      plain = [];
    });

    const search = async (who: LoggedIn, q: Record<string, string>) => {
      const res = await getAs(`${server.url}api/v1/residents?${new URLSearchParams(q).toString()}`, who);
      expect(res.status).to.equal(200);
      const body = (await res.json()) as { total: number; results: { addresseeNo: string; name: string; address: string }[] };
      return { total: body.total, rows: body.results.map((r) => `${r.addresseeNo} ${r.name} ${r.address}`) };
    };

    it('lists no protected person and changes neither counts nor order for staff without the right', async () => {
      const before = { town: await search(clerk, { address: TOWN }), block: await search(clerk, { address: `${TOWN}3番地` }) };
      plain = before.town.rows;
      expect(before.town.total).to.equal(4);
      // A protected household at 試験町3番地 (and a neighbour household at the same address) appears.
      const h = await makeHousehold(
        server.knex,
        [
          { name: '潜伏 花子', name_kana: 'センプク ハナコ', sex: '2' },
          { name: '潜伏 次郎', name_kana: 'センプク ジロウ' },
        ],
        { town_name: TOWN, block_number: '3番地' },
      );
      await server
        .knex('support_measures')
        .insert({ addressee_no: h.members[0]!.addressee_no, measure_code: '2', start_date: '2021-04-01' });
      await makeResident(server.knex, { town_name: TOWN, block_number: '3番地', name: '同居 別世帯' });
      const after = { town: await search(clerk, { address: TOWN }), block: await search(clerk, { address: `${TOWN}3番地` }) };
      expect(after.town).to.deep.equal(before.town);
      expect(after.block).to.deep.equal({ total: 0, rows: [] });
      for (const page of [1, 2]) {
        const paged = await search(clerk, { address: TOWN, pageSize: '2', page: String(page) });
        expect(paged.rows).to.deep.equal(plain.slice((page - 1) * 2, page * 2));
        expect(paged.total).to.equal(4);
      }
      const html = await (await getAs(`${server.url}search?address=${encodeURIComponent(TOWN)}`, clerk)).text();
      expect(html).to.not.contain('潜伏').and.not.contain('同居').and.not.contain(MASKED_ADDRESS);
      // 支援措置担当 sees them all.
      const full = await search(shien, { address: TOWN });
      expect(full.total).to.equal(7);
      expect(full.rows.join('\n')).to.contain('潜伏 花子').and.contain('試験町3番地');
    });

    it('a name search finds the protected person with the warning but no address, household address or neighbour list', async () => {
      const found = await search(clerk, { name: '守田 静香' });
      expect(found.total).to.equal(1);
      expect(found.rows[0]).to.contain(MASKED_ADDRESS);
      const res = await getAs(`${server.url}api/v1/residents/${victim.addressee_no}`, clerk);
      const text = await res.text();
      expect(leaked(text, '77番地7', '隣家')).to.deep.equal([]);
      const view = JSON.parse(text) as {
        person: { address: string; warnings: { kind: string }[] };
        household: { address: string }[];
        sameAddress: unknown[];
      };
      expect(view.person.warnings.map((w) => w.kind)).to.include('supportMeasure');
      expect(view.person.address).to.equal(MASKED_ADDRESS);
      expect(view.household.map((m) => m.address)).to.deep.equal([MASKED_ADDRESS, MASKED_ADDRESS]);
      expect(view.sameAddress).to.deep.equal([]);
      const page = await (await getAs(`${server.url}residents/${victim.addressee_no}`, clerk)).text();
      expect(leaked(page, '77番地7', '隣家')).to.deep.equal([]);
      expect(page).to.contain('支援措置');
      // The neighbour's own view does not point at the protected household either.
      const fromNeighbour = JSON.parse(await (await getAs(`${server.url}api/v1/residents/${neighbour.addressee_no}`, clerk)).text()) as {
        person: { address: string };
        sameAddress: unknown[];
      };
      expect(fromNeighbour.person.address).to.equal(MASKED_ADDRESS);
      expect(fromNeighbour.sameAddress).to.deep.equal([]);
      // 支援措置担当 sees the address and the neighbours.
      const shown = (await (await getAs(`${server.url}api/v1/residents/${victim.addressee_no}`, shien)).json()) as {
        person: { address: string };
        sameAddress: { name: string }[];
      };
      expect(shown.person.address).to.contain('77番地7');
      expect(shown.sameAddress.map((m) => m.name)).to.include('隣家 一郎');
    });
  });
});
