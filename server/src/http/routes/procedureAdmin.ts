import { todayInJapan } from '../../domain/dates.js';
import type { ProcedureStore } from '../../procedures/config.js';
import { htmlPage, type RouteKit } from '../kit.js';
import { procedureCatalogView, type CatalogPreview } from '../views/procedures.js';

/** The catalog as loaded now (reloaded first if the files changed), with what is valid today. */
function catalogPreview(store: ProcedureStore, today: string): CatalogPreview {
  store.reloadIfChanged();
  const catalog = store.current();
  return {
    all: catalog.all,
    loadedAt: catalog.loadedAt,
    validToday: new Set(catalog.validOn(today).map((p) => p.id)),
    error: store.lastError,
  };
}

/**
 * Preview of the procedure catalog (P-49): what is loaded now, which definitions are valid today,
 * and the last error of an edit (the server keeps the last good set until the files are fixed).
 */
export function registerProcedureAdmin({ route, render }: RouteKit, store: ProcedureStore): void {
  route(
    {
      method: 'GET',
      path: '/admin/procedures',
      access: { permission: 'admin.procedures' },
      summary: '手続きの設定 (読み込んだ定義・今日有効なもの・設定ファイルのエラー)',
      response: htmlPage,
    },
    async (ctx) => {
      const v = procedureCatalogView(catalogPreview(store, todayInJapan()));
      render(ctx, v.title, v.body);
    },
  );
}
