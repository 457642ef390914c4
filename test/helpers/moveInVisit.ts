import type { Knex } from 'knex';
import { getAs, postForm } from './http.js';
import type { LoggedIn } from './login.js';

/** The 4-person 転入 of the forms test and the print bench: father (came, licence), mother, a 9-year-old, a grandmother of 74. */
export const MOVE_IN_FAMILY = [
  { name: '転入 太郎', kana: 'テンニュウ タロウ', birthDate: 'S61.4.1', sex: '1', relationship: '世帯主' },
  { name: '転入 花子', kana: 'テンニュウ ハナコ', birthDate: 'S63.7.7', sex: '2', relationship: '妻' },
  { name: '転入 一郎', kana: 'テンニュウ イチロウ', birthDate: 'H29.5.5', sex: '1', relationship: '子' },
  { name: '転入 ウメ', kana: 'テンニュウ ウメ', birthDate: 'S27.3.3', sex: '2', relationship: '母' },
] as const;

/**
 * Opens a visit, saves the identity check (the father, 本人), accepts the 転入 of the four with
 * 本籍・筆頭者 and the 転出証明書 number, and answers the questions the forms need. Returns the ids.
 */
export async function acceptedMoveIn(
  url: string,
  _knex: Knex,
  clerk: LoggedIn,
  // A town loaded with its 住所マスタ checks the new address against it (the sizing bench passes one it holds).
  newAddress = '緑ケ丘二丁目3番地4',
): Promise<{ visitId: number; noticeId: number }> {
  const ok = async (res: Response, what: string) => {
    if (res.status !== 303 && res.status !== 200) throw new Error(`${what}: ${res.status} ${await res.text()}`);
    return res;
  };
  const opened = await ok(await postForm(`${url}visits`, clerk, {}), 'open visit');
  const visitId = Number(/\/visits\/(\d+)$/.exec(opened.headers.get('location') ?? '')![1]);
  await ok(
    await postForm(`${url}visits/${visitId}/visitor`, clerk, {
      visitorRole: 'subject',
      identityDocument: 'driversLicence',
      visitorName: MOVE_IN_FAMILY[0].name,
      visitorKana: MOVE_IN_FAMILY[0].kana,
      visitorBirthDate: MOVE_IN_FAMILY[0].birthDate,
      visitorSex: '1',
      visitorAddress: '東京都千代田区千代田1-1',
      visitorPhone: '090-1111-2222',
    }),
    'identity',
  );
  const created = await ok(await postForm(`${url}visits/${visitId}/notices`, clerk, { type: 'moveIn' }), 'new notice');
  const noticeId = Number(/notices\/(\d+)$/.exec(created.headers.get('location')!)![1]);
  const members: Record<string, string> = {};
  MOVE_IN_FAMILY.forEach((m, i) => {
    members[`m${i}_name`] = m.name;
    members[`m${i}_kana`] = m.kana;
    members[`m${i}_birthDate`] = m.birthDate;
    members[`m${i}_sex`] = m.sex;
    members[`m${i}_relationship`] = m.relationship;
  });
  const accepted = await postForm(`${url}visits/${visitId}/notices/${noticeId}`, clerk, {
    action: 'accept',
    effectiveDate: 'R8.11.28',
    previousAddress: '東京都千代田区千代田1-1',
    newAddress,
    certificateRef: '131016-12345678901',
    honseki: '東京都千代田区千代田1番',
    hittousha: MOVE_IN_FAMILY[0].name,
    ...members,
    moving: ['0', '1', '2', '3'],
    head: '0',
  });
  if (accepted.status !== 303) throw new Error(`accept: ${accepted.status} ${await accepted.text()}`);
  await ok(
    await postForm(`${url}visits/${visitId}/answers`, clerk, { q_employeeInsurance: 'false', q_wantsSealRegistration: 'true' }),
    'answers',
  );
  await getAs(`${url}visits/${visitId}`, clerk);
  return { visitId, noticeId };
}
