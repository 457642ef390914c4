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

function render(v: unknown): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

/** What every page shows about who is logged in: name, active role and counter (001 §6 A-5). */
export interface PageChrome {
  /** A banner on every staff page (power failure). */
  banner?: string | null;
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
${chrome.banner ? html`<div class="power-banner" role="alert" id="power-banner">⚠ ${chrome.banner}</div>` : ''}
<main>${body}</main>
</body>
</html>`.value;
}
