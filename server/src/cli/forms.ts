import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../config/yamlFile.js';
import { common } from './common.js';

/** The printing modules, loaded when a forms command runs rather than when the CLI starts. */
async function printing() {
  const [{ FontSet }, preview, { FormRenderError }] = await Promise.all([
    import('../printing/fonts.js'),
    import('../printing/preview.js'),
    import('../printing/render.js'),
  ]);
  return { FontSet, FormRenderError, ...preview };
}

/** `madoguchi forms check|preview`. */
export function addFormsCommands(program: Command): void {
  const forms = program.command('forms').description('様式テンプレート (<config>/forms/*.yaml) の検査と、サンプルデータでのプレビュー');
  forms
    .command('check')
    .description('すべての様式を検査し、サンプルデータで印字してみる。エラーは ファイル:行 で表示 (終了コード 2)')
    .action(async (_o, cmd: Command) => {
      const o = common(cmd);
      const { checkForms, FontSet } = await printing();
      const r = await checkForms(o.config, FontSet.load());
      for (const t of r.templates) console.log(`${t.id}\t${t.title}\t${t.pages.length} 枚\t${t.file}`);
      if (r.problems.length) {
        for (const p of r.problems) console.error(p);
        console.error(`様式にエラーが ${r.problems.length} 件あります。直してから、もう一度 madoguchi forms check を実行してください`);
        process.exitCode = 2;
      } else console.log(`様式 ${r.templates.length} 件: エラーはありません`);
    });
  forms
    .command('preview')
    .description('様式をサンプルデータ (4 人世帯) で PDF に印字する。--grid で方眼を重ねる')
    .argument('<name>', '様式 ID (YAML ファイルの id: の行)')
    .option('--grid', '様式の下に方眼を描く (5 mm ごとに線、10 mm ごとに数字)', false)
    .option('--out <file>', '出力する PDF (既定: <data-dir>/preview-<name>.pdf)')
    .action(async (name: string, opts: { grid: boolean; out?: string }, cmd: Command) => {
      const o = common(cmd);
      const { findTemplate, templateIds, renderPreview, FontSet, FormRenderError, where } = await printing();
      let template;
      try {
        template = findTemplate(o.config, name);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        console.error(`様式「${name}」のファイルにエラーがあります:\n${e.message}`);
        process.exitCode = 2;
        return;
      }
      if (!template) {
        const ids = templateIds(o.config);
        console.error(`様式「${name}」はありません (${path.join(o.config, 'forms')})。あるもの: ${ids.length ? ids.join(', ') : 'なし'}`);
        process.exitCode = 2;
        return;
      }
      let pdf: Buffer;
      try {
        pdf = await renderPreview(FontSet.load(), template, { grid: opts.grid });
      } catch (e) {
        if (!(e instanceof FormRenderError)) throw e;
        console.error(`${where(template.file, e.field)}: ${e.message}`);
        process.exitCode = 2;
        return;
      }
      const out = path.resolve(opts.out ?? path.join(o.dataDir, `preview-${name}.pdf`));
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, pdf);
      console.log(out);
    });
}
