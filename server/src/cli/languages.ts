import path from 'node:path';
import type { Command } from 'commander';
import { loadAppConfig } from '../config/appConfig.js';
import type { FontSet } from '../printing/fonts.js';
import { loadProcedures } from '../procedures/config.js';
import { LANGUAGES_DIR, loadLanguages } from '../i18n/languages.js';
import { common } from './common.js';

/** `madoguchi languages check`. */
export function addLanguageCommands(program: Command): void {
  program
    .command('languages')
    .description('住民向けの言語ファイル (<config>/languages/*.yaml: 手続きのご案内・住民向け画面・事前入力) の検査')
    .command('check')
    .description(
      '言語ごとに訳のない項目 (日本語で表示・印刷されます) を一覧にし、案内書の文字がすべてフォントにあるかを調べる。' +
        '訳のない項目があっても終了コード 0、ファイルのエラーやフォントにない文字があれば 1',
    )
    .option('--summary', '件数だけを表示する (項目の一覧を出さない)', false)
    .action(async (opts: { summary: boolean }, cmd: Command) => {
      // The PDF and font modules are loaded here, not when the CLI starts.
      const { guideOfAllProcedures, guideParagraphs, guideTexts } = await import('../i18n/guidePdf.js');
      const { guideFontsFor } = await import('../i18n/guideFonts.js');
      const { FontSet } = await import('../printing/fonts.js');
      const o = common(cmd);
      const config = loadAppConfig(o.config);
      const catalog = loadProcedures(o.config, config.counters);
      // A ConfigError goes up to main: 「設定ファイルのエラー」 with file:line, exit code 1.
      const languages = loadLanguages(o.config, catalog.all);
      const town = `${config.municipality.county ?? ''}${config.municipality.name}`;
      const guide = guideOfAllProcedures(catalog.all, config.counters);
      let fonts: FontSet | null = null;
      let failed = false;

      console.log(`言語 ${languages.codes.length} 件 (${path.join(o.config, LANGUAGES_DIR)})`);
      for (const code of languages.codes) {
        const missing = languages.missing(code);
        const unused = languages.unused(code);
        console.log(
          `${code}\t${languages.name(code)}\t訳のない項目 ${missing.length} 件${missing.length ? ' (日本語で表示・印刷されます)' : ''}` +
            (unused.length ? `\t使われていないキー ${unused.length} 件` : ''),
        );
        if (!opts.summary) {
          for (const k of missing) console.log(`  ${k}`);
          for (const k of unused) console.log(`  使われていない: ${k} (ja.yaml にないキー、または config/procedures にない手続き)`);
        }
        // Every procedure on one guide: what any visit's guide in this language could print.
        try {
          fonts ??= FontSet.load(config.printing.fonts);
          const gf = guideFontsFor(languages.info(code), fonts);
          const glyphs = gf.missingGlyphs(guideTexts(guideParagraphs(code, guide, town, languages)));
          for (const g of glyphs) {
            console.error(
              `${code}: 案内書の ${g.field}: 文字「${g.char}」(${g.codePoint}) がフォント ${g.font} にありません (文: ${g.text})`,
            );
          }
          if (glyphs.length) failed = true;
        } catch (e) {
          console.error(`${code}: ${(e as Error).message}`);
          failed = true;
        }
      }
      if (failed) {
        console.error('案内書を印刷できない言語があります。訳の文字を直すか、フォントのパッケージを入れてください');
        process.exitCode = 1;
      } else console.log('案内書の文字: すべての言語でフォントにあります');
    });
}
