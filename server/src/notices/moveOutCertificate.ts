import { parseRegisterDate } from '../domain/dates.js';
import type { NoticeData, NoticeMemberInput } from '../domain/noticeValidation.js';
import { csvRecordsOf, CsvSyntaxError, decodeText, TextEncodingError } from '../text/index.js';

/**
 * 転出証明書情報 as a CSV file (what the 住基ネット CS or the certificate's QR code gives; 住記
 * standard j1430). The official layout is not public: these column names follow the statutory
 * content of a 転出証明書 (住民基本台帳法施行令第23条) and are PROVISIONAL (docs/data-dictionary.md).
 * One row per person; the 個人番号 column, when present, is read past and never kept.
 */
export const MOVE_OUT_CERTIFICATE_COLUMNS = [
  '住民票コード',
  '個人番号',
  '氏名',
  '氏名_フリガナ',
  '生年月日',
  '性別',
  '世帯主氏名',
  '続柄表記',
  '転出前住所_都道府県',
  '転出前住所_市区郡町村名',
  '転出前住所_町字',
  '転出前住所_番地号表記',
  '転出前住所_方書',
  '転出先住所_町字',
  '転出先住所_番地号表記',
  '転出先住所_方書',
  '転出予定年月日',
  '異動年月日',
  '送信元市区町村コード',
  // 戸籍の表示 (令第23条): on the certificate of a Japanese national, absent for a foreign resident.
  '本籍',
  '筆頭者氏名',
] as const;

const REQUIRED = [
  '氏名',
  '生年月日',
  '性別',
  '転出前住所_都道府県',
  '転出前住所_市区郡町村名',
  '転出予定年月日',
  '送信元市区町村コード',
] as const;

export interface MoveOutCertificateData {
  data: NoticeData;
  members: NoticeMemberInput[];
  effectiveDate: string | null;
}

export class MoveOutCertificateError extends Error {
  readonly status = 400;
  readonly expose = true;
}

/** Persons one file may hold (one household moving together); a file with more is refused. */
export const MAX_MOVE_OUT_PERSONS = 50;
/** Bytes of one 転出証明書情報 file (the upload is refused with 413 above this; see http/rawBody.ts). */
export const MAX_MOVE_OUT_CERTIFICATE_BYTES = 256 * 1024;
/** Longest value of one cell (a name or an address line is far shorter). */
const MAX_CELL = 200;

/**
 * Reads the file (UTF-8 or CP932, see text/); errors name the line and the column in Japanese.
 * Bounded: records are read one at a time and reading stops after MAX_MOVE_OUT_PERSONS persons.
 */
export function parseMoveOutCertificateData(bytes: Buffer): MoveOutCertificateData {
  const rows: string[][] = [];
  try {
    const text = decodeText(bytes).text;
    for (const record of csvRecordsOf(text)) {
      const cells = record.fields;
      if (rows.length && cells.length !== rows[0]!.length)
        throw new MoveOutCertificateError(`${record.line} 行目: 項目の数 (${cells.length}) が見出し (${rows[0]!.length}) と違います`);
      if (cells.some((c) => c.length > MAX_CELL))
        throw new MoveOutCertificateError(`${record.line} 行目: ${MAX_CELL} 文字を超える項目があります`);
      if (rows.length > MAX_MOVE_OUT_PERSONS)
        throw new MoveOutCertificateError(`転出証明書情報の人数が多すぎます (1 ファイル ${MAX_MOVE_OUT_PERSONS} 人まで)`);
      rows.push(cells);
    }
  } catch (e) {
    if (e instanceof MoveOutCertificateError) throw e;
    if (e instanceof TextEncodingError) throw new MoveOutCertificateError(`転出証明書情報の文字コードを読めません: ${e.message}`);
    if (e instanceof CsvSyntaxError) throw new MoveOutCertificateError(`転出証明書情報の CSV として読めません: ${e.message}`);
    throw e;
  }
  const [header, ...body] = rows;
  if (!header || !body.length)
    throw new MoveOutCertificateError('転出証明書情報に人のデータがありません (1 行目は見出し、2 行目から 1 人 1 行)');
  const names = header.map((h) => h.trim().normalize('NFKC'));
  const unknown = names.filter((n) => !(MOVE_OUT_CERTIFICATE_COLUMNS as readonly string[]).includes(n));
  if (unknown.length)
    throw new MoveOutCertificateError(`1 行目: 知らない列があります: ${unknown.join('、')} (暫定の列名は docs/data-dictionary.md)`);
  for (const r of REQUIRED) if (!names.includes(r)) throw new MoveOutCertificateError(`1 行目: 列「${r}」がありません`);
  const at = (row: string[], col: string) => (row[names.indexOf(col)] ?? '').trim();
  const dateAt = (row: string[], col: string, line: number): string | null => {
    const raw = at(row, col);
    if (!raw) return null;
    const d = parseRegisterDate(raw);
    if (!d) throw new MoveOutCertificateError(`${line} 行目 列「${col}」: 日付として読めません (YYYY-MM-DD または YYYYMMDD)`);
    return d;
  };
  const members = body.map((row, i): NoticeMemberInput => {
    const line = i + 2;
    const sex = at(row, '性別');
    if (sex !== '1' && sex !== '2') throw new MoveOutCertificateError(`${line} 行目 列「性別」: 1 (男) か 2 (女) ではありません`);
    const name = at(row, '氏名');
    if (!name) throw new MoveOutCertificateError(`${line} 行目 列「氏名」: 空です`);
    return {
      addresseeNo: null,
      name,
      nameKana: at(row, '氏名_フリガナ') || null,
      birthDate: dateAt(row, '生年月日', line),
      sex,
      relationship: at(row, '続柄表記') || null,
      moving: true,
      head: name === at(row, '世帯主氏名'),
      event: false,
    };
  });
  const first = body[0]!;
  const previous =
    ['転出前住所_都道府県', '転出前住所_市区郡町村名', '転出前住所_町字', '転出前住所_番地号表記'].map((c) => at(first, c)).join('') +
    (at(first, '転出前住所_方書') ? ` ${at(first, '転出前住所_方書')}` : '');
  const next =
    at(first, '転出先住所_町字') +
    at(first, '転出先住所_番地号表記') +
    (at(first, '転出先住所_方書') ? ` ${at(first, '転出先住所_方書')}` : '');
  const planned = dateAt(first, '転出予定年月日', 2);
  const ref = `${at(first, '送信元市区町村コード')}-${at(first, '住民票コード') || 'x'}`;
  return {
    data: {
      previousAddress: previous,
      ...(next ? { newAddress: next } : {}),
      ...(planned ? { plannedMoveDate: planned } : {}),
      certificateRef: ref,
      ...(at(first, '本籍') ? { honseki: at(first, '本籍') } : {}),
      ...(at(first, '筆頭者氏名') ? { hittousha: at(first, '筆頭者氏名') } : {}),
    },
    members,
    effectiveDate: dateAt(first, '異動年月日', 2),
  };
}
