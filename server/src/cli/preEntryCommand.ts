import path from 'node:path';
import type { Command } from 'commander';
import { common } from './common.js';

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
    .action(async (dir: string, _opts: object, cmd: Command) => {
      const o = common(cmd);
      // The page's modules are loaded here, not when the CLI starts.
      const { publishPreEntry } = await import('./preEntry.js');
      const { PRE_ENTRY_PREFIX } = await import('../i18n/preEntryStrings.js');
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
