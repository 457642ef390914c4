import type { Knex } from 'knex';
import type { AddressMasterRow } from '../db/tables.generated.js';
import { addressKey, kanaExactKey, kanaPrefixRange } from '../domain/searchKeys.js';
import { stripOwnMunicipality } from './service.js';

export interface TownChoice {
  townCode: string;
  townName: string;
  townKana: string | null;
  postalCode: string | null;
}

export interface AddressChoice {
  townCode: string;
  townName: string;
  blockNumber: string;
  addressSuffix: string;
  postalCode: string | null;
}

const likePrefix = (s: string) => `${s.replace(/[\\%_]/g, '')}%`; // LIKE wildcards typed by staff are dropped, not escaped

/**
 * 町字 for type-ahead (O-45): by the start of the name (緑, 緑ケ丘) or of its reading in kana
 * (みどり, ミドリ). From the address master (住所関連マスタ), so only real 町字 of the town.
 */
export async function townsStartingWith(knex: Knex, typed: string, limit = 20): Promise<TownChoice[]> {
  const q = typed.trim().normalize('NFKC');
  const kana = kanaExactKey(q);
  const rows = await knex('address_master')
    .distinct('town_code', 'town_name', 'town_kana', 'postal_code')
    .where((w) => {
      w.where('town_name', 'like', likePrefix(q));
      // Katakana readings in the master; what staff type may be hiragana or half-width.
      if (kana) w.orWhere('town_kana', 'like', likePrefix(toKatakana(kana)));
    })
    .orderBy('town_code')
    .limit(limit);
  return rows.map((r) => ({ townCode: r.town_code, townName: r.town_name, townKana: r.town_kana, postalCode: r.postal_code }));
}

function toKatakana(hiragana: string): string {
  return hiragana.replace(/[\u3041-\u3096]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));
}

/** 番地 (and 方書) of one 町字 starting with what was typed. */
export async function blocksOf(knex: Knex, townCode: string, typed: string, limit = 30): Promise<AddressChoice[]> {
  const rows = await knex('address_master')
    .where({ town_code: townCode })
    .andWhere('block_number', 'like', likePrefix(typed.trim().normalize('NFKC')))
    .orderBy('id')
    .limit(limit);
  return rows.map(choice);
}

function choice(r: AddressMasterRow): AddressChoice {
  return {
    townCode: r.town_code,
    townName: r.town_name,
    blockNumber: r.block_number,
    addressSuffix: r.address_suffix,
    postalCode: r.postal_code,
  };
}

/**
 * Free input matched against the master after normalization (「緑ヶ丘二丁目3番地の4」 =
 * 「緑ケ丘２－３－４」). The prefecture and city may be typed or left out.
 */
export async function matchAddress(
  knex: Knex,
  typed: string,
  municipality: { prefecture: string; county?: string | null; name: string },
  limit = 10,
): Promise<AddressChoice[]> {
  const key = addressKey(stripOwnMunicipality(typed, municipality));
  if (!key) return [];
  const exact = await knex('address_master').where({ address_key: key }).limit(limit);
  if (exact.length) return exact.map(choice);
  const [lo, hi] = kanaPrefixRange(key);
  const near = await knex('address_master')
    .where('address_key', '>=', lo)
    .andWhere('address_key', '<', hi)
    .orderBy('address_key')
    .limit(limit);
  return near.map(choice);
}

/** Notice types whose 新しい住所 is in the town (and so must be in the address master). */
export const IN_TOWN_NEW_ADDRESS = ['moveIn', 'specialMoveIn', 'relocation', 'householdSplit'] as const;

/**
 * Why an address typed for this town is not one of its addresses, or null when it is: the 町字
 * and 番地 must be a row of the address master (住所関連マスタ); a 方書 after them is free
 * (「緑ケ丘二丁目3番地4 サニーハイツ101」). A 番地 that goes on with a digit (本町1-1 of 本町1-1-10)
 * is not a match. Without a master (none received yet) nothing can be checked: null, and the
 * linkage page shows the feed as missing.
 */
export async function inTownAddressProblem(
  knex: Knex,
  typed: string,
  municipality: { prefecture: string; county?: string | null; name: string },
  /** False when the address is protected: candidates near it would tell where it is. */
  showCandidates = true,
): Promise<string | null> {
  const key = addressKey(stripOwnMunicipality(typed, municipality));
  if (!key) return '住所を入力してください';
  if (!(await knex('address_master').first('address_key'))) return null;
  const prefixes = Array.from({ length: Math.min(key.length, 120) }, (_, i) => key.slice(0, i + 1));
  const found = (await knex('address_master').whereIn('address_key', prefixes).distinct().pluck('address_key')) as string[];
  if (found.some((k) => !/[0-9]/.test(key[k.length] ?? ''))) return null;
  if (!showCandidates) return '住所マスタにない住所です。支援措置の対象に関わる届出のため候補は出しません。支援措置担当に確認してください';
  const near = await matchAddress(knex, typed, municipality, 3);
  return (
    '住所マスタにない住所です。町字と番地 (丁目・番・号) を確かめてください' +
    (near.length ? ` (候補: ${near.map((c) => `${c.townName}${c.blockNumber}`).join('、')})` : '')
  );
}
