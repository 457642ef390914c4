import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import { html, type SafeHtml } from '../html.js';

/** 支援措置 ended by a linkage file, for 支援措置担当: who, since when, which file; acknowledged one by one. */

export interface EndingShown {
  id: number;
  addresseeNo: string;
  name: string | null;
  measureCode: string | null;
  measureKind: string;
  startDate: string | null;
  startDateWareki: string;
  endDate: string | null;
  endDateWareki: string;
  removed: boolean;
  runId: number;
  specId: string;
  fileName: string;
  detectedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
}

export interface View {
  title: string;
  body: SafeHtml;
}

export function endingsView(endings: readonly EndingShown[], unacknowledged: number, csrf: string): View {
  const row = (e: EndingShown) =>
    html`<tr id="ending-${e.id}" class="${e.acknowledgedAt ? 'ended-acknowledged' : 'ended-unacknowledged'}"><td><a href="/residents/${e.addresseeNo}">${e.addresseeNo}</a></td><td class="name">${e.name ?? html`<span class="muted">(住民記録にありません)</span>`}</td><td>${e.measureKind}</td><td>${e.startDateWareki}</td><td>${e.removed ? html`<strong>行が削除された</strong>` : e.endDateWareki}</td><td>${e.specId} ${e.fileName}</td><td class="num"><a href="/linkage/runs/${e.runId}">取込 ${e.runId}</a></td><td>${jst(e.detectedAt)}</td><td>${
      e.acknowledgedAt
        ? html`確認済 <span class="muted">${jst(e.acknowledgedAt)} ${e.acknowledgedBy ?? ''}</span>`
        : html`<form method="post" action="/support-measures/endings/${e.id}/acknowledge" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit">確認済みにする</button></form>`
    }</td></tr>`;
  return {
    title: '支援措置の終了',
    body: html`<h1>支援措置の終了</h1>
<p>連携ファイルの取込で支援措置が終わった人の一覧です (終了日が入った、または行が削除された)。
基幹系の記録と申出の内容どおりか確かめてから「確認済みにする」を押してください。未確認のものが先に並びます。</p>
<p>支援措置が終わると、その人と世帯の住所は伏字でなくなります。誤りのときは、すぐに基幹系の担当に連絡してください。</p>
${
  unacknowledged
    ? html`<p class="card alert" role="alert" id="endings-unacknowledged">⚠ 未確認の終了が ${unacknowledged} 件あります。</p>`
    : html`<p class="card" id="endings-unacknowledged">未確認の終了はありません。</p>`
}
${
  endings.length
    ? html`<table id="endings"><thead><tr><th>宛名番号</th><th>氏名</th><th>種別</th><th>開始日</th><th>終了日</th><th>連携ファイル</th><th>取込</th><th>検出</th><th>確認</th></tr></thead><tbody>
${endings.map(row)}
</tbody></table>`
    : html`<p class="muted">連携ファイルで終了した支援措置はまだありません。</p>`
}
<p class="muted">この画面を開くと、表示した人が監査ログに記録されます。JSON: <a href="/api/v1/support-measures/endings">/api/v1/support-measures/endings</a></p>`,
  };
}
