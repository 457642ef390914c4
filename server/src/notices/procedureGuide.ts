import type { Knex } from 'knex';
import type { ProcedureDefinition } from '../domain/procedureTypes.js';
import { getVisit } from '../visits/visits.js';
import { procedureStatusLabels, visitProcedures } from './visitProcedures.js';

export interface GuideItem {
  name: string;
  section: string;
  counter: string;
  /** 済 when accepted here, otherwise what is left to do and where. */
  done: boolean;
  status: string;
  guidance: string;
  bring: string[];
  deadline: string | null;
}

export interface ProcedureGuide {
  visitNo: string;
  openedAt: Date;
  items: GuideItem[];
}

/**
 * The content of the procedure guide (手続き案内書, H-30) for a visit: each procedure still on the
 * list with what it is, where (section and counter number), what to bring, and whether it is done.
 * Rendering is the printing module's job; this only gathers, in list order, done ones last.
 */
export async function procedureGuide(
  db: Knex,
  visitId: number,
  byId: (id: string) => ProcedureDefinition | undefined,
  counters: readonly { id: string; name: string; section: string }[],
): Promise<ProcedureGuide | null> {
  const visit = await getVisit(db, visitId);
  if (!visit) return null;
  const rows = (await visitProcedures(db, visitId)).filter((r) => !r.removed);
  const items = rows.map((r): GuideItem => {
    const def = byId(r.procedureId);
    const counter = counters.find((c) => c.id === def?.counter);
    return {
      name: def?.name ?? r.procedureId,
      section: def?.section ?? '',
      counter: counter ? counter.name : (def?.counter ?? ''),
      done: r.status === 'accepted',
      status: procedureStatusLabels[r.status],
      guidance: def?.guidance ?? '',
      bring: def?.bring ?? [],
      deadline: r.deadline,
    };
  });
  items.sort((a, b) => Number(a.done) - Number(b.done));
  return { visitNo: visit.visitNo, openedAt: visit.openedAt, items };
}
