import type { Knex } from 'knex';
import { japanWarekiTime } from '../domain/japanTime.js';
import { signatureMethodLabels, signatureOf } from '../residentScreen/signatures.js';
import type { NoticeMemberInput } from '../domain/noticeValidation.js';
import type { NoticeType } from '../domain/procedureTypes.js';
import { schoolGrade, schoolStage } from '../domain/schoolAge.js';
import type { Notice } from '../notices/notices.js';
import { noticeMemberKey } from '../notices/visitProcedures.js';
import { noticeSubjectOf, registeredAddress, type PresentableRow } from '../residents/present.js';
import { anyOf, NOT_PROTECTED, type AddressPresenter, type PlacedRow } from '../residents/protection.js';
import { MASKED_ADDRESS } from '../residents/warnings.js';
import { visitorRoles } from '../visits/identity.js';
import type { Visit } from '../visits/visits.js';
import type { FormData, FormToRender, PersonData } from './render.js';
import type { FormTemplate } from './template.js';

/**
 * What the forms of a visit are filled with: the one place that turns a notice, the visit's
 * identity check and the answers into form data. Every address on it goes through the presenter
 * with one decision for the whole form (the notice's members, household and typed addresses, and
 * the visit's subjects and visitor): when any of them is protected, every address of the form is
 * masked for a viewer without the right.
 */

/** The town, as the start of an in-town address (都道府県・郡・町). */
export interface Town {
  prefecture?: string | undefined;
  county?: string | null | undefined;
  name: string;
}

/** The 住民異動届's 異動の種別 check boxes. */
const KIND: Partial<Record<NoticeType, string>> = {
  moveIn: 'movein',
  specialMoveIn: 'movein',
  moveOut: 'moveout',
  specialMoveOut: 'moveout',
  moveAbroad: 'moveout',
  relocation: 'within',
  headChange: 'household',
  householdSplit: 'household',
  householdMerge: 'household',
  householdRestructure: 'household',
};

const PREFECTURE = /^(東京都|北海道|京都府|大阪府|[^\s都道府県]{2,3}県)/;

/**
 * An address of this town as printed: 都道府県, 郡 and 町 in front of what was typed (staff type
 * 「緑ケ丘二丁目3番地4」 or 「まどぐち町緑ケ丘…」). An address that already starts with a
 * prefecture is left as it is.
 */
export function inTownAddress(town: Town, text: string | null | undefined): string {
  const t = (text ?? '').trim();
  if (!t) return '';
  if (PREFECTURE.test(t)) return t;
  const pref = town.prefecture ?? '';
  const county = town.county ?? '';
  if (county && t.startsWith(county)) return `${pref}${t}`;
  if (t.startsWith(town.name)) return `${pref}${county}${t}`;
  return `${pref}${county}${town.name}${t}`;
}

/** The members of a notice a procedure concerns (its navigation keys), in notice order; null: the movers. */
export function membersFor(n: Notice, keys: readonly string[] | null): NoticeMemberInput[] {
  if (keys === null) {
    const moving = n.members.filter((m) => m.moving);
    return moving.length ? moving : n.members;
  }
  const wanted = new Set(keys);
  return n.members.filter((m, i) => wanted.has(noticeMemberKey(m, i)));
}

const person = (m: NoticeMemberInput, address: string, phone: string | null): PersonData => ({
  name: m.name,
  kana: m.nameKana ?? '',
  birthDate: m.birthDate ?? '',
  sex: m.sex ?? '',
  relationship: m.relationship ?? '',
  address,
  ...(phone ? { phone } : {}),
});

/**
 * The address the household lives at after the notice: the typed new address, else the register's
 * (a current resident of the household, or of the notice's members), with the register row so that
 * the protection decision judges that row too.
 */
async function householdAddress(db: Knex, n: Notice): Promise<{ text: string | null; row?: PlacedRow }> {
  const typed = n.data.newAddress;
  if (typed) return { text: typed };
  const nos = n.members.flatMap((m) => (m.addresseeNo ? [m.addresseeNo] : []));
  const q = db('residents')
    .where({ resident_status: '1' })
    .select('addressee_no', 'household_no', 'address_key', 'prefecture', 'city', 'town_name', 'block_number', 'address_suffix');
  const row = (
    n.householdNo
      ? await q.where({ household_no: n.householdNo }).orderBy('addressee_no').first()
      : nos.length
        ? await q.whereIn('addressee_no', nos).orderBy('addressee_no').first()
        : undefined
  ) as (PresentableRow & PlacedRow) | undefined;
  return row ? { text: registeredAddress(row), row } : { text: null };
}

/** The head of the household: the notice's, else the register's (a 転入 into an existing household). */
async function headOf(db: Knex, n: Notice): Promise<{ name: string; kana: string }> {
  const head = n.members.find((m) => m.head);
  if (head) return { name: head.name, kana: head.nameKana ?? '' };
  const household = n.data.targetHouseholdNo ?? n.householdNo;
  if (!household) return { name: '', kana: '' };
  const row = (await db('residents')
    .where({ household_no: household, relationship_code1: '02', resident_status: '1' })
    .first('name', 'name_kana')) as { name: string; name_kana: string | null } | undefined;
  return { name: row?.name ?? '', kana: row?.name_kana ?? '' };
}

/** The form data of a notice, for the 住民異動届 or for the forms of one procedure. */
export interface NoticeFormInput {
  visit: Visit;
  notice: Notice;
  town: Town;
  answers: Record<string, unknown>;
  /** The procedure's members (navigation keys); null for the 住民異動届 (the movers). */
  memberKeys: readonly string[] | null;
}

export async function noticeFormData(db: Knex, presenter: AddressPresenter, input: NoticeFormInput): Promise<FormData> {
  const { visit: v, notice: n, town } = input;
  const household = await householdAddress(db, n);
  const d = anyOf(
    presenter.decide.notice(noticeSubjectOf(n)),
    presenter.decide.visit(v),
    household.row ? presenter.decide.row(household.row) : NOT_PROTECTED,
  );
  const targets = [String(n.id), `visit:${v.id}`, ...noticeSubjectOf(n).memberNos];
  const show = (text: string | null | undefined): string => (text ? (presenter.present(text, d, targets) as string) : '');
  const masked = d.protected && !presenter.canSee;

  const home = show(inTownAddress(town, household.text));
  // The resident's signature from the resident screen, printed in the 署名 box with how and when.
  const signature = await signatureOf(db, n.id);
  const touch = signature?.method === 'touch' && signature.image ? signature : null;
  const phone = v.visitorPhone;
  const members = membersFor(n, input.memberKeys);

  // 届出人: who came, as saved by the identity check. A member of the notice is printed with the
  // household's address; anyone else (a proxy) with the address they gave. Nothing saved: blank,
  // never a guess.
  const visitorMember = v.visitorName
    ? n.members.find(
        (m) => (v.visitorAddresseeNo && m.addresseeNo === v.visitorAddresseeNo) || (v.visitorRole !== 'proxy' && m.name === v.visitorName),
      )
    : undefined;
  const subject: PersonData = v.visitorName
    ? {
        name: v.visitorName,
        kana: v.visitorKana ?? visitorMember?.nameKana ?? '',
        birthDate: v.visitorBirthDate ?? visitorMember?.birthDate ?? '',
        sex: v.visitorSex ?? visitorMember?.sex ?? '',
        relationship: visitorMember?.relationship ?? '',
        address: visitorMember || v.visitorRole !== 'proxy' ? home : show(v.visitorAddress),
        ...(phone ? { phone } : {}),
      }
    : {};
  const role = visitorRoles[v.visitorRole] ?? '';
  const notifier = v.visitorName
    ? v.visitorRole === 'proxy'
      ? `${role} (${v.proxyRelationship ?? ''})`
      : v.visitorRole === 'household' && visitorMember?.relationship
        ? `${role} (${visitorMember.relationship})`
        : role
    : '';

  return {
    visit: { visitNo: v.visitNo, date: n.reportedDate },
    subject,
    household: {
      head: await headOf(db, n),
      address: home,
      members: members.map((m) => person(m, home, null)),
    },
    notice: {
      notifiedOn: n.reportedDate,
      movedOn: n.effectiveDate ?? '',
      newAddress: show(n.data.newAddress ? inTownAddress(town, n.data.newAddress) : (n.data.nextAddress ?? '')),
      oldAddress: show(n.data.previousAddress),
      kind: KIND[n.type] ?? '',
      certificateRef: n.data.certificateRef ?? '',
      honseki: n.data.honseki ?? '',
      hittousha: n.data.hittousha ?? '',
      notifier: notifier ? `届出人: ${notifier}` : '',
      ...(touch
        ? { signature: touch.image, signatureNote: `${signatureMethodLabels.touch} ${japanWarekiTime(touch.signedAt.toISOString())}` }
        : {}),
    },
    // What the visit already knows fills the form's own questions; an answer given at the counter wins.
    answers: { ...derivedAnswers(v, n, members), ...input.answers },
    masks: masked
      ? {
          'notice.newAddress': MASKED_ADDRESS,
          'notice.oldAddress': MASKED_ADDRESS,
          'household.address': MASKED_ADDRESS,
          'subject.address': MASKED_ADDRESS,
        }
      : {},
  };
}

/** Identity documents with a photo: a seal is registered the same day (otherwise by a letter of inquiry). */
const PHOTO_ID = new Set(['myNumberCard', 'driversLicence', 'residenceCard', 'passport']);
/** The identity check's documents as the 印鑑登録 form's check boxes name them. */
const ID_DOCUMENT: Readonly<Record<string, string>> = { myNumberCard: 'myNumberCard', driversLicence: 'license' };

/**
 * Answers a form needs that the visit already holds, so that nobody is asked them twice: from the
 * identity check (who applies, with which document, registered the same day or by inquiry) and
 * from the birth dates (the school stage and grade of the first school-age child on the move date).
 * Per-person forms replace `applicant` for the person (see `withSubject`).
 */
function derivedAnswers(v: Visit, n: Notice, members: readonly NoticeMemberInput[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // The document and the same-day registration are the person's own: a 代理人 registers by inquiry.
  if (v.visitorName) out.applicant = v.visitorRole === 'proxy' ? 'agent' : 'self';
  if (v.identityDocument && out.applicant === 'self') {
    out.idDocument = ID_DOCUMENT[v.identityDocument] ?? 'other';
    out.registration = PHOTO_ID.has(v.identityDocument) ? 'sameDay' : 'inquiry';
  } else if (out.applicant === 'agent') out.registration = 'inquiry';
  const on = n.effectiveDate ?? n.reportedDate;
  const pupil = members.find((m) => m.birthDate && ['elementary', 'juniorHigh'].includes(schoolStage(m.birthDate, on)));
  if (pupil?.birthDate) {
    const grade = schoolGrade(pupil.birthDate, on);
    out.schoolStage = schoolStage(pupil.birthDate, on);
    out.grade = String(grade <= 6 ? grade : grade - 6);
  }
  return out;
}

/** A template without a member table is a form per person: one copy for each person it concerns. */
export function formsFor(template: FormTemplate, data: FormData): FormToRender[] {
  if (template.subject === 'head') data = headAsSubject(data);
  const perHousehold = template.pages.some((p) => p.tables.some((t) => t.source === 'household.members'));
  const members = data.household?.members ?? [];
  if (perHousehold || members.length <= 1) {
    const only = members[0];
    return [{ template, data: perHousehold || !only ? data : withSubject(data, only) }];
  }
  return members.map((m) => ({ template, data: withSubject(data, m) }));
}

/** The 世帯主 as the form's subject (name from the notice or the register; the household's address; the visitor's phone). */
function headAsSubject(data: FormData): FormData {
  const head = data.household?.head;
  const phone = data.subject?.phone;
  const member = data.household?.members?.find((m) => m.name === head?.name);
  return {
    ...data,
    subject: {
      ...(member ?? {}),
      name: head?.name ?? '',
      kana: head?.kana ?? member?.kana ?? '',
      address: data.household?.address ?? '',
      ...(phone ? { phone } : {}),
    },
  };
}

/**
 * The data with this person as the form's subject (the 届出人's phone kept). When someone else came
 * (the visitor is not this person), the person applies through them: 代理人.
 */
function withSubject(data: FormData, m: PersonData): FormData {
  const phone = data.subject?.phone;
  const visitor = data.subject?.name;
  const answers = { ...(data.answers ?? {}) };
  if (visitor && answers.applicant === 'self' && visitor !== m.name) {
    // Someone else's registration: by inquiry, and the visitor's document is not this person's.
    answers.applicant = 'agent';
    answers.registration = 'inquiry';
    delete answers.idDocument;
  }
  return { ...data, subject: { ...m, ...(phone ? { phone } : {}) }, answers };
}
