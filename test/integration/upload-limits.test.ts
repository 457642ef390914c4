import http from 'node:http';
import path from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { MAX_STAFF_ROWS } from '../../server/src/auth/staffImport.js';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { openDatabase } from '../../server/src/db/connect.js';
import { startServerChild, stopServerChild, type ServerChild } from '../../bench/fuzz.js';
import { loginWith, type LoggedIn } from '../helpers/login.js';
import { configDir, tempDir } from '../helpers/paths.js';

interface Answer {
  status: number;
  body: string;
  /** The request could not be sent to the end (the server answered first); the answer still came. */
  cutShort: boolean;
}

/**
 * One upload as a client sends it: `size` bytes, declared with Content-Length or sent chunked,
 * written in 64 KB pieces. Resolves with the answer even when the server answers before the body
 * has been sent (what a 413 does), so a reset instead of an answer fails the test.
 */
function upload(url: string, headers: Record<string, string>, piece: Buffer, size: number, chunked: boolean): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let cutShort = false;
    const req = http.request(
      url,
      { method: 'POST', headers: { ...headers, ...(chunked ? {} : { 'content-length': String(size) }) }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), cutShort }));
      },
    );
    let answered = false;
    // Writing on after the answer may fail (the server closes a connection whose body it refused).
    req.on('error', (e) => {
      // The answer may still be on its way when the write fails.
      if (!answered) setTimeout(() => (answered ? undefined : reject(e)), 1000);
    });
    let sent = 0;
    const write = () => {
      while (sent < size) {
        const n = Math.min(piece.length, size - sent);
        sent += n;
        if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) return void req.once('drain', write);
      }
      req.end();
    };
    req.once('response', () => {
      answered = true;
      if (sent < size) cutShort = true;
    });
    write();
  });
}

/**
 * Every upload and body has a size limit and is streamed (issue 15 item 6): the server runs in a
 * child process with the production heap (`--max-old-space-size=192`), answers 500 KB and 50 MB
 * staff CSVs, a 50 MB JSON body and a 50 MB 転出証明書情報 file without holding them, and stays
 * healthy. A 500 KB staff CSV used to exhaust the heap (csv-parse built an error object with a
 * copy of its options for every short row and kept it, and every error of every row was listed).
 */
describe('upload and body size limits (server in a child process, 192 MB heap)', function () {
  this.timeout(240_000);
  const t = tempDir('madoguchi-upload-');
  const dataDir = path.join(t.dir, 'data');
  let server: ServerChild;
  let knex: Knex;
  let admin: LoggedIn;
  let clerk: LoggedIn;
  const csvHeader = 'ログインID,氏名,所属,グループ,有効期間開始,有効期間終了,状態,初期パスワード\r\n';

  before(async () => {
    server = await startServerChild(['serve', '--port', '0', '--data-dir', dataDir]);
    knex = openDatabase(loadAppConfig(configDir).database, dataDir);
    await createStaff(knex, {
      loginId: 'upadmin',
      displayName: '管理 太郎',
      section: '情報政策課',
      password: 'Upload-admin-pass-1',
      groups: ['admin'],
      mustChangePassword: false,
    });
    await createStaff(knex, {
      loginId: 'upclerk',
      displayName: '窓口 花子',
      section: '住民課',
      password: 'Upload-clerk-pass-1',
      groups: ['counter'],
      mustChangePassword: false,
    });
    admin = await loginWith(server.url, knex, 'upadmin', 'Upload-admin-pass-1');
    clerk = await loginWith(server.url, knex, 'upclerk', 'Upload-clerk-pass-1');
  });
  after(async () => {
    await knex?.destroy();
    if (server) expect(await stopServerChild(server), server.tail().join('\n')).to.equal(0);
    t.remove();
  });

  const healthy = async () => {
    expect(server.child.exitCode, server.tail().join('\n')).to.equal(null);
    expect((await fetch(`${server.url}healthz`)).status).to.equal(200);
  };
  const errorOf = (a: Answer) => (JSON.parse(a.body) as { error: { status: number; code: string; message: string } }).error;
  const importUrl = () => `${server.url}admin/staff/import?mode=dryRun&name=jinji.csv`;
  const asAdmin = () => ({ cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'text/csv', accept: 'application/json' });

  it('answers a 500 KB staff CSV of short rows (the file that exhausted the heap) with 413 naming the row limit', async () => {
    const rows = Buffer.from(csvHeader + 'a\r\n'.repeat(170_000));
    expect(rows.length).to.be.within(500_000, 520_000);
    for (const chunked of [false, true]) {
      const a = await upload(importUrl(), asAdmin(), rows, rows.length, chunked);
      expect(a.status, a.body).to.equal(413);
      expect(errorOf(a).code).to.equal('staff.importTooManyRows');
      expect(errorOf(a).message).to.contain(MAX_STAFF_ROWS.toLocaleString('ja-JP')).and.contain('ファイルを分けて');
      await healthy();
    }
  });

  it('answers a 500 KB staff CSV of real rows under the row limit normally (a dry run with the diff)', async () => {
    const lines: string[] = [];
    let size = Buffer.byteLength(csvHeader);
    for (let i = 0; size < 500_000; i++) {
      const line = `shokuin${i},山田 太郎${i},住民課,counter,2026-04-01,,有効,\r\n`;
      lines.push(line);
      size += Buffer.byteLength(line);
    }
    expect(lines.length).to.be.below(MAX_STAFF_ROWS);
    const body = Buffer.from(csvHeader + lines.join(''));
    const a = await upload(importUrl(), asAdmin(), body, body.length, false);
    expect(a.status, a.body.slice(0, 300)).to.equal(200);
    const r = JSON.parse(a.body) as { ok: boolean; applied: boolean; diff: string };
    expect(r).to.include({ ok: true, applied: false });
    expect(r.diff).to.contain(`追加 ${lines.length} 件`);
    await healthy();
  });

  it('lists at most 100 errors of a bad file, with the count of the others', async () => {
    const body = Buffer.from(csvHeader + Array.from({ length: 3000 }, (_, i) => `x${i},,,nosuchgroup\r\n`).join(''));
    const a = await upload(importUrl(), asAdmin(), body, body.length, false);
    expect(a.status).to.equal(400);
    const r = JSON.parse(a.body) as { ok: boolean; errors: { line: number; message: string }[] };
    expect(r.errors).to.have.length(101);
    expect(r.errors.at(-1)!.message).to.match(/ほかにも [0-9,]+ 件の誤りがあります/);
    await healthy();
  });

  it('answers a 50 MB staff CSV with 413 as soon as it passes 2 MB (declared or chunked), and stays healthy', async () => {
    const piece = Buffer.from(('fuzz,山田 太郎,住民課,counter,,,,\r\n'.repeat(2000) + 'x').slice(0, 64 * 1024));
    for (const chunked of [false, true]) {
      const a = await upload(importUrl(), asAdmin(), piece, 50 * 1024 * 1024, chunked);
      expect(a.status, a.body).to.equal(413);
      expect(errorOf(a)).to.deep.include({ status: 413, code: 'input.tooLarge' });
      expect(errorOf(a).message).to.equal('送られたデータが大きすぎます (上限 2 MB)');
      await healthy();
    }
    // Refused before the handler: a member of staff without the right gets 403, not 413.
    const refused = await upload(importUrl(), { ...asAdmin(), cookie: clerk.cookie, 'x-csrf-token': clerk.csrf }, piece, 1024, false);
    expect(refused.status).to.equal(403);
  });

  it('answers a 50 MB JSON body with 413 (declared or chunked) and stays healthy', async () => {
    const piece = Buffer.alloc(64 * 1024, 0x20);
    for (const chunked of [false, true]) {
      const a = await upload(
        `${server.url}api/v1/visits`,
        { cookie: clerk.cookie, 'x-csrf-token': clerk.csrf, 'content-type': 'application/json' },
        piece,
        50 * 1024 * 1024,
        chunked,
      );
      expect(a.status, a.body).to.equal(413);
      expect(errorOf(a).code).to.equal('input.tooLarge');
      await healthy();
    }
    // A kept-alive connection is usable after a refused body (the rest is drained, not left half-read).
    const after = await fetch(`${server.url}api/v1/visits`, {
      method: 'POST',
      headers: { cookie: clerk.cookie, 'x-csrf-token': clerk.csrf, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(after.status).to.equal(201);
  });

  it('answers a 50 MB 転出証明書情報 file with 413 and stays healthy', async () => {
    const visit = (await (
      await fetch(`${server.url}api/v1/visits`, {
        method: 'POST',
        headers: { cookie: clerk.cookie, 'x-csrf-token': clerk.csrf, 'content-type': 'application/json' },
        body: '{}',
      })
    ).json()) as { id: number };
    const created = await fetch(`${server.url}visits/${visit.id}/notices`, {
      method: 'POST',
      headers: { cookie: clerk.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ type: 'moveIn', _csrf: clerk.csrf }).toString(),
      redirect: 'manual',
    });
    const nid = /notices\/(\d+)/.exec(created.headers.get('location') ?? '')?.[1];
    expect(nid, `${created.status} ${created.headers.get('location')}`).to.be.a('string');
    const piece = Buffer.from('住民票コード,氏名,生年月日\r\n'.repeat(3000)).subarray(0, 64 * 1024);
    for (const chunked of [false, true]) {
      const a = await upload(
        `${server.url}visits/${visit.id}/notices/${nid}/move-out-certificate`,
        { cookie: clerk.cookie, 'x-csrf-token': clerk.csrf, 'content-type': 'text/csv', accept: 'application/json' },
        piece,
        50 * 1024 * 1024,
        chunked,
      );
      expect(a.status, a.body).to.equal(413);
      expect(errorOf(a).code).to.equal('input.tooLarge');
      await healthy();
    }
  });

  it('answers a compressed or broken-off upload with 400, never 500', async () => {
    const gz = await upload(importUrl(), { ...asAdmin(), 'content-encoding': 'gzip' }, Buffer.from(csvHeader), csvHeader.length, false);
    expect(gz.status).to.equal(400);
    expect(errorOf(gz).code).to.equal('input.badEncoding');
    const br = await upload(
      `${server.url}api/v1/visits`,
      { cookie: clerk.cookie, 'x-csrf-token': clerk.csrf, 'content-type': 'application/json', 'content-encoding': 'br' },
      Buffer.from('{"channel":"counter"}'),
      21,
      false,
    );
    expect(br.status).to.equal(400);
    expect(errorOf(br).code).to.equal('input.badEncoding');
    await healthy();
  });
});
