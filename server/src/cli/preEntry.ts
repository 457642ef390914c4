import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadLanguages, type Languages } from '../i18n/languages.js';
import { PRE_ENTRY_PREFIX, preEntryStringsScript } from '../i18n/preEntryStrings.js';
import { PRE_ENTRY_STATIC_FILES } from '../http/views/preEntry.js';
import { common } from './common.js';

/** The page's files as the appliance serves them under /static/pre-entry/ (views/preEntry.ts). */
const PAGE_ROUTE = '/static/pre-entry/';
export const STRINGS_FILE = 'strings.js';
const LOGO_FILE = 'logo.png';
/** index.html's logo line, commented out until the folder has a logo.png. */
const LOGO_COMMENTED = '<!-- <img src="logo.png" alt="" class="logo"> -->';
const LOGO_SHOWN = '<img src="logo.png" alt="" class="logo" />';

export interface PublishedFile {
  name: string;
  bytes: number;
}

/**
 * Writes the complete pre-entry page into `dir` (made if missing): the appliance's static files
 * of the page and strings.js made from `<configDir>/languages`. Other files of the folder (the
 * municipality's logo.png) stay; with a logo.png there, index.html shows it. The languages are
 * read (and checked) before anything is written, and each file is replaced whole (written beside
 * it, then renamed), so a web server serving the folder never sends half a file.
 */
export function publishPreEntry(configDir: string, dir: string): { files: PublishedFile[]; logo: boolean; languages: Languages } {
  const languages = loadLanguages(configDir);
  const logo = existsSync(path.join(dir, LOGO_FILE));
  const contents: [string, Buffer | string][] = [];
  for (const [route, f] of Object.entries(PRE_ENTRY_STATIC_FILES)) {
    if (!route.startsWith(PAGE_ROUTE)) continue;
    const name = route.slice(PAGE_ROUTE.length);
    let body: Buffer | string = readFileSync(f.file);
    if (name === 'index.html' && logo) body = body.toString('utf8').replace(LOGO_COMMENTED, LOGO_SHOWN);
    contents.push([name, body]);
  }
  contents.push([STRINGS_FILE, preEntryStringsScript(languages)]);

  mkdirSync(dir, { recursive: true });
  const files: PublishedFile[] = [];
  for (const [name, body] of contents) {
    const target = path.join(dir, name);
    const temp = path.join(dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(temp, body);
    renameSync(temp, target);
    files.push({ name, bytes: Buffer.byteLength(body) });
  }
  return { files, logo, languages };
}

/** `madoguchi pre-entry publish <dir>`. */
export function addPreEntryCommands(program: Command): void {
  const group = program
    .command('pre-entry')
    .description('事前入力のページ (住民が来庁前にスマートフォンで入力し、QR コードにして窓口で見せる静的なページ) の公開');
  group
    .command('publish')
    .description(
      '事前入力のページ一式 (index.html・pre-entry.js・pre-entry.css・codec.js・qrcode.js と、' +
        '<config>/languages の preEntry.* から作る文言 strings.js) をフォルダーに書き出す。' +
        'そのフォルダーを Web サイトに載せる。フォルダーのほかのファイルはそのままにし、logo.png があれば index.html にロゴを出す',
    )
    .argument('<dir>', '書き出すフォルダー (なければ作る)')
    .action((dir: string, _opts: object, cmd: Command) => {
      const o = common(cmd);
      // A ConfigError goes up to main: 「設定ファイルのエラー」 with file:line, exit code 1.
      const out = path.resolve(dir);
      const { files, logo, languages } = publishPreEntry(o.config, out);
      console.log(`事前入力のページを書き出しました: ${out}`);
      for (const f of files)
        console.log(`  ${f.name}\t${f.bytes.toLocaleString('ja-JP')} バイト${f.name === 'index.html' && logo ? ' (logo.png を表示)' : ''}`);
      console.log(`言語 ${languages.codes.length} 件: ${languages.codes.map((c) => `${c} (${languages.name(c)})`).join('、')}`);
      const lacking = languages.codes
        .map((c) => ({ code: c, n: languages.missing(c).filter((k) => k.startsWith(PRE_ENTRY_PREFIX)).length }))
        .filter((l) => l.n > 0);
      if (lacking.length)
        console.log(
          `訳のない文 (ページでは日本語で表示されます): ${lacking.map((l) => `${l.code} ${l.n} 件`).join('、')}。` +
            '一覧は madoguchi languages check で見られます',
        );
      else console.log('すべての言語に、事前入力のページの文がそろっています');
    });
}
