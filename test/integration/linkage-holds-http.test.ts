import { expect } from 'chai';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { insertReturningId } from '../../server/src/db/values.js';
import type { FileResult } from '../../server/src/linkage/forward/apply.js';
import { findHold, pendingHolds, recordHold, resolveHold } from '../../server/src/linkage/forward/holds.js';
import { activeMeasuresByPerson, recordEndings } from '../../server/src/linkage/forward/protectionEndings.js';
import { makeProtectedResident } from '../helpers/factories.js';
import { getAs, postForm } from '../helpers/http.js';
import type { LoggedIn } from '../helpers/login.js';
import { fastWatchConfig, tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** A linkage run as the apply step records it (the held file's own run, or the confirmed load). */
async function makeRun(knex: Knex, specId: string, fileName: string, result: string, rows = 0): Promise<number> {
  return insertReturningId(knex, 'linkage_runs', {
    spec_id: specId,
    edition: '1.0',
    file_name: fileName,
    file_sha256: 'a'.repeat(64),
    kind: 'full',
    encoding: 'utf8',
    started_at: new Date(),
    finished_at: new Date(),
    rows_read: rows,
    rows_applied: result === 'applied' ? rows : 0,
    rows_rejected: 0,
    unmapped_gaiji: 0,
    result,
    message: result === 'held' ? '全件ファイルの件数が現在より大きく減るため保留しました' : null,
  });
}

async function makeHold(knex: Knex, specId: string, fileName: string, rowsBefore: number, rowsInFile: number): Promise<number> {
  const runId = await makeRun(knex, specId, fileName, 'held', rowsInFile);
  return recordHold(knex, {
    runId,
    specId,
    fileName,
    heldPath: `/nowhere/held/${specId}/${fileName}`,
    sha256: 'b'.repeat(64),
    rowsBefore,
    rowsInFile,
  });
}

const lastAudit = async (knex: Knex, action: string) =>
  (await knex('audit_trail').where({ action }).orderBy('seq', 'desc').first()) as
    { target_kind: string; target_ids: string; result: string; detail: string; staff_login: string } | undefined;

describe('held full files on /linkage, the API and /healthz', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clerk: LoggedIn;
  let admin: LoggedIn;
  let holdId: number;

  before(async () => {
    server = await startTestServer();
    clerk = await server.login(['counter']);
    admin = await server.login(['admin']);
    holdId = await makeHold(server.knex, '001o005', '001o005_439991_20261102020000.csv', 2026, 0);
  });
  after(async () => {
    await server?.close();
  });

  it('lists a pending hold at the top of /linkage, with the counts, the drop and 和暦 JST, and the spec shows 保留', async () => {
    const page = await (await getAs(`${server.url}linkage`, clerk)).text();
    const panel = page.indexOf('保留中の全件ファイル');
    expect(panel, 'panel shown').to.be.greaterThan(-1);
    expect(panel, 'before the spec table').to.be.lessThan(page.indexOf('連携仕様ごとの状態'));
    expect(page).to.contain('001o005_439991_20261102020000.csv');
    expect(page).to.contain('2,026 件 → 0 件');
    expect(page).to.contain('100.0% 減');
    expect(page).to.match(/令和\d+年\d+月\d+日 \d\d:\d\d/);
    expect(page).to.match(/<td class="state-held"><span class="badge badge-held">保留<\/span><\/td>/);
    // Staff without the administrator's right see the hold, not the form.
    expect(page).to.not.contain('この全件ファイルを反映する');
    expect(page).to.contain('システム管理者');
  });

  it('shows the form to administrators, and refuses an empty reason beside the field in Japanese', async () => {
    const page = await (await getAs(`${server.url}linkage`, admin)).text();
    expect(page).to.contain(`action="/linkage/holds/${holdId}/confirm"`);
    expect(page).to.match(/<textarea name="reason"[^>]*maxlength="500"[^>]*required/);
    expect(page).to.contain('この全件ファイルを反映する');

    const before = await server.knex('audit_trail').count({ n: '*' }).first();
    const empty = await postForm(`${server.url}linkage/holds/${holdId}/confirm`, admin, { reason: '   ' });
    expect(empty.status).to.equal(400);
    const body = await empty.text();
    expect(body).to.match(/<span class="field-error" role="alert" id="hold-\d+-error">反映する理由を入力してください<\/span>/);
    expect(body).to.contain(`id="hold-${holdId}-reason"`);
    expect((await findHold(server.knex, holdId))!.resolution).to.equal(null);
    expect(await server.knex('audit_trail').count({ n: '*' }).first()).to.deep.equal(before);

    const api = await fetch(`${server.url}api/v1/linkage/holds/${holdId}/confirm`, {
      method: 'POST',
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: '' }),
    });
    expect(api.status).to.equal(400);
    const err = (await api.json()) as { error: { fields: { field: string; message: string }[] } };
    expect(err.error.fields).to.deep.equal([{ field: 'reason', message: '反映する理由を入力してください' }]);
    const tooLong = await postForm(`${server.url}linkage/holds/${holdId}/confirm`, admin, { reason: 'あ'.repeat(501) });
    expect(tooLong.status).to.equal(400);
  });

  it('refuses the confirmation to staff without the right (403), and nothing is applied', async () => {
    const res = await postForm(`${server.url}linkage/holds/${holdId}/confirm`, clerk, { reason: '確認済み' });
    expect(res.status).to.equal(403);
    const api = await fetch(`${server.url}api/v1/linkage/holds/${holdId}/confirm`, {
      method: 'POST',
      headers: { cookie: clerk.cookie, 'x-csrf-token': clerk.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: '確認済み' }),
    });
    expect(api.status).to.equal(403);
    expect((await findHold(server.knex, holdId))!.resolution).to.equal(null);
    // The refused attempt is a record: who tried to apply which held file.
    const refusal = await lastAudit(server.knex, 'access.denied');
    expect(refusal).to.deep.include({ result: 'denied', target_ids: JSON.stringify([String(holdId)]) });
    expect(JSON.parse(refusal!.detail)).to.deep.include({
      method: 'POST',
      route: '/api/v1/linkage/holds/:id/confirm',
      reason: 'auth.forbidden',
    });
  });

  it('returns the holds in GET /api/v1/linkage/status, the spec state held', async () => {
    const status = (await (await getAs(`${server.url}api/v1/linkage/status`, clerk)).json()) as {
      holds: { id: number; specId: string; rowsBefore: number; rowsInFile: number; dropPercent: number; fileName: string }[];
      specs: { specId: string; state: string }[];
    };
    expect(status.holds).to.have.length(1);
    expect(status.holds[0]).to.deep.include({ id: holdId, specId: '001o005', rowsBefore: 2026, rowsInFile: 0, dropPercent: 100 });
    expect(status.specs.find((s) => s.specId === '001o005')!.state).to.equal('held');
  });

  it('warns on /healthz while a hold is pending (status stays ok, 200), counts only', async () => {
    const res = await fetch(`${server.url}healthz`);
    expect(res.status).to.equal(200);
    const h = (await res.json()) as {
      status: string;
      warnings: string[];
      messages: string[];
      linkage: { status: string; holds: { specId: string; rowsBefore: number; rowsInFile: number }[] };
    };
    expect(h.status).to.equal('ok');
    expect(h.warnings).to.include('linkage');
    expect(h.linkage.status).to.equal('warn');
    expect(h.linkage.holds).to.deep.equal([{ specId: '001o005', rowsBefore: 2026, rowsInFile: 0 }]);
    expect(h.messages).to.include('連携 001o005: 全件ファイルを保留中 (現在 2,026 件 → 0 件)');
    expect(JSON.stringify(h)).to.not.contain('.csv');
  });

  it('confirms through the watcher with the reason, audits the decision, and shows the result after the redirect', async () => {
    const watcher = server.running.watcher;
    const original = watcher.confirmHold.bind(watcher);
    const calls: [number, number, string][] = [];
    // The watcher's part (apply the held file, resolve the hold) is its own suite's; here its contract.
    watcher.confirmHold = async (id, staffId, reason): Promise<FileResult> => {
      calls.push([id, staffId, reason]);
      const runId = await makeRun(server.knex, '001o005', '001o005_439991_20261102020000.csv', 'applied', 0);
      await resolveHold(server.knex, id, { resolution: 'confirmed', staffId, reason, resolvedRunId: runId });
      return {
        specId: '001o005',
        file: '/nowhere',
        sha256: 'b'.repeat(64),
        outcome: 'applied',
        runId,
        edition: '1.0',
        kind: 'full',
        encoding: 'utf8',
        rowsRead: 0,
        rowsApplied: 0,
        rowsRejected: 0,
        unmappedGaiji: 0,
        issues: [],
        message: '取り込みました',
      } as FileResult;
    };
    try {
      const res = await postForm(`${server.url}linkage/holds/${holdId}/confirm`, admin, {
        reason: '  年度替えで全件を入れ替えるため (基幹系 山田さんに確認済み)  ',
      });
      expect(res.status).to.equal(303);
      const location = res.headers.get('location')!;
      expect(location).to.match(/^\/linkage\?confirmed=\d+#holds$/);
      expect(calls).to.deep.equal([[holdId, admin.staffId, '年度替えで全件を入れ替えるため (基幹系 山田さんに確認済み)']]);

      const rec = await lastAudit(server.knex, 'linkage.holdConfirmed');
      expect(rec).to.deep.include({ target_kind: 'linkage_hold', target_ids: JSON.stringify([String(holdId)]), result: 'success' });
      const detail = JSON.parse(rec!.detail) as Record<string, unknown>;
      expect(detail).to.deep.include({ specId: '001o005', rowsBefore: 2026, rowsInFile: 0, outcome: 'applied' });
      expect(rec!.detail).to.not.contain('山田');

      const after = await (await getAs(`${server.url}${location.slice(1).replace(/#.*/, '')}`, admin)).text();
      expect(after).to.contain('保留していた全件ファイルを反映しました');
      expect(after).to.not.contain('保留中の全件ファイル');
      const status = (await (await getAs(`${server.url}api/v1/linkage/status`, admin)).json()) as { holds: unknown[] };
      expect(status.holds).to.deep.equal([]);
      const h = (await (await fetch(`${server.url}healthz`)).json()) as { messages: string[]; linkage: { holds: unknown[] } };
      expect(h.linkage.holds).to.deep.equal([]);

      // A second confirmation of the same hold is a conflict, not a second load.
      const again = await postForm(`${server.url}linkage/holds/${holdId}/confirm`, admin, { reason: 'もう一度' });
      expect(again.status).to.equal(409);
      expect(calls).to.have.length(1);
    } finally {
      watcher.confirmHold = original;
    }
  });

  it('confirms through the JSON API and answers the load', async () => {
    const id = await makeHold(server.knex, '001o009', '001o009_full.csv', 500, 100);
    const watcher = server.running.watcher;
    const original = watcher.confirmHold.bind(watcher);
    watcher.confirmHold = async (hid, staffId, reason): Promise<FileResult> => {
      const runId = await makeRun(server.knex, '001o009', '001o009_full.csv', 'applied', 100);
      await resolveHold(server.knex, hid, { resolution: 'confirmed', staffId, reason, resolvedRunId: runId });
      return { specId: '001o009', outcome: 'applied', runId, rowsApplied: 100, message: '取り込みました' } as FileResult;
    };
    try {
      const res = await fetch(`${server.url}api/v1/linkage/holds/${id}/confirm`, {
        method: 'POST',
        headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: '転出の一括処理のため' }),
      });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.include({
        holdId: id,
        specId: '001o009',
        outcome: 'applied',
        rowsBefore: 500,
        rowsInFile: 100,
        rowsApplied: 100,
      });
      const missing = await fetch(`${server.url}api/v1/linkage/holds/99999/confirm`, {
        method: 'POST',
        headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'x' }),
      });
      expect(missing.status).to.equal(404);
    } finally {
      watcher.confirmHold = original;
    }
  });

  it('records a refused load (the watcher says no) as a failed decision', async () => {
    const id = await makeHold(server.knex, '001o007', '001o007_full.csv', 300, 0);
    // The real watcher: the held file is not where the hold says (it was moved away by hand).
    const res = await postForm(`${server.url}linkage/holds/${id}/confirm`, admin, { reason: '確認しました' });
    expect(res.status).to.be.within(400, 499);
    const rec = await lastAudit(server.knex, 'linkage.holdConfirmed');
    expect(rec).to.deep.include({ target_ids: JSON.stringify([String(id)]), result: 'failure' });
    // A held file that is gone can never be applied: the hold is closed (superseded), not left pending forever.
    expect((await findHold(server.knex, id))!.resolution).to.equal('superseded');
  });
});

describe('支援措置 ended by a linkage file: the list for 支援措置担当', function () {
  this.timeout(60_000);
  let server: TestServer;
  let shien: LoggedIn;
  let clerk: LoggedIn;
  let ended: { addressee_no: string; name: string };
  let removed: { addressee_no: string; name: string };

  before(async () => {
    server = await startTestServer();
    shien = await server.login(['supportMeasures']);
    clerk = await server.login(['counter']);
    ended = await makeProtectedResident(server.knex, { name: '終了 花子', block_number: '77番地' });
    removed = await makeProtectedResident(server.knex, { name: '削除 一郎', block_number: '78番地' });
    const runId = await makeRun(server.knex, '001o013', '001o013_439991_20261103020000.csv', 'applied', 10);
    await server.knex.transaction(async (trx) => {
      const before = await activeMeasuresByPerson(trx);
      await trx('support_measures').where({ addressee_no: ended.addressee_no }).update({ end_date: '2026-04-30' });
      await trx('support_measures').where({ addressee_no: removed.addressee_no }).delete();
      expect(await recordEndings(trx, before, { runId, specId: '001o013', fileName: '001o013_439991_20261103020000.csv' })).to.equal(2);
    });
  });
  after(async () => {
    await server?.close();
  });

  it('is in the header only for 支援措置担当, and refused (and audited) for others', async () => {
    const home = await (await getAs(server.url, shien)).text();
    expect(home).to.contain('href="/support-measures/endings"');
    const other = await (await getAs(server.url, clerk)).text();
    expect(other).to.not.contain('/support-measures/endings');
    const res = await getAs(`${server.url}support-measures/endings`, clerk);
    expect(res.status).to.equal(403);
    const rec = (await server.knex('audit_trail').orderBy('seq', 'desc').first()) as { action: string; target_kind: string };
    expect(rec).to.deep.include({ action: 'access.denied', target_kind: 'resident' });
  });

  it('lists who, which measure, since when (和暦), the end or 行が削除された, the file and run — no address — and audits the read', async () => {
    const before = Number(((await server.knex('audit_trail').count({ n: '*' }).first()) as { n: number }).n);
    const page = await (await getAs(`${server.url}support-measures/endings`, shien)).text();
    expect(page).to.contain('未確認の終了が 2 件あります');
    for (const p of [ended, removed]) {
      expect(page).to.contain(p.addressee_no);
      expect(page).to.contain(p.name);
    }
    expect(page).to.contain('令和2年1月1日');
    expect(page).to.contain('令和8年4月30日');
    expect(page).to.contain('行が削除された');
    expect(page).to.contain('001o013_439991_20261103020000.csv');
    expect(page).to.match(/<a href="\/linkage\/runs\/\d+">取込 \d+<\/a>/);
    expect(page).to.not.contain('77番地');
    expect(page).to.not.contain('78番地');
    expect(page.match(/<button type="submit">確認済みにする<\/button>/g)).to.have.length(2);
    const after = Number(((await server.knex('audit_trail').count({ n: '*' }).first()) as { n: number }).n);
    expect(after).to.equal(before + 1);
    const rec = await lastAudit(server.knex, 'protection.endingsView');
    expect(rec!.target_kind).to.equal('resident');
    expect(JSON.parse(rec!.target_ids)).to.have.members([ended.addressee_no, removed.addressee_no]);

    const json = (await (await getAs(`${server.url}api/v1/support-measures/endings`, shien)).json()) as {
      unacknowledged: number;
      endings: {
        addresseeNo: string;
        name: string;
        removed: boolean;
        endDate: string | null;
        endDateWareki: string;
        startDateWareki: string;
      }[];
    };
    expect(json.unacknowledged).to.equal(2);
    expect(json.endings.find((e) => e.addresseeNo === removed.addressee_no)).to.deep.include({
      name: '削除 一郎',
      removed: true,
      endDate: null,
      endDateWareki: '行が削除された',
    });
    expect(json.endings.find((e) => e.addresseeNo === ended.addressee_no)).to.deep.include({ endDate: '2026-04-30', removed: false });
    expect(JSON.stringify(json)).to.not.contain('77番地');
  });

  it('warns on /healthz until every ending is acknowledged; 確認済みにする is audited and the row moves down', async () => {
    let h = (await (await fetch(`${server.url}healthz`)).json()) as {
      status: string;
      warnings: string[];
      messages: string[];
      protection: { status: string };
    };
    expect(h.status).to.equal('ok');
    expect(h.warnings).to.include('protection');
    // /healthz is public: whether endings wait, never how many.
    expect(h.protection).to.deep.equal({ status: 'warn' });
    expect(JSON.stringify(h)).not.to.match(/2 件/);
    expect(h.messages).to.include('未確認の支援措置の終了があります (支援措置担当の画面「支援措置の終了」で確認してください)');

    const id = (
      (await server.knex('protection_endings').where({ addressee_no: ended.addressee_no }).first('id')) as {
        id: number;
      }
    ).id;
    const refused = await postForm(`${server.url}support-measures/endings/${id}/acknowledge`, clerk, {});
    expect(refused.status).to.equal(403);
    const res = await postForm(`${server.url}support-measures/endings/${id}/acknowledge`, shien, {});
    expect(res.status).to.equal(303);
    expect(res.headers.get('location')).to.equal(`/support-measures/endings#ending-${id}`);
    const rec = await lastAudit(server.knex, 'protection.endingAcknowledged');
    expect(rec).to.deep.include({ target_kind: 'resident', target_ids: JSON.stringify([ended.addressee_no]), result: 'success' });
    expect(JSON.parse(rec!.detail)).to.deep.include({ endingId: id, specId: '001o013' });

    const page = await (await getAs(`${server.url}support-measures/endings`, shien)).text();
    expect(page).to.contain('未確認の終了が 1 件あります');
    expect(page.indexOf(removed.addressee_no)).to.be.lessThan(page.indexOf(`id="ending-${id}"`));
    expect(page).to.match(new RegExp(`id="ending-${id}" class="ended-acknowledged">.*確認済`));
    h = (await (await fetch(`${server.url}healthz`)).json()) as typeof h;
    expect(h.protection.status).to.equal('warn');
  });
});

describe('a held full file confirmed on /linkage through the real drop-folder watcher', function () {
  this.timeout(120_000);
  const t = tempDir();
  let server: TestServer;
  let admin: LoggedIn;

  before(async () => {
    server = await startTestServer({ configDir: fastWatchConfig(t.dir), watch: true });
    admin = await server.login(['admin']);
    const rows = Array.from({ length: 20 }, (_, i) => ({
      addressee_no: String(900_000_000_000 + i),
      tax_kind_code: '01',
      fiscal_year: 2025,
      amount_yen: 1000 + i,
    }));
    await server.knex('arrears').insert(rows);
  });
  after(async () => {
    await server?.close();
    t.remove();
  });

  it('holds an empty full file, then applies it when an administrator confirms with a reason', async () => {
    const drop = path.join(server.dataDir, 'linkage', 'ext-arrears');
    writeFileSync(path.join(drop, 'arrears.csv.part'), '宛名番号,税目コード,年度,滞納額,滞納開始年月日\r\n');
    renameSync(path.join(drop, 'arrears.csv.part'), path.join(drop, 'ext-arrears_20261101.csv'));
    let holds: Awaited<ReturnType<typeof pendingHolds>> = [];
    for (let i = 0; i < 300 && !holds.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      holds = await pendingHolds(server.knex, 'ext-arrears');
    }
    expect(holds, 'the empty full file is held').to.have.length(1);
    const hold = holds[0]!;
    expect(hold).to.deep.include({ rowsBefore: 20, rowsInFile: 0 });
    expect(Number(((await server.knex('arrears').count({ n: '*' }).first()) as { n: number }).n)).to.equal(20);
    const page = await (await getAs(`${server.url}linkage`, admin)).text();
    expect(page).to.contain('ext-arrears_20261101.csv');
    expect(page).to.contain('20 件 → 0 件');

    const res = await postForm(`${server.url}linkage/holds/${hold.id}/confirm`, admin, { reason: '滞納の全件解消を収納課に確認' });
    expect(res.status, await res.clone().text()).to.equal(303);
    expect(Number(((await server.knex('arrears').count({ n: '*' }).first()) as { n: number }).n)).to.equal(0);
    const resolved = (await findHold(server.knex, hold.id))!;
    expect(resolved).to.deep.include({ resolution: 'confirmed', resolvedBy: admin.staffId, reason: '滞納の全件解消を収納課に確認' });
    const after = await (await getAs(`${server.url}${res.headers.get('location')!.slice(1).replace(/#.*/, '')}`, admin)).text();
    expect(after).to.contain('保留していた全件ファイルを反映しました');
    const rec = await lastAudit(server.knex, 'linkage.holdConfirmed');
    expect(JSON.parse(rec!.detail)).to.deep.include({ specId: 'ext-arrears', rowsBefore: 20, rowsInFile: 0, outcome: 'applied' });
  });
});
