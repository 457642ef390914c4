import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { touchVisit } from '../visit.js';

export interface VisitorFields {
  visitorRole: 'subject' | 'proxy' | 'household';
  identityDocument: string | null;
  identityDocumentNote: string | null;
  visitorAddresseeNo: string | null;
  visitorName: string | null;
  visitorKana: string | null;
  visitorBirthDate: string | null;
  visitorSex: string | null;
  visitorAddress: string | null;
  visitorPhone: string | null;
  proxyRelationship: string | null;
  proxyPowerOfAttorney: boolean;
  proxyDocument: string | null;
  /** The card whose IC the identity document was read from (「ICカード読取」), or null when typed. */
  identityCard: string | null;
}

/** Where each field is kept on the visit row. */
const COLUMN: Record<keyof VisitorFields, string> = {
  visitorRole: 'visitor_role',
  identityDocument: 'identity_document',
  identityDocumentNote: 'identity_document_note',
  visitorAddresseeNo: 'visitor_addressee_no',
  visitorName: 'visitor_name',
  visitorKana: 'visitor_kana',
  visitorBirthDate: 'visitor_birth_date',
  visitorSex: 'visitor_sex',
  visitorAddress: 'visitor_address',
  visitorPhone: 'visitor_phone',
  proxyRelationship: 'proxy_relationship',
  proxyPowerOfAttorney: 'proxy_power_of_attorney',
  proxyDocument: 'proxy_document',
  identityCard: 'identity_card',
};

/** Saves the identity check and the visitor's data as checked or corrected on screen (C-10..12). */
export async function saveVisitor(
  knex: Knex,
  id: number,
  staffId: number,
  fields: VisitorFields,
  actor: AuditActor,
  now = new Date(),
): Promise<void> {
  await knex.transaction(async (trx) => {
    const values: Record<string, unknown> = {};
    for (const [k, col] of Object.entries(COLUMN)) values[col] = fields[k as keyof VisitorFields];
    values.identity_checked_at = fields.identityDocument ? now : null;
    await touchVisit(trx, id, staffId, now, values);
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'visit.identity',
        targetKind: 'visit',
        targetIds: [String(id), ...(fields.visitorAddresseeNo ? [fields.visitorAddresseeNo] : [])],
        result: 'success',
        detail: {
          document: fields.identityDocument,
          role: fields.visitorRole,
          ...(fields.identityCard ? { card: fields.identityCard } : {}),
        },
      },
      now,
    );
  });
}
