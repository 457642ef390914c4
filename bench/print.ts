import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../server/src/main.js';
import { loadFormTemplates } from '../server/src/printing/template.js';
import { getAs } from '../test/helpers/http.js';
import { loginAs } from '../test/helpers/login.js';
import { acceptedMoveIn } from '../test/helpers/moveInVisit.js';
import { FontSet } from '../server/src/printing/fonts.js';
import { renderForms, type FormData } from '../server/src/printing/render.js';

const configDir = new URL('../config', import.meta.url).pathname;

function household(): FormData {
  const members = [
    { name: '髙橋 﨑子', kana: 'タカハシ サキコ', birthDate: '1985-04-01', sex: '2', relationship: '世帯主' },
    { name: '𠮷田 邉\u{E0110}', kana: 'ヨシダ ワタナベ', birthDate: '1989-01-08', sex: '1', relationship: '夫' },
    { name: '髙橋 一郎', kana: 'タカハシ イチロウ', birthDate: '2018-05-01', sex: '1', relationship: '子' },
    { name: '髙橋 トメ', kana: 'タカハシ トメ', birthDate: '1956-12-31', sex: '2', relationship: '母' },
  ];
  return {
    visit: { visitNo: '20261202-0001', date: '2026-12-02' },
    subject: { name: members[0]!.name, phone: '090-1234-5678', address: '窓口郡まどぐち町緑ケ丘二丁目3番地4', birthDate: '1985-04-01' },
    household: { head: { name: members[0]!.name }, members },
    notice: {
      notifiedOn: '2026-12-02',
      movedOn: '2026-11-28',
      newAddress: '窓口郡まどぐち町緑ケ丘二丁目3番地4',
      oldAddress: '東京都千代田区千代田1番1号',
      kind: 'movein',
      honseki: '東京都千代田区千代田1番',
      hittousha: members[0]!.name,
    },
    answers: {},
  };
}

/**
 * Print: a bundle of five two-page forms for a 4-person household, rendered again and again with
 * warm fonts (the server keeps them loaded). The five are the two-page 住民異動届 five times until
 * more two-page templates ship; the cost is per page and per distinct glyph, so it stands for any five.
 */
export async function benchPrint(args: string[]): Promise<Record<string, unknown>> {
  const runs = Number(args[args.indexOf('--runs') + 1]) || 50;
  const fonts = FontSet.load();
  const templates = loadFormTemplates(configDir);
  const idou = templates.get('juminidou');
  if (!idou) throw new Error('config/forms/juminidou.yaml is missing');
  const forms = Array.from({ length: 5 }, () => ({ template: idou, data: household() }));
  await renderForms(fonts, forms); // warm-up: the first document parses the font tables
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    bytes = (await renderForms(fonts, forms)).length;
    times.push(performance.now() - t0);
    if (i % 10 === 9) process.stderr.write(`print: ${i + 1}/${runs}\n`);
  }
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)]!;
  const bundle = await benchVisitBundle(Math.max(10, Math.round(runs / 2)));
  return {
    bench: 'print',
    forms: forms.length,
    pages: forms.length * idou.pages.length,
    runs,
    medianMs: Number(at(50).toFixed(1)),
    p95Ms: Number(at(95).toFixed(1)),
    bytes,
    ...bundle,
  };
}

/**
 * 「この来庁の書類をまとめて印刷」 for the 4-person 転入 (test/helpers/moveInVisit.ts), over HTTP
 * from a real server: the notice, every application form and the guide in one PDF.
 */
async function benchVisitBundle(
  runs: number,
): Promise<{ visitBundleMedianMs: number; visitBundleBytes: number; visitBundlePages: number }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'madoguchi-bench-bundle-'));
  const server = await startServer({ configDir, dataDir, port: 0, host: '127.0.0.1', watch: false });
  try {
    const clerk = await loginAs(server.url, server.knex, ['counter']);
    const { visitId } = await acceptedMoveIn(server.url, server.knex, clerk);
    const url = `${server.url}visits/${visitId}/bundle.pdf`;
    let pdf = Buffer.alloc(0);
    const get = async () => {
      const res = await getAs(url, clerk);
      if (res.status !== 200) throw new Error(`bundle.pdf: ${res.status} ${await res.text()}`);
      pdf = Buffer.from(await res.arrayBuffer());
    };
    await get(); // warm-up: fonts and templates load once
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await get();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return {
      visitBundleMedianMs: Number(times[Math.floor(times.length / 2)]!.toFixed(1)),
      visitBundleBytes: pdf.length,
      visitBundlePages: (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length,
    };
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
