import { expect } from 'chai';
import { html, page } from '../../server/src/http/html.js';

/** Unmapped 外字 (BMP private use) never reach a page raw: the html tag turns each into 〓 by context. */
describe('html: unmapped 外字 (U+E000–U+F8FF) shown as 〓', () => {
  const name = '山\uE001太郎';
  const span = '<span class="gaiji" title="未対応外字 U+E001">〓</span>';

  it('in text: 〓 with the code point as a tooltip', () => {
    expect(html`<td>${name}</td>`.value).to.equal(`<td>山${span}太郎</td>`);
    expect(html`<p>${'\uE000'}${'\uF8FF'}</p>`.value).to.equal(
      '<p><span class="gaiji" title="未対応外字 U+E000">〓</span><span class="gaiji" title="未対応外字 U+F8FF">〓</span></p>',
    );
  });

  it('inside a tag (an attribute value): a plain 〓, no markup', () => {
    expect(html`<input name="n" value="${name}">`.value).to.equal('<input name="n" value="山〓太郎">');
    // A second value in the same tag, after a first one: still inside the tag.
    expect(html`<a href="/x/${'1'}" title="${name}">${name}</a>`.value).to.equal(`<a href="/x/1" title="山〓太郎">山${span}太郎</a>`);
    expect(html`<option value="${name}"${html` selected`} label="${name}">`.value).to.equal(
      '<option value="山〓太郎" selected label="山〓太郎">',
    );
  });

  it('in text-only elements (title, textarea): a plain 〓, since markup would show as written', () => {
    expect(html`<textarea name="memo">${name}</textarea><p>${name}</p>`.value).to.equal(
      `<textarea name="memo">山〓太郎</textarea><p>山${span}太郎</p>`,
    );
    const doc = page(name, html`<h1>${name}</h1>`);
    expect(doc).to.contain('<title>山〓太郎 — まどぐち</title>');
    expect(doc).to.contain(`<h1>山${span}太郎</h1>`);
    expect(doc).to.not.match(/[\uE000-\uF8FF]/);
  });

  it('in lists of values, each by its own place', () => {
    expect(html`<ul>${[name, html`<li title="${name}">`, name]}</ul>`.value).to.equal(
      `<ul>山${span}太郎<li title="山〓太郎">山${span}太郎</ul>`,
    );
  });

  it('still escapes, and leaves planes 15–16 (行政事務標準文字) and ordinary text alone', () => {
    const plane16 = '\u{100001}';
    const plane15 = '\u{F0000}';
    expect(html`<td title="${plane16}">${plane16}${plane15}</td>`.value).to.equal(`<td title="${plane16}">${plane16}${plane15}</td>`);
    expect(html`<td>${'<b>&"\''}</td>`.value).to.equal('<td>&lt;b&gt;&amp;&quot;&#39;</td>');
    expect(html`<td>${'髙﨑 𠮷子 邉\u{E0110}'}</td>`.value).to.equal('<td>髙﨑 𠮷子 邉\u{E0110}</td>');
  });
});
