import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import type { Knex } from 'knex';
import { verifyAudit } from '../../server/src/audit/trail.js';
import { verifyPassword } from '../../server/src/auth/passwords.js';
import {
  applyStaffImport,
  formatStaffDiff,
  parseStaffCsv,
  planStaffImport,
  StaffImportError,
  type StaffImportPlan,
} from '../../server/src/auth/staffImport.js';
import { createStaff, ensureDefaultGroups } from '../../server/src/auth/staffRepo.js';
import { migrateLatest, sqliteKnex } from '../../server/src/db/connect.js';
import { migratedSqlite, type TempDatabase } from '../helpers/db.js';
import { cliPath, configDir, repoRoot, tempDir } from '../helpers/paths.js';

const HEADER = 'ログインID,氏名,所属,グループ,有効期間開始,有効期間終了,状態,初期パスワード';
const BY = { staffLogin: 'cli:test' };

/** A CSV as Excel writes it: CRLF, UTF-8 with a BOM unless told otherwise. */
function csv(lines: string[], encoding: 'utf8-bom' | 'utf8' | 'cp932' = 'utf8-bom'): Buffer {
  const text = lines.join('\r\n') + '\r\n';
  if (encoding === 'cp932') return iconv.encode(text, 'cp932');
  return Buffer.from((encoding === 'utf8-bom' ? '\uFEFF' : '') + text, 'utf8');
}

async function addStaff(knex: Knex, loginId: string, displayName: string, section: string, groups: string[]): Promise<number> {
  return createStaff(knex, { loginId, displayName, section, password: 'Initial-pass-123', groups, mustChangePassword: false });
}

/** Everything an import may touch, to compare before and after. */
async function snapshot(knex: Knex): Promise<unknown> {
  return {
    staff: await knex('staff')
      .orderBy('id')
      .select('id', 'login_id', 'display_name', 'section', 'valid_from', 'valid_to', 'disabled', 'password_hash'),
    members: await knex('staff_group_members').orderBy(['staff_id', 'group_id']).select(),
    sessions: await knex('staff_sessions').orderBy('id').select('id', 'staff_id'),
    audit: await knex('audit_trail').orderBy('seq').pluck('hash'),
  };
}

async function groupsOf(knex: Knex, loginId: string): Promise<string[]> {
  return (await knex('staff_group_members')
    .join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id')
    .join('staff', 'staff.id', 'staff_group_members.staff_id')
    .where('staff.login_id', loginId)
    .orderBy('staff_groups.code')
    .pluck('staff_groups.code')) as string[];
}

async function addSession(knex: Knex, staffId: number, id: string): Promise<void> {
  await knex('staff_sessions').insert({
    id: id.padEnd(64, '0'),
    staff_id: staffId,
    csrf_token: 'c'.repeat(64),
    group_code: 'counter',
    created_at: new Date(),
    last_seen_at: new Date(),
  });
}

async function planOf(knex: Knex, lines: string[], name = 'jinji.csv'): Promise<StaffImportPlan> {
  return planStaffImport(knex, parseStaffCsv(csv(lines), name));
}

describe('staff import from CSV (年度替わりの人事異動)', function () {
  this.timeout(120_000);
  let db: TempDatabase;
  let knex: Knex;

  beforeEach(async () => {
    db = await migratedSqlite();
    knex = db.knex;
    await ensureDefaultGroups(knex);
  });
  afterEach(() => db.close());

  it('(a) reads a CP932 file from Excel with 髙 and 﨑 (IBM extensions), and the same rows as UTF-8 with or without BOM', async () => {
    const names = ['髙橋 﨑子', '山﨑 ソウ太', '纊田 表'];
    // iconv-lite maps these to the IBM-extension codes of CP932 and back (no '?' substitution).
    for (const n of names) {
      const bytes = iconv.encode(n, 'cp932');
      expect(bytes.includes(0x3f), n).to.equal(false);
      expect(iconv.decode(bytes, 'cp932')).to.equal(n);
    }
    expect(iconv.encode('髙', 'cp932').toString('hex')).to.equal('fbfc');
    const lines = [
      HEADER,
      `takahashi,${names[0]},住民課,counter,2026/4/1,2027/3/31,有効,`,
      `yamazaki,${names[1]},ソフトウェア推進室,counter；certificates,,,,`,
      `kouda,${names[2]},表計算係,supportMeasures、admin,,,,`,
    ];
    const fromCp932 = parseStaffCsv(csv(lines, 'cp932'), 'jinji.csv');
    expect(fromCp932.encoding).to.equal('cp932');
    expect(fromCp932.errors).to.deep.equal([]);
    expect(fromCp932.rows.map((r) => r.displayName)).to.deep.equal(names);
    expect(fromCp932.rows[0]).to.deep.include({
      line: 2,
      loginId: 'takahashi',
      section: '住民課',
      groups: ['counter'],
      validFrom: '2026-04-01',
      validTo: '2027-03-31',
      disabled: false,
    });
    expect(fromCp932.rows[1]!.section).to.equal('ソフトウェア推進室'); // ソ is 0x83 0x5C: the trail byte is a backslash
    expect(fromCp932.rows[1]!.groups).to.deep.equal(['certificates', 'counter']);
    expect(fromCp932.rows[2]!.groups).to.deep.equal(['admin', 'supportMeasures']);
    for (const enc of ['utf8-bom', 'utf8'] as const) {
      const fromUtf8 = parseStaffCsv(csv(lines, enc), 'jinji.csv');
      expect(fromUtf8.encoding, enc).to.equal('utf8');
      expect(fromUtf8.rows, enc).to.deep.equal(fromCp932.rows);
    }
    const plan = await planStaffImport(knex, fromCp932);
    expect(plan.errors).to.deep.equal([]);
    expect(formatStaffDiff(plan)).to.contain('+ 追加 takahashi 髙橋 﨑子 (住民課) グループ: counter; 有効期間: 2026-04-01〜2027-03-31');
  });

  it('(b) dry run: the diff lists additions, changes and disablings, and planning changes nothing', async () => {
    await addStaff(knex, 'suzuki', '鈴木 次郎', '住民課', ['counter']);
    await addStaff(knex, 'sato', '佐藤 花子', '住民課', ['certificates']);
    await addStaff(knex, 'kato', '加藤 三郎', '住民課', ['counter']);
    await addStaff(knex, 'ito', '伊藤 四郎', '住民課', ['admin']);
    const before = await snapshot(knex);
    const plan = await planOf(knex, [
      HEADER,
      'tanaka,田中 一郎,住民課,counter,,,,',
      'suzuki,鈴木 次郎,税務課,certificates,,,,',
      'sato,,,,,,無効,',
      'kato,加藤 三郎,住民課,counter,,,有効,',
    ]);
    expect(plan.errors).to.deep.equal([]);
    const diff = formatStaffDiff(plan);
    expect(diff.split('\n')).to.include.members([
      '+ 追加 tanaka 田中 一郎 (住民課) グループ: counter',
      '~ 変更 suzuki 所属: 住民課 → 税務課; グループ: counter → certificates',
      '- 無効化 sato 佐藤 花子',
      '追加 1 件、変更 1 件、無効化 1 件、変更なし 1 件',
      'ファイルにない職員 1 人は変更しません',
    ]);
    expect(diff).to.not.contain('kato');
    const add = plan.changes.find((c) => c.kind === 'add');
    expect(add && add.kind === 'add' && add.password.length).to.be.greaterThan(11);
    expect(diff).to.not.contain(add && add.kind === 'add' ? add.password : '?');
    expect(await snapshot(knex)).to.deep.equal(before);
  });

  it('(c) one bad line (unknown group on line 4): the error names line 4 and column グループ, and apply is refused', async () => {
    await addStaff(knex, 'suzuki', '鈴木 次郎', '住民課', ['counter']);
    const before = await snapshot(knex);
    const plan = await planOf(knex, [
      HEADER,
      'tanaka,田中 一郎,住民課,counter,,,,',
      '', // a blank line still counts as a physical line
      'yamada,山田 五郎,税務課,counter;kaikei,,,,',
      'suzuki,,税務課,,,,,',
    ]);
    expect(plan.errors).to.have.length(1);
    expect(plan.errors[0]).to.deep.include({ line: 4, column: 'グループ' });
    expect(plan.errors[0]!.message).to.contain('kaikei');
    let refused: unknown;
    try {
      await applyStaffImport(knex, plan, BY);
    } catch (e) {
      refused = e;
    }
    expect(refused).to.be.instanceOf(StaffImportError);
    expect(await snapshot(knex)).to.deep.equal(before);
  });

  it('(c2) names the line and column of format errors: unknown column, bad date, status, duplicate, new staff without name', async () => {
    const unknownColumn = parseStaffCsv(csv(['ログインID,氏名,職員番号', 'a,b,1']), 'x.csv');
    expect(unknownColumn.errors).to.deep.equal([{ line: 1, column: '職員番号', message: unknownColumn.errors[0]!.message }]);
    expect(unknownColumn.errors[0]!.message).to.contain('職員番号');

    const parsed = parseStaffCsv(
      csv([
        HEADER,
        'ok1,一,住民課,counter,,,,',
        '"ok2","二 ""通称""\r\n改行",住民課,counter,,,,', // a quoted line break: two physical lines
        'bad date,三,住民課,counter,,,,',
        'ok3,三,住民課,counter,2026-02-30,,,',
        'ok4,四,住民課,counter,,,休止,',
        'ok1,一,住民課,counter,,,,',
        'ok5,,住民課,counter,2027-04-01,2026-04-01,,',
      ]),
      'x.csv',
    );
    const at = (line: number) => parsed.errors.filter((e) => e.line === line).map((e) => e.column);
    expect(at(3)).to.deep.equal(['氏名']); // line break in a name
    expect(at(5)).to.deep.equal(['ログインID']);
    expect(at(6)).to.deep.equal(['有効期間開始']);
    expect(at(7)).to.deep.equal(['状態']);
    expect(parsed.errors.find((e) => e.line === 8)!.message).to.contain('2 行目と重複');
    expect(at(9)).to.deep.equal(['有効期間開始']);
    expect(parsed.rows.map((r) => r.loginId)).to.deep.equal(['ok1']);

    const plan = await planOf(knex, [HEADER, 'newbie,,住民課,,,,,']);
    expect(plan.errors.map((e) => [e.line, e.column])).to.deep.equal([
      [2, '氏名'],
      [2, 'グループ'],
    ]);

    const utf16 = parseStaffCsv(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(HEADER, 'utf16le')]), 'x.csv');
    expect(utf16.errors[0]!.message).to.contain('UTF-16');
    const garbled = parseStaffCsv(
      Buffer.concat([csv([HEADER, 'ok1,一,住民課,counter,,,,'], 'cp932'), Buffer.from([0x6f, 0x6b, 0x32, 0x2c, 0x85, 0x40, 0x0d, 0x0a])]),
      'x.csv',
    );
    expect(garbled.errors).to.have.length(1);
    expect(garbled.errors[0]).to.deep.include({ line: 3, column: null });
    expect(garbled.rows).to.deep.equal([]);
  });

  it('(d) is atomic: an apply that fails at the second addition leaves no staff, membership or audit record of the import', async () => {
    const suzuki = await addStaff(knex, 'suzuki', '鈴木 次郎', '住民課', ['counter']);
    const plan = await planOf(knex, [
      HEADER,
      'alpha,阿部 一,住民課,counter,,,,',
      'beta,別府 二,住民課,certificates,,,,',
      'suzuki,,税務課,admin,,,,',
    ]);
    expect(plan.errors).to.deep.equal([]);
    expect(plan.changes.map((c) => c.kind)).to.deep.equal(['add', 'add', 'update']);
    // Someone registers "beta" between the dry run and the apply.
    await addStaff(knex, 'beta', '別府 二', '住民課', ['counter']);
    const before = await snapshot(knex);
    let failure: unknown;
    try {
      await applyStaffImport(knex, plan, BY);
    } catch (e) {
      failure = e;
    }
    expect(failure).to.be.instanceOf(StaffImportError);
    expect((failure as Error).message).to.contain('beta');
    expect(await snapshot(knex)).to.deep.equal(before);
    expect(await knex('staff').where({ login_id: 'alpha' }).first()).to.equal(undefined);
    expect(await groupsOf(knex, 'suzuki')).to.deep.equal(['counter']);
    expect((await knex('staff').where({ id: suzuki }).first('section')) as unknown).to.deep.equal({ section: '住民課' });
    expect(await knex('audit_trail').whereIn('action', ['staff.import', 'staff.update']).count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    expect((await verifyAudit(knex)).ok).to.equal(true);
  });

  it('(e) applies additions, changes and disablings with audit records, and ends the sessions of disabled staff', async () => {
    const suzuki = await addStaff(knex, 'suzuki', '鈴木 次郎', '住民課', ['counter', 'supportMeasures']);
    const sato = await addStaff(knex, 'sato', '佐藤 花子', '住民課', ['certificates']);
    const kato = await addStaff(knex, 'kato', '加藤 三郎', '住民課', ['counter']);
    await addSession(knex, sato, 'a1');
    await addSession(knex, sato, 'a2');
    await addSession(knex, kato, 'b1');
    const plan = await planOf(
      knex,
      [
        '状態,グループ,ログインID,氏名,所属,有効期間終了,初期パスワード', // any column order
        ',counter,tanaka,田中 一郎,住民課,,Haru-2026-Kuru',
        ',certificates;admin,nakamura,中村 六子,情報政策課,2027-03-31,',
        ',certificates,suzuki,,税務課,,',
        '無効,,sato,,,,',
        ',,kato,,,,',
      ],
      'R8-jinji.csv',
    );
    expect(plan.errors).to.deep.equal([]);
    const r = await applyStaffImport(knex, plan, BY);
    expect(r.updated).to.equal(1);
    expect(r.disabled).to.equal(1);
    expect(r.added.map((a) => a.loginId)).to.deep.equal(['tanaka', 'nakamura']);
    expect(r.added[0]!.password).to.equal('Haru-2026-Kuru');
    const generated = r.added[1]!.password;
    expect(generated).to.match(/^[A-Za-z0-9]{14}$/);

    const tanaka = (await knex('staff').where({ login_id: 'tanaka' }).first()) as Record<string, unknown>;
    expect(Boolean(tanaka.must_change_password)).to.equal(true);
    expect(await verifyPassword('Haru-2026-Kuru', String(tanaka.password_hash))).to.equal(true);
    const nakamura = (await knex('staff').where({ login_id: 'nakamura' }).first()) as Record<string, unknown>;
    expect(nakamura).to.include({ display_name: '中村 六子', section: '情報政策課', valid_to: '2027-03-31' });
    expect(await verifyPassword(generated, String(nakamura.password_hash))).to.equal(true);
    expect(await groupsOf(knex, 'nakamura')).to.deep.equal(['admin', 'certificates']);
    expect(await groupsOf(knex, 'suzuki')).to.deep.equal(['certificates']);
    expect((await knex('staff').where({ id: suzuki }).first('section', 'disabled')) as unknown).to.deep.equal({
      section: '税務課',
      disabled: 0,
    });
    expect(Boolean(((await knex('staff').where({ id: sato }).first('disabled')) as { disabled: unknown }).disabled)).to.equal(true);
    expect(await knex('staff_sessions').where({ staff_id: sato }).pluck('id')).to.deep.equal([]);
    expect(await knex('staff_sessions').where({ staff_id: kato }).pluck('id')).to.have.length(1);

    const audit = (await knex('audit_trail')
      .where({ staff_login: 'cli:test' })
      .orderBy('seq')
      .select('action', 'target_ids', 'detail')) as { action: string; target_ids: string; detail: string }[];
    expect(audit.map((a) => a.action)).to.deep.equal(['staff.create', 'staff.create', 'staff.update', 'staff.disable', 'staff.import']);
    expect(JSON.parse(audit[2]!.detail)).to.deep.include({
      loginId: 'suzuki',
      fields: ['section', 'groups'],
      groups: ['certificates'],
      groupsRemoved: ['counter', 'supportMeasures'],
    });
    expect(JSON.parse(audit[3]!.target_ids)).to.deep.equal([String(sato)]);
    expect(JSON.parse(audit[4]!.detail)).to.deep.equal({
      file: 'R8-jinji.csv',
      added: 2,
      updated: 1,
      disabled: 1,
      unchanged: 1,
      notInFile: 0,
    });
    for (const a of audit) for (const p of ['Haru-2026-Kuru', generated]) expect(a.detail).to.not.contain(p);
    expect((await verifyAudit(knex)).ok).to.equal(true);

    // The same file again changes nothing.
    const again = await planOf(knex, [HEADER, 'suzuki,鈴木 次郎,税務課,certificates,,,,', 'sato,,,,,,無効,']);
    expect(again.changes.map((c) => c.kind)).to.deep.equal(['unchanged', 'unchanged']);
  });

  it('the shipped template is UTF-8 with BOM and plans two additions in the demo groups', async () => {
    const bytes = readFileSync(path.join(configDir, 'staff-import-template.csv'));
    expect([...bytes.subarray(0, 3)]).to.deep.equal([0xef, 0xbb, 0xbf]);
    const plan = await planStaffImport(knex, parseStaffCsv(bytes, 'staff-import-template.csv'));
    expect(plan.errors).to.deep.equal([]);
    expect(plan.changes.map((c) => c.kind)).to.deep.equal(['add', 'add']);
  });
});

describe('madoguchi staff import (CLI)', function () {
  this.timeout(120_000);
  const t = tempDir();
  after(() => t.remove());
  const dataDir = path.join(t.dir, 'data');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [cliPath, '--data-dir', dataDir, '--config', configDir, 'staff', 'import', ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
  const withDb = async <T>(fn: (knex: Knex) => Promise<T>): Promise<T> => {
    const knex = sqliteKnex(path.join(dataDir, 'madoguchi.sqlite'));
    try {
      await migrateLatest(knex);
      return await fn(knex);
    } finally {
      await knex.destroy();
    }
  };

  it('(f) refuses a bad file with exit 2, shows the diff on a dry run, then applies and writes the passwords to a 0600 file', async () => {
    await withDb((knex) => addStaff(knex, 'suzuki', '鈴木 次郎', '住民課', ['counter']));
    const bad = path.join(t.dir, 'bad.csv');
    writeFileSync(bad, csv([HEADER, 'tanaka,田中 一郎,住民課,counter,,,,', 'yamada,山田 五郎,税務課,kaikei,,,,'], 'cp932'));
    const refused = run(bad);
    expect(refused.status, refused.stdout + refused.stderr).to.equal(2);
    expect(refused.stderr).to.contain(`${bad}:3 列「グループ」: グループ「kaikei」はありません`);
    expect(refused.stdout).to.not.contain('追加');

    const good = path.join(t.dir, 'good.csv');
    writeFileSync(good, csv([HEADER, 'tanaka,田中 一郎,住民課,counter,,,,', 'suzuki,,税務課,,,,,'], 'cp932'));
    const dry = run(good, '--dry-run');
    expect(dry.status, dry.stderr).to.equal(0);
    expect(dry.stdout).to.contain('+ 追加 tanaka 田中 一郎 (住民課) グループ: counter');
    expect(dry.stdout).to.contain('~ 変更 suzuki 所属: 住民課 → 税務課');
    expect(dry.stdout).to.contain('ドライランのため反映していません');
    expect(await withDb((knex) => knex('staff').where({ login_id: 'tanaka' }).first('id'))).to.equal(undefined);

    const out = path.join(t.dir, 'passwords.csv');
    const applied = run(good, '--passwords-out', out);
    expect(applied.status, applied.stderr).to.equal(0);
    expect(applied.stdout).to.contain('+ 追加 tanaka');
    expect(applied.stdout).to.contain('反映しました: 追加 1 件、変更 1 件、無効化 0 件');
    expect(statSync(out).mode & 0o777).to.equal(0o600);
    const line = readFileSync(out, 'utf8')
      .split('\r\n')
      .find((l) => l.startsWith('tanaka,'))!;
    const password = line.split(',')[2]!;
    expect(password).to.have.length.greaterThan(11);
    expect(applied.stdout + applied.stderr).to.not.contain(password);
    const hash = await withDb(
      async (knex) =>
        ((await knex('staff').where({ login_id: 'tanaka' }).first('password_hash')) as { password_hash: string }).password_hash,
    );
    expect(await verifyPassword(password, hash)).to.equal(true);
    expect(await withDb((knex) => knex('staff').where({ login_id: 'suzuki' }).first('section'))).to.deep.equal({ section: '税務課' });

    // Without --passwords-out the file goes to the data directory, again readable by the owner only.
    const more = path.join(t.dir, 'more.csv');
    writeFileSync(more, csv([HEADER, 'nakamura,中村 六子,情報政策課,admin,,,,']));
    const second = run(more);
    expect(second.status, second.stderr).to.equal(0);
    const files = readdirSync(dataDir).filter((f) => /^staff-import-passwords-\d{14}\.txt$/.test(f));
    expect(files).to.have.length(1);
    expect(statSync(path.join(dataDir, files[0]!)).mode & 0o777).to.equal(0o600);
    expect(readFileSync(path.join(dataDir, files[0]!), 'utf8')).to.contain('nakamura,中村 六子,');
    const verify = spawnSync(process.execPath, [cliPath, '--data-dir', dataDir, '--config', configDir, 'audit', 'verify'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(verify.status, verify.stderr).to.equal(0);
  });
});
