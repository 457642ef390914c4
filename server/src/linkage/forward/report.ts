import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { utf8WithBom } from '../../text/index.js';
import type { FileResult } from './apply.js';

const OUTCOME_LABEL: Record<string, string> = {
  applied: '取込済',
  skipped: '取込済 (同一内容のため処理なし)',
  quarantined: '隔離',
  failed: '失敗',
};

/** The human-readable report, for the municipality's IT staff (Japanese). */
export function reportText(r: FileResult, originalName: string): string {
  const lines = [
    `連携ファイル取込報告`,
    `ファイル: ${originalName}`,
    `連携仕様: ${r.specId}${r.edition ? ` (版 ${r.edition})` : ''}${r.kind ? ` / ${r.kind === 'diff' ? '差分' : '全件'}` : ''}`,
    `結果: ${OUTCOME_LABEL[r.outcome] ?? r.outcome}`,
    `理由: ${r.message}`,
    `文字コード: ${r.encoding ?? '-'}`,
    `件数: 読込 ${r.rowsRead} / 取込 ${r.rowsApplied} / 不正 ${r.rowsRejected} / 未対応外字 ${r.unmappedGaiji}`,
    `SHA-256: ${r.sha256}`,
    `取込番号: ${r.runId}`,
    '',
    r.issues.length ? '問題の一覧 (行番号はヘッダーを 1 行目として数えます。個人情報の値は一部を伏せています):' : '問題はありません。',
    ...r.issues.map(
      (i) => `  ${i.line} 行目${i.column ? ` [${i.column}]` : ''}: ${i.reason}${i.value !== undefined ? ` (値: ${i.value})` : ''}`,
    ),
  ];
  return lines.join('\r\n') + '\r\n';
}

/** Writes FILE.report.json and FILE.report.txt into `dir`; returns the text report's path. */
export function writeReports(dir: string, r: FileResult, originalName: string): string {
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, originalName);
  const json = {
    file: originalName,
    specId: r.specId,
    edition: r.edition,
    kind: r.kind,
    outcome: r.outcome,
    message: r.message,
    encoding: r.encoding,
    sha256: r.sha256,
    runId: r.runId,
    rowsRead: r.rowsRead,
    rowsApplied: r.rowsApplied,
    rowsRejected: r.rowsRejected,
    unmappedGaiji: r.unmappedGaiji,
    issues: r.issues,
  };
  writeFileSync(`${base}.report.json`, JSON.stringify(json, null, 2) + '\n', 'utf8');
  writeFileSync(`${base}.report.txt`, utf8WithBom(reportText(r, originalName)));
  return `${base}.report.txt`;
}
