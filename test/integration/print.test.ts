import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { MASKED_ADDRESS } from '../../server/src/residents/warnings.js';
import { getAs, postForm } from '../helpers/http.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';
import { repoRoot } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Printing from a visit: the notice form, the bundle and the procedure guide, read back from the PDFs. */
describe('printing from a visit: forms with registered characters, masks, the guide, audit', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clerk: LoggedIn;
  let visitId: number;
  let noticeId: number;

  const pdfText = async (url: string, who: LoggedIn, name: string): Promise<string> => {
    const res = await getAs(url, who);
    expect(
      res.status,
      await res
        .clone()
        .text()
        .catch(() => ''),
    ).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/pdf');
    expect(res.headers.get('content-disposition')).to.match(/^inline; /);
    const file = path.join(server.dir, name);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    return execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
  };

  before(async () => {
    server = await startTestServer();
    const person = (no: string, name: string, kana: string, birth: string, rel: string, code: string) => ({
      addressee_no: no,
      household_no: 'HP',
      resident_kind: '1',
      resident_status: '1',
      name,
      name_kana: kana,
      sex: '2',
      birth_date: birth,
      relationship_code1: code,
      relationship_label: rel,
      change_reason_code: '01',
      town_name: '本町',
      block_number: '9-9',
    });
    for (const r of [
      person('800000000001', '髙﨑 𠮷子', 'タカサキ ヨシコ', '1980-01-01', '世帯主', '02'),
      person('800000000002', '髙﨑 邉\u{E0110}', 'タカサキ ワタル', '2015-06-06', '子', '04'),
    ]) {
      await server.knex('residents').insert({ ...r, ...derivedKeys.residents!(r) });
    }
    await server.knex('support_measures').insert({ addressee_no: '800000000001', measure_code: '1', start_date: '2024-01-01' });
    clerk = await loginAs(server.url, server.knex, ['counter']);
    const res = await postForm(`${server.url}visits`, clerk, {});
    visitId = Number(/\/visits\/(\d+)$/.exec(res.headers.get('location') ?? '')![1]);
    await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { addresseeNo: '800000000001' });
    const created = await postForm(`${server.url}visits/${visitId}/notices`, clerk, { type: 'relocation' });
    noticeId = Number(/notices\/(\d+)$/.exec(created.headers.get('location')!)![1]);
    const ok = await postForm(`${server.url}visits/${visitId}/notices/${noticeId}`, clerk, {
      action: 'accept',
      effectiveDate: 'R8.11.28',
      previousAddress: '窓口郡まどぐち町本町9-9',
      newAddress: '窓口郡まどぐち町緑ケ丘二丁目3番地4',
      m0_addresseeNo: '800000000001',
      m0_name: '髙﨑 𠮷子',
      m1_addresseeNo: '800000000002',
      m1_name: '髙﨑 邉\u{E0110}',
      moving: ['0', '1'],
      head: '0',
    });
    expect(ok.status).to.equal(303);
  });
  after(async () => {
    await server.close();
  });

  it('prints the 住民異動届 with the exact registered names (plane 2 and IVS) and the protected address masked', async () => {
    const text = await pdfText(`${server.url}visits/${visitId}/notices/${noticeId}/form.pdf`, clerk, 'clerk.pdf');
    expect(text).to.contain('髙﨑 𠮷子');
    expect(text).to.contain('髙﨑 邉\u{E0110}');
    expect(text.replace(/\s/g, '')).to.contain(MASKED_ADDRESS.replace(/\s/g, ''));
    expect(text).to.not.contain('緑ケ丘');
    const shien = await loginAs(server.url, server.knex, ['supportMeasures']);
    const shown = await pdfText(`${server.url}visits/${visitId}/notices/${noticeId}/form.pdf`, shien, 'shien.pdf');
    expect(shown).to.contain('窓口郡まどぐち町緑ケ丘二丁目3番地4');
    const audit = (await server
      .knex('audit_trail')
      .where({ action: 'print.form' })
      .orderBy('seq')
      .select('staff_login', 'detail', 'target_ids')) as { detail: string; target_ids: string }[];
    expect(audit.map((a) => JSON.parse(a.detail).masked)).to.deep.equal([true, false]);
    expect(JSON.parse(audit[0]!.target_ids)).to.include('800000000001');
  });

  it('prints the bundle and the procedure guide (what, where, what to bring), and keeps a picture of the guide', async () => {
    const bundle = await pdfText(`${server.url}visits/${visitId}/bundle.pdf`, clerk, 'bundle.pdf');
    expect(bundle).to.contain('髙﨑 𠮷子');
    // Every form of the bundle goes through the one decision: no address of the protected household.
    expect(bundle).to.not.contain('緑ケ丘').and.not.contain('本町9-9');
    expect(bundle.replace(/\s/g, '')).to.contain(MASKED_ADDRESS.replace(/\s/g, ''));
    expect(bundle).to.contain('手続きのご案内');
    const guideText = await pdfText(`${server.url}visits/${visitId}/guide.pdf`, clerk, 'guide.pdf');
    expect(guideText).to.contain('手続きのご案内');
    expect(guideText).to.match(/来庁番号 \d{8}-\d{4}/);
    const procs = (await server.knex('visit_procedures').where({ visit_id: visitId, removed: false }).count({ n: '*' }).first()) as {
      n: number;
    };
    expect(guideText).to.contain(`これから行う手続き (${Number(procs.n)} 件)`);
    execFileSync('pdftoppm', [
      '-png',
      '-r',
      '70',
      '-singlefile',
      path.join(server.dir, 'guide.pdf'),
      path.join(repoRoot, 'docs/screenshots/guide'),
    ]);
  });

  it('hands out the pamphlets attached to the procedures, from config/pamphlets, audited', async () => {
    const page = await (await getAs(`${server.url}visits/${visitId}`, clerk)).text();
    expect(page).to.contain('href="/pamphlets/gomi-guide.pdf"');
    const text = await pdfText(`${server.url}pamphlets/gomi-guide.pdf`, clerk, 'pamphlet.pdf');
    expect(text).to.contain('ごみの出し方');
    expect((await getAs(`${server.url}pamphlets/${encodeURIComponent('../municipality.yaml')}`, clerk)).status).to.be.oneOf([400, 404]);
    expect((await getAs(`${server.url}pamphlets/nothing.pdf`, clerk)).status).to.equal(404);
    expect(await server.knex('audit_trail').where({ action: 'print.pamphlet' }).pluck('target_ids')).to.deep.equal(['["gomi-guide.pdf"]']);
  });

  it('refuses with a precise error when a name has a character the font lacks', async () => {
    await server.knex('notice_members').where({ notice_id: noticeId, addressee_no: '800000000002' }).update({ name: '髙﨑 丆' });
    const res = await getAs(`${server.url}visits/${visitId}/notices/${noticeId}/form.pdf`, clerk);
    expect(res.status).to.equal(422);
    const message = await res.text();
    expect(message).to.contain('「丆」(U+4E06) は印刷用のフォントにない文字です');
    expect(message).to.contain('様式 juminidou');
  });
});
