import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { procedureGuide } from '../../server/src/notices/procedureGuide.js';
import { loadProcedures } from '../../server/src/procedures/config.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { getAs, postForm } from '../helpers/http.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';
import { configDir, tempDir } from '../helpers/paths.js';

interface ProcedureJson {
  id: number;
  procedureId: string;
  status: string;
  removed: boolean;
  source: string;
  here: boolean;
  members: string[];
}

/** Move notices through the screens: draft, errors next to fields, accept, derived procedures, review. */
describe('notices: drafts, validation, derived procedures, review with four eyes', function () {
  this.timeout(60_000);
  const t = tempDir();
  let server: RunningServer;
  let clerk: LoggedIn;
  let visitId: number;

  before(async () => {
    server = await startServer({ configDir, dataDir: t.dir, port: 0, host: '127.0.0.1', watch: false });
    const person = (no: string, name: string, kana: string, birth: string, rel: string, code: string) => ({
      addressee_no: no,
      household_no: 'H7',
      resident_kind: '1',
      resident_status: '1',
      name,
      name_kana: kana,
      sex: '1',
      birth_date: birth,
      relationship_code1: code,
      relationship_label: rel,
      change_reason_code: '01',
      town_name: '本町',
      block_number: '1-1',
    });
    for (const r of [
      person('700000000001', '転居 一郎', 'テンキョ イチロウ', '1970-06-01', '世帯主', '02'),
      person('700000000002', '転居 花子', 'テンキョ ハナコ', '1972-03-03', '妻', '03'),
      person('700000000003', '転居 陽太', 'テンキョ ヨウタ', '2018-09-09', '子', '04'),
    ]) {
      await server.knex('residents').insert({ ...r, ...derivedKeys.residents!(r) });
    }
    // The address master (住所関連マスタ): in-town addresses of notices must be in it.
    for (const [town, block] of [
      ['緑ケ丘二丁目', '3番地4'],
      ['本町', '1-1'],
    ]) {
      const row = {
        municipality_code: '439991',
        town_code: town === '本町' ? '0001' : '0002',
        town_name: town,
        block_number: block,
        address_suffix: '',
        residential_addressing: false,
      };
      await server.knex('address_master').insert({ ...row, ...derivedKeys.address_master!(row) });
    }
    await server.knex('entitlements').insert([
      { kind: 'nationalHealthInsurance', addressee_no: '700000000001', child_addressee_no: '', acquired_date: '2000-01-01' },
      { kind: 'childAllowance', addressee_no: '700000000001', child_addressee_no: '700000000003', acquired_date: '2018-10-01' },
    ]);
    clerk = await loginAs(server.url, server.knex, ['counter']);
    const res = await postForm(`${server.url}visits`, clerk, {});
    visitId = Number(/\/visits\/(\d+)$/.exec(res.headers.get('location') ?? '')![1]);
    await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { addresseeNo: '700000000001' });
  });
  after(async () => {
    await server.close();
    t.remove();
  });

  it('starts a relocation from the subject household, shows errors next to the fields, and accepts it with the derived procedures', async () => {
    const created = await postForm(`${server.url}visits/${visitId}/notices`, clerk, { type: 'relocation' });
    expect(created.status).to.equal(303);
    const noticeUrl = created.headers.get('location')!;
    const form = await (await getAs(`${server.url}${noticeUrl.slice(1)}`, clerk)).text();
    expect(form).to.contain('転居 花子').and.contain('name="m2_name"');

    // Missing new address: the message sits next to the field; the draft is kept.
    const bad = await postForm(`${server.url}${noticeUrl.slice(1)}`, clerk, {
      action: 'accept',
      effectiveDate: 'R8.11.20',
      m0_addresseeNo: '700000000001',
      m0_name: '転居 一郎',
      m1_addresseeNo: '700000000002',
      m1_name: '転居 花子',
      m2_addresseeNo: '700000000003',
      m2_name: '転居 陽太',
      moving: ['0', '1', '2'],
      head: '0',
    });
    expect(bad.status).to.equal(400);
    const badHtml = await bad.text();
    expect(badHtml).to.match(
      /<input name="newAddress"[^>]*><\/label> <span class="field-error" role="alert">新しい住所を入力してください<\/span>/,
    );
    expect((await server.knex('notices').first('status', 'effective_date')) as Record<string, unknown>).to.deep.equal({
      status: 'draft',
      effective_date: '2026-11-20',
    });

    // An address that is not in the master (a reading, a 番地 cut short) is refused beside the field, as typed.
    for (const typed of ['さくらだい', '緑ケ丘二丁目3番地', '緑ケ丘二丁目3番地45']) {
      const wrong = await postForm(`${server.url}${noticeUrl.slice(1)}`, clerk, {
        action: 'accept',
        effectiveDate: 'R8.11.20',
        newAddress: typed,
        m0_addresseeNo: '700000000001',
        m0_name: '転居 一郎',
        moving: ['0'],
        head: '0',
      });
      expect(wrong.status, typed).to.equal(400);
      const text = await wrong.text();
      expect(text, typed).to.contain(`value="${typed}"`);
      expect(text, typed).to.match(
        /<input name="newAddress"[^>]*><\/label> <span class="field-error" role="alert">住所マスタにない住所です/,
      );
    }
    expect(((await server.knex('notices').first('status')) as { status: string }).status).to.equal('draft');

    const ok = await postForm(`${server.url}${noticeUrl.slice(1)}`, clerk, {
      action: 'accept',
      effectiveDate: '令和8年11月20日',
      // The 方書 after the 番地 is free.
      newAddress: '緑ケ丘二丁目3番地4 サニーハイツ101',
      m0_addresseeNo: '700000000001',
      m0_name: '転居 一郎',
      m1_addresseeNo: '700000000002',
      m1_name: '転居 花子',
      m2_addresseeNo: '700000000003',
      m2_name: '転居 陽太',
      moving: ['0', '1', '2'],
      head: '0',
    });
    if (ok.status !== 303) throw new Error((await ok.text()).replace(/[\s\S]*<main>/, '').slice(0, 1500));
    expect(ok.status).to.equal(303);
    const n = (await server.knex('notices').first('status', 'accepted_by')) as { status: string; accepted_by: number };
    expect(n).to.deep.equal({ status: 'accepted', accepted_by: clerk.staffId });
    const procs = (await (await getAs(`${server.url}api/v1/visits/${visitId}/procedures`, clerk)).json()) as {
      procedures: ProcedureJson[];
    };
    const derivedIds = procs.procedures.map((p) => p.procedureId);
    expect(derivedIds, 'a relocation of a household in NHI with child allowance').to.include('nhiAddress');
    expect(procs.procedures.find((p) => p.procedureId === 'nhiAddress')!.members).to.deep.equal(['700000000001']);
    expect(procs.procedures.every((p) => p.status === 'pending' && !p.removed)).to.equal(true);
    const page = await (await getAs(`${server.url}visits/${visitId}`, clerk)).text();
    expect(page).to.contain('id="procedure-list"');

    // Accepted notices cannot be edited.
    const late = await postForm(`${server.url}${noticeUrl.slice(1)}`, clerk, { action: 'save', effectiveDate: 'R8.11.21' });
    expect(late.status).to.equal(409);
  });

  it('lets staff remove a procedure with a reason, add one by hand, and change statuses', async () => {
    const { procedures } = (await (await getAs(`${server.url}api/v1/visits/${visitId}/procedures`, clerk)).json()) as {
      procedures: ProcedureJson[];
    };
    const first = procedures[0]!;
    expect((await postForm(`${server.url}visits/${visitId}/procedures/${first.id}`, clerk, { op: 'remove', reason: '' })).status).to.equal(
      400,
    );
    await postForm(`${server.url}visits/${visitId}/procedures/${first.id}`, clerk, { op: 'remove', reason: '本人が後日来庁' });
    const second = procedures[1];
    if (second) await postForm(`${server.url}visits/${visitId}/procedures/${second.id}`, clerk, { status: 'referred' });
    await postForm(`${server.url}visits/${visitId}/procedures`, clerk, { procedureId: procedures[0]!.procedureId, reason: 'やはり今日' });
    const after = (await (await getAs(`${server.url}api/v1/visits/${visitId}/procedures`, clerk)).json()) as {
      procedures: ProcedureJson[];
    };
    expect(after.procedures.find((p) => p.id === first.id)!.removed).to.equal(false);
    if (second) expect(after.procedures.find((p) => p.id === second.id)!.status).to.equal('referred');
    const audited = (await server
      .knex('audit_trail')
      .whereIn('action', ['visit.procedure', 'visit.procedureAdd'])
      .count({ n: '*' })
      .first()) as { n: number };
    expect(Number(audited.n)).to.be.at.least(2);
  });

  it('reviews with four eyes: not by the one who accepted, only with notice.review; sends back with a reason', async () => {
    const id = Number(((await server.knex('notices').first('id')) as { id: number }).id);
    expect((await postForm(`${server.url}notices/${id}/move`, clerk, { move: 'review' })).status).to.equal(403);
    const both = await loginAs(server.url, server.knex, ['reviewer']);
    // A reviewer cannot review a notice they accepted themselves.
    await server.knex('notices').where({ id }).update({ accepted_by: both.staffId });
    expect((await postForm(`${server.url}notices/${id}/move`, both, { move: 'review' })).status).to.equal(403);
    await server.knex('notices').where({ id }).update({ accepted_by: clerk.staffId });
    const list = await (await getAs(`${server.url}review`, both)).text();
    expect(list).to.contain(`href="/review/notices/${id}">転居届`);
    const view = await getAs(`${server.url}review/notices/${id}`, both);
    expect(view.status).to.equal(200);
    expect(await view.text()).to.contain('転居 花子');
    expect((await postForm(`${server.url}notices/${id}/move`, both, { move: 'review' })).status).to.equal(303);
    const reviewed = (await server.knex('notices').where({ id }).first('status', 'reviewed_by')) as { status: string; reviewed_by: number };
    expect(reviewed).to.deep.equal({ status: 'reviewed', reviewed_by: both.staffId });
    expect((await postForm(`${server.url}notices/${id}/move`, both, { move: 'reopen' })).status).to.equal(400);
    expect((await postForm(`${server.url}notices/${id}/move`, both, { move: 'reopen', reason: '続柄の確認' })).status).to.equal(303);
    expect(((await server.knex('notices').where({ id }).first('status')) as { status: string }).status).to.equal('accepted');
    // Reads (notice.view, written for every personal-data route) interleave; the changes keep their order.
    const trail = (
      (await server.knex('audit_trail').where('action', 'like', 'notice.%').orderBy('seq').pluck('action')) as string[]
    ).filter((a) => a !== 'notice.view');
    // Each attempt to accept saves the draft first (one refused for a missing address, three for addresses not in the master).
    expect(trail).to.include.ordered.members(['notice.create', ...Array<string>(5).fill('notice.update'), 'notice.accept']);
    expect(trail.slice(-2)).to.deep.equal(['notice.review', 'notice.reopen']);
  });

  it('re-derives when an answer changes: a procedure that no longer applies leaves the list, and comes back', async () => {
    const res = await postForm(`${server.url}visits`, clerk, {});
    const v = Number(/\/visits\/(\d+)$/.exec(res.headers.get('location') ?? '')![1]);
    const created = await postForm(`${server.url}visits/${v}/notices`, clerk, { type: 'moveIn' });
    const url = `${server.url}${created.headers.get('location')!.slice(1)}`;
    const accepted = await postForm(url, clerk, {
      action: 'accept',
      effectiveDate: 'R8.11.30',
      previousAddress: '東京都千代田区千代田1-1',
      newAddress: '本町1-1',
      m0_name: '単身 転入',
      m0_birthDate: 'H8.5.5',
      m0_sex: '1',
      moving: '0',
      head: '0',
    });
    expect(accepted.status).to.equal(303);
    const ids = async () =>
      ((await (await getAs(`${server.url}api/v1/visits/${v}/procedures`, clerk)).json()) as { procedures: ProcedureJson[] }).procedures
        .filter((p) => !p.removed)
        .map((p) => p.procedureId);
    expect(await ids()).to.not.include('nhiEnrol');
    await postForm(`${server.url}visits/${v}/answers`, clerk, { q_employeeInsurance: 'false' });
    expect(await ids()).to.include('nhiEnrol');
    await postForm(`${server.url}visits/${v}/answers`, clerk, { q_employeeInsurance: 'true' });
    expect(await ids()).to.not.include('nhiEnrol');
    await postForm(`${server.url}visits/${v}/answers`, clerk, { q_employeeInsurance: 'false' });
    expect(await ids()).to.include('nhiEnrol');

    // The procedure's application form prints filled in, and the procedure becomes 申請書印刷済.
    const row = (await server.knex('visit_procedures').where({ visit_id: v, procedure_id: 'nhiEnrol' }).first('id')) as { id: number };
    const pdf = await getAs(`${server.url}visits/${v}/procedures/${row.id}/forms.pdf`, clerk);
    expect(pdf.headers.get('content-type')).to.equal('application/pdf');
    const file = path.join(t.dir, 'nhi.pdf');
    writeFileSync(file, Buffer.from(await pdf.arrayBuffer()));
    expect(execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' })).to.contain('単身 転入');
    expect(((await server.knex('visit_procedures').where({ id: row.id }).first('status')) as { status: string }).status).to.equal(
      'printed',
    );
  });

  it('fills a 特例転入 from a 転出証明書情報 CSV (CP932, registered characters kept, the My Number never stored)', async () => {
    const res = await postForm(`${server.url}visits`, clerk, {});
    const v = Number(/\/visits\/(\d+)$/.exec(res.headers.get('location') ?? '')![1]);
    const created = await postForm(`${server.url}visits/${v}/notices`, clerk, { type: 'specialMoveIn' });
    const nid = Number(/notices\/(\d+)$/.exec(created.headers.get('location')!)![1]);
    const csv = [
      '住民票コード,個人番号,氏名,氏名_フリガナ,生年月日,性別,世帯主氏名,続柄表記,転出前住所_都道府県,転出前住所_市区郡町村名,転出前住所_町字,転出前住所_番地号表記,転出前住所_方書,転出先住所_町字,転出先住所_番地号表記,転出先住所_方書,転出予定年月日,異動年月日,送信元市区町村コード',
      '12345678901,123456789018,髙﨑 一郎,タカサキ イチロウ,19800505,1,髙﨑 一郎,世帯主,東京都,千代田区,千代田,1番1号,,緑ケ丘二丁目,3番地4,,20261125,,131016',
      '12345678902,,髙﨑 花子,タカサキ ハナコ,1982-02-02,2,髙﨑 一郎,妻,東京都,千代田区,千代田,1番1号,,緑ケ丘二丁目,3番地4,,20261125,,131016',
    ].join('\r\n');
    const { default: iconv } = await import('iconv-lite');
    const upload = (body: Buffer) =>
      fetch(`${server.url}visits/${v}/notices/${nid}/move-out-certificate`, {
        method: 'POST',
        headers: { cookie: clerk.cookie, 'x-csrf-token': clerk.csrf, 'content-type': 'text/csv', accept: 'application/json' },
        body,
      });
    const ok = await upload(iconv.encode(csv, 'cp932'));
    expect(ok.status, await ok.clone().text()).to.equal(200);
    const n = (await (await getAs(`${server.url}api/v1/visits/${v}/notices`, clerk)).json()) as {
      notices: { data: Record<string, string>; members: { name: string; head: boolean; birthDate: string }[] }[];
    };
    const notice = n.notices[0]!;
    expect(notice.members.map((m) => [m.name, m.head, m.birthDate])).to.deep.equal([
      ['髙﨑 一郎', true, '1980-05-05'],
      ['髙﨑 花子', false, '1982-02-02'],
    ]);
    expect(notice.data).to.deep.include({
      previousAddress: '東京都千代田区千代田1番1号',
      newAddress: '緑ケ丘二丁目3番地4',
      plannedMoveDate: '2026-11-25',
      certificateRef: '131016-12345678901',
    });
    expect(JSON.stringify(await server.knex('notices').select())).to.not.contain('123456789018');
    expect(JSON.stringify(await server.knex('audit_trail').select())).to.not.contain('123456789018');
    const bad = await upload(Buffer.from(csv.replace(',1,髙﨑 一郎,世帯主', ',3,髙﨑 一郎,世帯主'), 'utf8'));
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).to.equal(
      '2 行目 列「性別」: 1 (男) か 2 (女) ではありません',
    );
  });

  it('gathers the procedure guide: what, where, what to bring, done or not (done ones last)', async () => {
    const catalog = loadProcedures(configDir, server.config.counters);
    const guide = (await procedureGuide(server.knex, visitId, (id) => catalog.byId(id), server.config.counters))!;
    expect(guide.visitNo).to.match(/^\d{8}-\d{4}$/);
    const nhi = guide.items.find((i) => i.name === '国民健康保険 住所変更 (転居)')!;
    expect(nhi).to.deep.include({ section: '保険年金課', counter: '保険年金窓口 5番' });
    expect(nhi.bring).to.include('資格確認書または保険証 (お持ちの方)');
    const doneAt = guide.items.findIndex((i) => i.done);
    if (doneAt >= 0) expect(guide.items.slice(doneAt).every((i) => i.done)).to.equal(true);
  });

  it('shows an identity error beside its field on the visit page, the form as typed; a reviewer goes back to the review list', async () => {
    const res = await postForm(`${server.url}visits/${visitId}/visitor`, clerk, {
      visitorRole: 'proxy',
      identityDocument: 'driversLicence',
      visitorName: '代理 花子',
      visitorPhone: '090-3333-4444',
    });
    expect(res.status).to.equal(400);
    const page = await res.text();
    expect(page).to.contain('id="identity-form"').and.contain('id="identity-errors"');
    expect(page).to.match(
      /id="proxy-relationship" value=""><\/label> <span class="field-error" role="alert">代理人の場合は本人との関係を入力してください<\/span>/,
    );
    expect(page).to.contain('value="代理 花子"').and.contain('value="090-3333-4444"');
    expect(page).to.match(/value="proxy" checked/);
    // Nothing was saved.
    expect(
      ((await server.knex('visits').where({ id: visitId }).first('visitor_name')) as { visitor_name: string | null }).visitor_name,
    ).to.not.equal('代理 花子');

    const reviewer = await loginAs(server.url, server.knex, ['reviewer']);
    const id = Number(((await server.knex('notices').whereNot('status', 'draft').first('id')) as { id: number }).id);
    const review = await (await getAs(`${server.url}review/notices/${id}`, reviewer)).text();
    expect(review).to.match(/<a href="\/review" id="notice-back">← 審査の一覧に戻る<\/a>/);
  });

  it('names no address master candidates beside a protected notice, and audits a refused identity save', async () => {
    const guarded = {
      addressee_no: '700000000009',
      household_no: 'H9',
      resident_kind: '1',
      resident_status: '1',
      name: '保護 花子',
      name_kana: 'ホゴ ハナコ',
      sex: '2',
      birth_date: '1985-05-05',
      relationship_code1: '02',
      relationship_label: '世帯主',
      change_reason_code: '01',
      town_name: '本町',
      block_number: '1-1',
    };
    await server.knex('residents').insert({ ...guarded, ...derivedKeys.residents!(guarded) });
    await server.knex('support_measures').insert({ addressee_no: '700000000009', measure_code: '1', start_date: '2024-01-01' });
    const res = await postForm(`${server.url}visits`, clerk, {});
    const v = Number(/\/visits\/(\d+)$/.exec(res.headers.get('location') ?? '')![1]);
    await postForm(`${server.url}visits/${v}/subjects`, clerk, { addresseeNo: '700000000009' });
    const created = await postForm(`${server.url}visits/${v}/notices`, clerk, { type: 'relocation' });
    const url = `${server.url}${created.headers.get('location')!.slice(1)}`;
    const refused = await postForm(url, clerk, {
      action: 'accept',
      effectiveDate: 'R8.11.20',
      newAddress: '緑ケ丘二丁目3番地',
      m0_addresseeNo: '700000000009',
      m0_name: '保護 花子',
      moving: ['0'],
      head: '0',
    });
    expect(refused.status).to.equal(400);
    const page = await refused.text();
    expect(page).to.contain('候補は出しません');
    expect(page).to.not.contain('3番地4');

    const before = Number(
      ((await server.knex('audit_trail').where({ action: 'visit.identity', result: 'failure' }).count({ n: '*' }).first()) as { n: number })
        .n,
    );
    await postForm(`${server.url}visits/${v}/visitor`, clerk, { visitorRole: 'proxy', visitorName: '代理 太郎' });
    const after = Number(
      ((await server.knex('audit_trail').where({ action: 'visit.identity', result: 'failure' }).count({ n: '*' }).first()) as { n: number })
        .n,
    );
    expect(after - before).to.equal(1);
  });

  it('cancels a draft with a reason, and refuses a cancel without one', async () => {
    const created = await postForm(`${server.url}visits/${visitId}/notices`, clerk, { type: 'headChange' });
    const nid = Number(/notices\/(\d+)$/.exec(created.headers.get('location')!)![1]);
    expect((await postForm(`${server.url}visits/${visitId}/notices/${nid}/cancel`, clerk, { reason: '' })).status).to.equal(400);
    expect((await postForm(`${server.url}visits/${visitId}/notices/${nid}/cancel`, clerk, { reason: '届出人の勘違い' })).status).to.equal(
      303,
    );
    expect(((await server.knex('notices').where({ id: nid }).first('status')) as { status: string }).status).to.equal('cancelled');
  });

  it('pauses the visit at one counter and resumes it at another, where the open procedures are listed', async () => {
    await postForm(`${server.url}visits/${visitId}/status`, clerk, { change: 'pause' });
    const other = await loginAs(server.url, server.knex, ['insurance']);
    await postForm(`${server.url}role`, other, { groupCode: 'insurance', counterId: 'hoken-5' });
    await postForm(`${server.url}visits/${visitId}/status`, other, { change: 'resume' });
    const page = await (await getAs(`${server.url}visits/${visitId}`, other)).text();
    expect(page).to.contain('対応中').and.contain('id="procedure-list"');
    expect(page).to.contain('この窓口で');
    // The insurance section's work list shows what is left for it.
    const worklist = await (await getAs(`${server.url}worklist?section=${encodeURIComponent('保険年金課')}`, other)).text();
    expect(worklist).to.contain('国民健康保険 住所変更');
    const kosodate = await (await getAs(`${server.url}worklist?section=${encodeURIComponent('子育て支援課')}`, other)).text();
    expect(kosodate).to.not.contain('国民健康保険');
  });
});
