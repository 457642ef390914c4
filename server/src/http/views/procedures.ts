import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import type { ConfigIssue } from '../../config/yamlFile.js';
import type { ProcedureDefinition } from '../../domain/procedureTypes.js';
import { noticeTypeLabels } from '../../domain/procedureTypes.js';
import { html, type SafeHtml } from '../html.js';

/** The procedure catalog preview (P-49, admin.procedures). */

export interface View {
  title: string;
  body: SafeHtml;
}

export interface CatalogPreview {
  all: readonly ProcedureDefinition[];
  loadedAt: Date;
  /** Ids of the definitions valid today. */
  validToday: ReadonlySet<string>;
  /** The last edit that could not be loaded (the server keeps the last good set). */
  error: { issues: readonly ConfigIssue[] } | null;
}

/** The notice types a definition's `when` condition names, as labels. */
function noticesOf(when: unknown): string {
  const found = new Set<string>();
  const walk = (c: unknown) => {
    if (!c || typeof c !== 'object') return;
    const o = c as Record<string, unknown>;
    if (Array.isArray(o.notice)) for (const t of o.notice) found.add(noticeTypeLabels[t as keyof typeof noticeTypeLabels] ?? String(t));
    for (const k of ['all', 'any']) if (Array.isArray(o[k])) (o[k] as unknown[]).forEach(walk);
    if (o.not) walk(o.not);
  };
  walk(when);
  return [...found].join('・');
}

export function procedureCatalogView(c: CatalogPreview): View {
  const { error: err, validToday: valid } = c;
  return {
    title: '手続きの設定',
    body: html`<h1>手続きの設定 (config/procedures)</h1>
${err ? html`<div class="card alert" role="alert" id="procedure-error"><p>設定ファイルにエラーがあるため、前回読み込めた設定で動いています:</p><ul>${err.issues.map((i) => html`<li>${i.file}${i.line ? `:${i.line}` : ''} ${i.path ?? ''} — ${i.reason}</li>`)}</ul></div>` : html`<p class="card state-ok" id="procedure-ok">設定は正常に読み込まれています (${c.all.length} 件、${jst(c.loadedAt.toISOString())} に読込)。ファイルを保存すると自動で読み直します。</p>`}
<table id="procedure-catalog"><thead><tr><th>ID</th><th>手続き</th><th>担当</th><th>届出</th><th>質問</th><th>あわせて</th><th>期限</th><th>有効期間</th></tr></thead><tbody>
${c.all.map((p) => html`<tr class="${valid.has(p.id) ? '' : 'muted'}"><td><code>${p.id}</code></td><td>${p.name}</td><td>${p.section} (${p.counter})</td><td>${noticesOf(p.when)}</td><td>${p.questions.map((q) => q.text).join(' / ')}</td><td>${p.adds.join(', ')}</td><td>${p.deadlineDays ? `${p.deadlineDays} 日` : ''}</td><td>${p.validFrom ?? ''} 〜 ${p.validTo ?? ''}${valid.has(p.id) ? '' : ' (今日は無効)'}</td></tr>`)}
</tbody></table>
<p class="muted">変更のしかたは docs/manual/procedures-admin.md を参照してください。</p>`,
  };
}
