import { expect } from 'chai';
import { makeResident } from '../helpers/factories.js';
import { getAs, postForm } from '../helpers/http.js';
import type { LoggedIn } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * A 外字 the 同定マップ does not know stays a BMP private-use character in the register (U+E001).
 * No page shows it raw (the html tag makes it 〓 with the code point), and no form prints it.
 */
describe('unmapped 外字 in a name: 〓 on pages, refused on printed forms', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clerk: LoggedIn;
  const name = '外字\uE001 太郎';
  let addresseeNo: string;

  before(async () => {
    server = await startTestServer();
    clerk = await server.login(['counter']);
    addresseeNo = (await makeResident(server.knex, { name, name_kana: 'ガイジ タロウ', block_number: '5番地' })).addressee_no;
  });
  after(async () => {
    await server?.close();
  });

  it('shows the name with 〓 and the code point as a tooltip on the resident page, and no raw U+E001 anywhere', async () => {
    const res = await getAs(`${server.url}residents/${addresseeNo}`, clerk);
    expect(res.status).to.equal(200);
    const page = await res.text();
    expect(page).to.contain('外字<span class="gaiji" title="未対応外字 U+E001">〓</span> 太郎');
    expect(page).to.not.match(/[\uE000-\uF8FF]/);
    const search = await (await getAs(`${server.url}search?kana=${encodeURIComponent('ガイジ タロウ')}`, clerk)).text();
    expect(search).to.contain('title="未対応外字 U+E001"');
    expect(search).to.not.match(/[\uE000-\uF8FF]/);
    // The JSON API returns the register's value as it is (a client decides how to show it).
    const json = (await (await getAs(`${server.url}api/v1/residents/${addresseeNo}`, clerk)).json()) as { person: { name: string } };
    expect(json.person.name).to.equal(name);
  });

  it('refuses to print a form for them, naming the code point and the field in Japanese', async () => {
    const opened = await postForm(`${server.url}visits`, clerk, {});
    const visitId = Number(/\/visits\/(\d+)$/.exec(opened.headers.get('location') ?? '')![1]);
    await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { addresseeNo });
    const created = await postForm(`${server.url}visits/${visitId}/notices`, clerk, { type: 'relocation' });
    const noticeId = Number(/notices\/(\d+)$/.exec(created.headers.get('location')!)![1]);
    const accepted = await postForm(`${server.url}visits/${visitId}/notices/${noticeId}`, clerk, {
      action: 'accept',
      effectiveDate: 'R8.11.28',
      previousAddress: '窓口郡まどぐち町本町5番地',
      newAddress: '窓口郡まどぐち町緑ケ丘二丁目3番地4',
      m0_addresseeNo: addresseeNo,
      m0_name: name,
      moving: '0',
      head: '0',
    });
    expect(accepted.status, await accepted.clone().text()).to.equal(303);

    const pdf = await getAs(`${server.url}visits/${visitId}/notices/${noticeId}/form.pdf`, clerk);
    expect(pdf.status).to.equal(422);
    const message = await pdf.text();
    // The first field with it, in the form's order: the 世帯主 (this person) before the members.
    expect(message).to.contain('未対応外字 (U+E001) があるため印刷できません: 世帯主の氏名');
    expect(message).to.contain('様式 juminidou');
    expect(message).to.not.match(/[\uE000-\uF8FF]/);
    const api = await getAs(`${server.url}visits/${visitId}/notices/${noticeId}/form.pdf`, clerk, { accept: 'application/json' });
    expect(((await api.json()) as { error: { message: string } }).error.message).to.contain('未対応外字 (U+E001)');
  });
});
