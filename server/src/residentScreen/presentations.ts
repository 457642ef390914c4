import { randomBytes } from 'node:crypto';
import type { StaffSession } from '../auth/sessions.js';
import type { NoticeData } from '../domain/noticeValidation.js';
import type { Languages } from '../i18n/languages.js';
import type { Notice } from '../notices/queries.js';
import { presentNotice } from '../residents/present.js';
import { AddressPresenter, canSeeProtected, PROTECTED_ADDRESS_PERMISSION, type Protection } from '../residents/protection.js';
import { MASKED_ADDRESS } from '../residents/warnings.js';
import type { Visit } from '../visits/queries.js';

/**
 * What the clerk sends to the counter's resident screen, in memory: one presentation per counter.
 * The screen shows only the current presentation of its own counter and nothing once the clerk
 * closes it (or it expires); a new one replaces the old. The view is built once, when sent, with
 * the resident as the viewer (see `residentViewOf`): the screen never reads the register itself.
 */

/** A presentation left open is closed after this time (a clerk who walked away). */
export const PRESENTATION_TTL_MS = 20 * 60_000;

export interface ResidentField {
  label: string;
  value: string;
  masked?: boolean;
}

export interface ResidentPerson {
  name: string;
  kana: string | null;
  birthDate: string;
  sex: string;
  relationship: string;
}

/** The screen's fixed texts in the resident's language (config/languages, resident.*). */
export interface ResidentTexts {
  confirmQuestion: string;
  confirmed: string;
  signPrompt: string;
  redo: string;
  signDone: string;
  thanks: string;
  waiting: string;
  name: string;
  birthDate: string;
  sex: string;
  relationship: string;
}

/** The notice as the resident sees it: large type, ふりがな, each field to check, in their language. */
export interface ResidentView {
  lang: string;
  title: string;
  fields: ResidentField[];
  persons: ResidentPerson[];
  texts: ResidentTexts;
}

export interface Presentation {
  id: string;
  counterId: string;
  visitId: number;
  noticeId: number;
  sentBy: string;
  /** The member of staff who sent it (records the signature taken on the screen). */
  sentByStaff: number;
  sentAt: number;
  view: ResidentView;
  confirmedAt: number | null;
  signedAt: number | null;
}

const FIELD_ORDER: (keyof NoticeData)[] = [
  'previousAddress',
  'newAddress',
  'nextAddress',
  'country',
  'plannedMoveDate',
  'honseki',
  'hittousha',
];
/** Labels of the fields: the language's `resident.field.*` where there is one, else Japanese. */
const TRANSLATED_LABELS: Partial<Record<keyof NoticeData, string>> = {
  previousAddress: 'resident.field.previousAddress',
  newAddress: 'resident.field.newAddress',
};
const LABELS: Partial<Record<keyof NoticeData, string>> = {
  nextAddress: '転出先の住所',
  country: '転出先の国',
  plannedMoveDate: '転出予定日',
  honseki: '本籍',
  hittousha: '筆頭者',
};
const ADDRESS_FIELDS = new Set<keyof NoticeData>(['previousAddress', 'newAddress', 'nextAddress']);

/**
 * The notice for the resident screen. A protected address is shown only to the protected person
 * themself: when the visitor is that person (本人, in the register, under a support measure) and the
 * clerk who sends it may see it too. Everyone else facing the screen sees the mask.
 */
export function residentViewOf(
  notice: Notice,
  visit: Visit,
  decide: Protection,
  sender: Pick<StaffSession, 'permissions'>,
  languages: Languages,
  lang: string,
): ResidentView {
  const t = (key: string) => languages.t(lang, key);
  const date = (iso: string) => languages.formatDate(lang, iso);
  const visitorIsProtected =
    visit.visitorRole === 'subject' && visit.visitorAddresseeNo !== null && decide.person(visit.visitorAddresseeNo).protected;
  const resident = { permissions: new Set(visitorIsProtected && canSeeProtected(sender) ? [PROTECTED_ADDRESS_PERMISSION] : []) };
  const shown = presentNotice(new AddressPresenter(resident, decide), notice);
  const fields: ResidentField[] = [];
  if (notice.effectiveDate)
    fields.push({
      label: notice.type === 'birth' ? '生まれた日' : notice.type === 'death' ? '亡くなった日' : t('resident.field.effectiveDate'),
      value: date(notice.effectiveDate),
    });
  for (const f of FIELD_ORDER) {
    const v = shown.data[f];
    if (v === undefined || v === null || v === '') continue;
    const masked = ADDRESS_FIELDS.has(f) && v === MASKED_ADDRESS;
    const key = TRANSLATED_LABELS[f];
    const label = key ? t(key) : LABELS[f]!;
    fields.push({ label, value: f === 'plannedMoveDate' ? date(String(v)) : String(v), ...(masked ? { masked } : {}) });
  }
  return {
    lang,
    title: t(`resident.noticeType.${notice.type}`),
    fields,
    persons: notice.members
      .filter((m) => m.moving)
      .map((m) => ({
        name: m.name,
        kana: m.nameKana,
        birthDate: m.birthDate ? date(m.birthDate) : '',
        sex: m.sex === '1' ? t('resident.sex.male') : m.sex === '2' ? t('resident.sex.female') : '',
        relationship: m.relationship ?? '',
      })),
    texts: {
      confirmQuestion: t('resident.confirmQuestion'),
      confirmed: t('resident.confirmed'),
      signPrompt: t('resident.signPrompt'),
      redo: t('resident.redo'),
      signDone: t('resident.signDone'),
      thanks: t('resident.thanks'),
      waiting: t('resident.waiting'),
      name: t('resident.field.name'),
      birthDate: t('resident.field.birthDate'),
      sex: t('resident.field.sex'),
      relationship: t('resident.field.relationship'),
    },
  };
}

export class ResidentPresentations {
  private readonly byCounter = new Map<string, Presentation>();
  constructor(private readonly now: () => number = Date.now) {}

  send(p: Omit<Presentation, 'id' | 'sentAt' | 'confirmedAt' | 'signedAt'>): Presentation {
    const presentation: Presentation = {
      ...p,
      id: randomBytes(12).toString('base64url'),
      sentAt: this.now(),
      confirmedAt: null,
      signedAt: null,
    };
    this.byCounter.set(p.counterId, presentation);
    return presentation;
  }

  /** The counter's presentation, while it is open. */
  current(counterId: string): Presentation | null {
    const p = this.byCounter.get(counterId);
    if (p && this.now() - p.sentAt > PRESENTATION_TTL_MS) this.byCounter.delete(counterId);
    return this.byCounter.get(counterId) ?? null;
  }

  close(counterId: string): boolean {
    return this.byCounter.delete(counterId);
  }
}
