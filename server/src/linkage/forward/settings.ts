import { existsSync } from 'node:fs';
import path from 'node:path';
import type { AppConfig } from '../../config/appConfig.js';
import { ConfigError } from '../../config/yamlFile.js';
import type { ApplyOptions } from './apply.js';
import { GaijiMap } from './gaiji.js';
import type { LayoutRegistry } from './layouts.js';

/** The municipality's 同定マップ from config (relative to the config folder), if one is set. */
export function configuredGaijiMap(config: AppConfig, configDir: string): string | undefined {
  return config.linkage.gaijiMap ? path.resolve(configDir, config.linkage.gaijiMap) : undefined;
}

export function loadGaijiMap(file: string | undefined): GaijiMap {
  if (!file) return new GaijiMap();
  if (!existsSync(file))
    throw new ConfigError([{ file, path: 'linkage.gaijiMap', line: 0, column: 0, reason: '同定マップのファイルがありません' }]);
  return GaijiMap.load(file);
}

/** Apply options from the configuration: encodings per spec, CP932 mapping, thresholds. */
export function applyOptionsFrom(config: AppConfig, gaiji: GaijiMap): ApplyOptions {
  const l = config.linkage;
  return {
    encoding: (specId) => l.specs[specId]?.encoding ?? l.encoding,
    cp932Mapping: l.cp932Mapping,
    threshold: l.rejectThreshold,
    shrinkGuard: l.shrinkGuard,
    ...(config.addresseeNo.digits !== undefined ? { addresseeNoDigits: config.addresseeNo.digits } : {}),
    gaiji,
  };
}

/** Every configured drop folder needs a layout; reported against municipality.yaml. */
export function checkSpecsHaveLayouts(config: AppConfig, registry: LayoutRegistry, configDir: string): void {
  const known = new Set(registry.specIds());
  const missing = Object.keys(config.linkage.specs).filter((id) => !known.has(id));
  if (missing.length) {
    throw new ConfigError(
      missing.map((id) => ({
        file: path.join(configDir, 'municipality.yaml'),
        path: `linkage.specs.${id}`,
        line: 0,
        column: 0,
        reason: `連携仕様 ${id} のレイアウトが config/layouts にありません`,
      })),
    );
  }
}
