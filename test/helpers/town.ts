import path from 'node:path';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { generateTown, type GenerateSummary } from '../../server/src/demo/generator.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { configDir } from './paths.js';

export const AS_OF = '2026-11-01';

/** Writes a demo town with the shipped configuration and layouts. */
export async function makeTown(
  outDir: string,
  people: number,
  encoding: 'utf8' | 'cp932',
  seed = 'test',
  diff = false,
): Promise<GenerateSummary> {
  const config = loadAppConfig(configDir);
  return generateTown({
    people,
    outDir,
    encoding,
    seed,
    asOf: AS_OF,
    diff,
    municipality: config.municipality,
    layouts: LayoutRegistry.load(configDir),
  });
}

export function specFile(summary: GenerateSummary, specId: string): string {
  const f = summary.files.find((x) => path.basename(path.dirname(x)) === specId && !x.includes(`${path.sep}diff${path.sep}`));
  if (!f) throw new Error(`no file for ${specId}`);
  return f;
}
