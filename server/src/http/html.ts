/** HTML built from tagged templates; every interpolated value is escaped unless marked safe. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * 外字 the 同定マップ does not know arrive as BMP private-use characters (U+E000–U+F8FF: CP932's
 * EUDC area as decoded, or a code of the core system's own). They mean nothing to a browser, so no
 * page shows them raw: each becomes 〓 with its code point. The supplementary private-use planes
 * (15 and 16) are left alone: 行政事務標準文字 adds legitimate characters there.
 */
const HAS_BMP_PRIVATE_USE = /[\uE000-\uF8FF]/;
const BMP_PRIVATE_USE = /[\uE000-\uF8FF]/g;
export const GETA = '〓';

/** `U+E001`: how staff and the 情報政策課 name an unmapped 外字. */
export const privateUseLabel = (c: string): string => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/** Where an interpolated value lands: text between tags, or inside a tag (an attribute value). */
type HtmlContext = 'text' | 'tag' | 'rawText';

/** Elements whose content is text only: markup there would show as written. */
const RAW_TEXT_ELEMENTS = ['title', 'textarea'] as const;

function contextAfter(before: string): HtmlContext {
  if (before.lastIndexOf('<') > before.lastIndexOf('>')) return 'tag';
  for (const el of RAW_TEXT_ELEMENTS) if (before.lastIndexOf(`<${el}`) > before.lastIndexOf(`</${el}`)) return 'rawText';
  return 'text';
}

/** Escapes a value for its place; an unmapped 外字 becomes 〓 (with its code point as a tooltip in text). */
function escapeFor(s: string, before: () => string): string {
  const escaped = escapeHtml(s);
  if (!HAS_BMP_PRIVATE_USE.test(escaped)) return escaped;
  const where = contextAfter(before());
  return escaped.replace(BMP_PRIVATE_USE, (c) =>
    where === 'text' ? `<span class="gaiji" title="未対応外字 ${privateUseLabel(c)}">${GETA}</span>` : GETA,
  );
}

function render(v: unknown, before: () => string): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) {
    let out = '';
    for (const x of v) out += render(x, () => before() + out);
    return out;
  }
  return escapeFor(String(v), before);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v, () => out) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/** A warning across the top of staff pages (which ones and for whom: http/banners.ts). */
export interface Banner {
  /** The element's id (`power-banner`, `disk-banner`). */
  id: string;
  text: string;
  /** `error` for what needs action now (a failed disk), `warning` otherwise. */
  level: 'warning' | 'error';
  link?: { href: string; label: string };
}

/** What every page shows about who is logged in: name, active role and counter (001 §6 A-5). */
export interface PageChrome {
  /** Banners on every staff page, in order (power failure for everyone, disk health for administrators). */
  banners?: readonly Banner[];
  staff?: {
    displayName: string;
    roleName: string;
    counterName: string;
    csrfToken: string;
    canSwitch: boolean;
    nav: readonly { href: string; label: string }[];
  };
}

export function page(title: string, body: SafeHtml, chrome: PageChrome = {}): string {
  const s = chrome.staff;
  return html`<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — まどぐち</title>
<link rel="stylesheet" href="/static/base.css">
</head>
<body>
<header class="top"><a href="/" class="brand">まどぐち</a><span class="sub">書かない窓口</span>
${
  s
    ? html`<nav class="top-nav">${s.nav.map((n) => html`<a href="${n.href}">${n.label}</a>`)}</nav>
<span class="whoami" id="whoami"><span class="staff-name">${s.displayName}</span> <span class="active-role" title="現在の役割">${s.roleName}</span> <span class="active-counter" title="窓口">${s.counterName}</span>
${s.canSwitch ? html`<a href="/role" class="switch">切替</a>` : ''} <a href="/password" class="switch">パスワード変更</a>
<form method="post" action="/logout" class="inline"><input type="hidden" name="_csrf" value="${s.csrfToken}"><button type="submit">ログアウト</button></form></span>`
    : ''
}
</header>
${(chrome.banners ?? []).map(
  (b) =>
    html`<div class="staff-banner banner-${b.level}" role="alert" id="${b.id}">⚠ ${b.text}${b.link ? html` <a href="${b.link.href}">${b.link.label}</a>` : ''}</div>`,
)}
<main>${body}</main>
${
  // The keys of the manual (Alt+N, Alt+H, Alt+S, Alt+P, Esc …) and the counter helpers, on every staff page.
  s ? html`<script src="/static/counter.js"></script>` : ''
}
</body>
</html>`.value;
}
