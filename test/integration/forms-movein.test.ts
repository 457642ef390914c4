import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { getAs as get, postForm } from '../helpers/http.js';
import { loginAs, loginWith, type LoggedIn } from '../helpers/login.js';
import { acceptedMoveIn } from '../helpers/moveInVisit.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The forms of a 4-person 転入 as a clerk prints them: every shipped form that the procedures of
 * the visit use, each read back with pdftotext. A form carries the full address (都道府県・郡・町),
 * only the persons its procedure concerns, the 届出人 of the identity check; the 住民異動届 the
 * 本籍, 筆頭者, 電話 and the 転出証明書 number; one bundle holds it all with the guide.
 */
describe('forms of a 4-person move-in: complete and person-correct', function () {
  this.timeout(90_000);
  let server: TestServer;
  let clerk: LoggedIn;
  let visitId: number;
  let noticeId: number;
  const FULL = '熊本県窓口郡まどぐち町緑ケ丘二丁目3番地4';
  const flat = (s: string) => s.replace(/\s/g, '');

  const pdfText = async (url: string, name: string): Promise<string> => {
    const res = await get(url, clerk);
    expect(res.status, await res.clone().text()).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/pdf');
    const file = path.join(server.dir, name);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
  };
  const pages = (name: string): number =>
    Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [path.join(server.dir, name)], { encoding: 'utf8' }))![1]);
  const procedureRow = async (procedureId: string) =>
    (await server.knex('visit_procedures').where({ visit_id: visitId, procedure_id: procedureId }).first('id', 'status')) as
      { id: number; status: string } | undefined;

  /** A member of 子育て支援課 logged in at the 子育て counter (kosodate-7). */
  const kosodateClerk = async (loginId: string): Promise<LoggedIn> => {
    const password = randomPassword();
    await createStaff(server.knex, {
      loginId,
      displayName: '子育て 担当',
      section: '子育て支援課',
      password,
      groups: ['welfare'],
      mustChangePassword: false,
    });
    return loginWith(server.url, server.knex, loginId, password, 'kosodate-7');
  };

  before(async () => {
    server = await startTestServer();
    clerk = await loginAs(server.url, server.knex, ['counter']);
    ({ visitId, noticeId } = await acceptedMoveIn(server.url, server.knex, clerk));
  });
  after(async () => {
    await server.close();
  });

  it('prints the 住民異動届 with the full new address, 本籍, 筆頭者, 電話, the certificate number and the notifier', async () => {
    const text = flat(await pdfText(`${server.url}visits/${visitId}/notices/${noticeId}/form.pdf`, 'juminidou.pdf'));
    expect(text).to.contain(FULL);
    expect(text).to.contain('東京都千代田区千代田1-1');
    expect(text).to.contain('東京都千代田区千代田1番');
    expect(text).to.contain('131016-12345678901');
    expect(text).to.contain('090-1111-2222');
    expect(text).to.contain('届出人:本人');
    for (const name of ['転入太郎', '転入花子', '転入一郎', '転入ウメ']) expect(text).to.contain(name);
  });

  for (const [procedureId, template, present, absent] of [
    ['nhiEnrol', 'kokuho', ['転入太郎', '転入花子', '転入一郎', '転入ウメ'], []],
    ['childAllowanceClaim', 'jidouteate', ['転入一郎'], ['転入ウメ', '転入花子']],
    ['careQualify', 'kaigo', ['転入ウメ'], ['転入一郎', '転入花子']],
    ['schoolTransfer', 'tennyugaku', ['転入一郎'], ['転入ウメ', '転入花子']],
  ] as const) {
    it(`prints the ${template} form with the full address and only the persons the procedure concerns`, async () => {
      const row = await procedureRow(procedureId);
      expect(row, procedureId).to.not.equal(undefined);
      const text = flat(await pdfText(`${server.url}visits/${visitId}/procedures/${row!.id}/forms.pdf`, `${template}.pdf`));
      expect(text).to.contain(FULL);
      for (const name of present) expect(text).to.contain(name);
      for (const name of absent) expect(text, `${name} on ${template}`).to.not.contain(name);
      expect((await procedureRow(procedureId))!.status).to.equal('printed');
    });
  }

  it('prints one 印鑑登録 form per person of 15 and over, each with their own name and the full address', async () => {
    const row = await procedureRow('sealRegistration');
    expect(row).to.not.equal(undefined);
    const text = flat(await pdfText(`${server.url}visits/${visitId}/procedures/${row!.id}/forms.pdf`, 'inkan.pdf'));
    expect(pages('inkan.pdf')).to.equal(3);
    expect(text.split(FULL).length - 1).to.be.at.least(3);
    for (const name of ['転入太郎', '転入花子', '転入ウメ']) expect(text).to.contain(name);
    expect(text).to.not.contain('転入一郎');
  });

  it('prints the whole visit as one PDF: the notice, every form in counter order, then the guide', async () => {
    await server.knex('visit_procedures').where({ visit_id: visitId }).update({ status: 'pending' });
    const text = flat(await pdfText(`${server.url}visits/${visitId}/bundle.pdf`, 'bundle.pdf'));
    const order = ['住民異動届', '印鑑登録', '国民健康保険被保険者資格取得届', '児童手当', '介護保険', '手続きのご案内'].map((t) =>
      text.indexOf(t),
    );
    expect(
      order.every((i) => i >= 0),
      JSON.stringify(order),
    ).to.equal(true);
    expect([...order].sort((a, b) => a - b)).to.deep.equal(order);
    expect(text).to.contain('転入学');
    expect(pages('bundle.pdf')).to.be.at.least(9);
    for (const id of ['nhiEnrol', 'childAllowanceClaim', 'careQualify', 'schoolTransfer', 'sealRegistration'])
      expect((await procedureRow(id))!.status, id).to.equal('printed');
    const audit = (await server.knex('audit_trail').where({ action: 'print.form' }).orderBy('seq', 'desc').first('detail')) as {
      detail: string;
    };
    expect(JSON.parse(audit.detail)).to.include({ what: 'bundle' });
  });

  it("asks a form's details at the counter that handles it, once, and fills them in; what the visit knows is not asked", async () => {
    // The first counter is not asked the 児童手当 account: that is the 子育て counter's question.
    const first = await (await get(`${server.url}visits/${visitId}`, clerk)).text();
    expect(first).to.not.contain('name="q_bankName"');
    const kosodate = await kosodateClerk('kosodate-forms');
    const page = await (await get(`${server.url}visits/${visitId}`, kosodate)).text();
    expect(page).to.contain('name="q_bankName"').and.contain('name="q_previousSchool"');
    const saved = await postForm(`${server.url}visits/${visitId}/answers`, kosodate, {
      q_bankName: 'まどぐち信用金庫',
      q_branchName: '本店',
      q_accountType: '普通',
      q_accountNumber: '1234567',
      q_accountHolderKana: 'テンニュウ タロウ',
      q_previousSchool: '千代田区立千代田小学校',
      q_newSchool: 'まどぐち町立緑ケ丘小学校',
    });
    expect(saved.status).to.equal(303);
    const allowance = await procedureRow('childAllowanceClaim');
    const text = flat(await pdfText(`${server.url}visits/${visitId}/procedures/${allowance!.id}/forms.pdf`, 'jidouteate-2.pdf'));
    expect(text).to.contain('まどぐち信用金庫').and.contain('本店').and.contain('テンニュウタロウ');
    const school = await procedureRow('schoolTransfer');
    const schoolText = flat(await pdfText(`${server.url}visits/${visitId}/procedures/${school!.id}/forms.pdf`, 'tennyugaku-2.pdf'));
    expect(schoolText).to.contain('千代田区立千代田小学校').and.contain('まどぐち町立緑ケ丘小学校');
    // Nobody was asked the grade or the stage: they come from the birth date (see formData.ts).
    expect(page).to.not.contain('name="q_grade"').and.not.contain('name="q_schoolStage"');
  });

  it('refuses forms to a role that may not take notices, and a procedure without persons; keeps answers another counter gave; clears an erased one', async () => {
    // 証明担当 prints certificate requests, not the visit's notices and applications.
    const shomei = await loginAs(server.url, server.knex, ['certificates']);
    expect((await get(`${server.url}visits/${visitId}/bundle.pdf`, shomei)).status).to.equal(403);
    expect((await get(`${server.url}visits/${visitId}/notices/${noticeId}/form.pdf`, shomei)).status).to.equal(403);
    const nhi = await procedureRow('nhiEnrol');
    expect((await get(`${server.url}visits/${visitId}/procedures/${nhi!.id}/forms.pdf`, shomei)).status).to.equal(403);
    // Each refusal decided inside the handler is in the trail like one at the door.
    const denied = (await server
      .knex('audit_trail')
      .where({ action: 'access.denied', staff_id: shomei.staffId })
      .pluck('detail')) as string[];
    expect(denied.map((d) => (JSON.parse(d) as { reason: string }).reason)).to.deep.equal(Array(3).fill('notice.procedureForbidden'));
    // A procedure added by hand has no persons: its form is refused, not printed for whoever came.
    const added = await postForm(`${server.url}visits/${visitId}/procedures`, clerk, {
      procedureId: 'childAllowanceChange',
      reason: '確認のため',
    });
    expect(added.status).to.equal(303);
    const manual = await procedureRow('childAllowanceChange');
    expect(manual, 'the procedure added by hand').to.not.equal(undefined);
    const refused = await get(`${server.url}visits/${visitId}/procedures/${manual!.id}/forms.pdf`, clerk);
    // (childAllowanceChange has no form: 400.) A row of a procedure with a form but without persons:
    const seal = await procedureRow('sealRegistration');
    await server.knex('visit_procedures').where({ id: seal!.id }).update({ members: '[]', notice_id: null, source: 'manual' });
    const noPersons = await get(`${server.url}visits/${visitId}/procedures/${seal!.id}/forms.pdf`, clerk);
    expect(noPersons.status).to.equal(400);
    expect(await noPersons.text()).to.contain('対象の人が決まっていない');
    expect(refused.status).to.equal(400);
    // The checklist keeps an answer given elsewhere after this page was drawn.
    await server.knex('visit_answers').where({ visit_id: visitId, question_id: 'hasDog' }).del();
    await server
      .knex('visit_answers')
      .insert({ visit_id: visitId, question_id: 'hasDog', value: 'true', answered_by: clerk.staffId, answered_at: new Date() });
    const stale = await postForm(`${server.url}visits/${visitId}/answers`, clerk, { checklist: ['hasDog'], was_hasDog: '' });
    expect(stale.status).to.equal(303);
    const dog = (await server.knex('visit_answers').where({ visit_id: visitId, question_id: 'hasDog' }).first('value')) as {
      value: string;
    };
    expect(dog.value).to.equal('true');
    // The same box posted from a page that showed はい, now unticked: いいえ (the question is on the checklist).
    await postForm(`${server.url}visits/${visitId}/answers`, clerk, { checklist: ['hasDog'], was_hasDog: 'true' });
    const untick = (await server.knex('visit_answers').where({ visit_id: visitId, question_id: 'hasDog' }).first('value')) as {
      value: string;
    };
    expect(untick.value).to.equal('false');
    // An erased text answer is cleared.
    const kosodate = await kosodateClerk('kosodate-clear');
    await postForm(`${server.url}visits/${visitId}/answers`, kosodate, { q_accountNumber: '7654321' });
    await postForm(`${server.url}visits/${visitId}/answers`, kosodate, { q_accountNumber: '' });
    expect(await server.knex('visit_answers').where({ visit_id: visitId, question_id: 'accountNumber' }).first()).to.equal(undefined);
  });
});
