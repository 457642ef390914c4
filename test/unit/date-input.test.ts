import { expect } from 'chai';
import { parseDateInput, type DateInput, type EraKey } from '../../server/src/domain/dateInput.js';

const ERA_REQUIRED = '元号を指定してください (例: S50.4.1、昭和50年4月1日、または元号キーを選んでから 500401)';

const ok = (from: string, to: string, label: string): DateInput => ({ ok: true, from, to, label });
const fail = (message: string): DateInput => ({ ok: false, message });

/** [input, eraKey, expected] */
type Row = [string, EraKey | undefined, DateInput];

function check(rows: Row[]): void {
  for (const [input, eraKey, expected] of rows) {
    it(`${JSON.stringify(input)}${eraKey ? ` (元号キー ${eraKey})` : ''}`, () => {
      expect(parseDateInput(input, eraKey)).to.deep.equal(expected);
    });
  }
}

const S500401 = ok('1975-04-01', '1975-04-01', '昭和50年4月1日');
const H010108 = ok('1989-01-08', '1989-01-08', '平成元年1月8日');

describe('dateInput: era letter + numbers', () => {
  check([
    ['S50.4.1', undefined, S500401],
    ['s50.4.1', undefined, S500401],
    ['S50/4/1', undefined, S500401],
    ['S50-4-1', undefined, S500401],
    ['S 50 4 1', undefined, S500401],
    ['S500401', undefined, S500401],
    ['  S50.04.01  ', undefined, S500401],
    ['Ｓ５０．４．１', undefined, S500401], // full-width letter, digits and dots
    ['ｓ５００４０１', undefined, S500401],
    ['S50ー4ー1', undefined, S500401], // IME long-vowel mark typed for '-'
    ['S50', undefined, ok('1975-01-01', '1975-12-31', '昭和50年')],
    ['S50.4', undefined, ok('1975-04-01', '1975-04-30', '昭和50年4月')],
    ['S50.2', undefined, ok('1975-02-01', '1975-02-28', '昭和50年2月')],
    ['H4.2', undefined, ok('1992-02-01', '1992-02-29', '平成4年2月')],
    ['S50.12', undefined, ok('1975-12-01', '1975-12-31', '昭和50年12月')],
    ['M45.7.29', undefined, ok('1912-07-29', '1912-07-29', '明治45年7月29日')],
    ['T1.7.30', undefined, ok('1912-07-30', '1912-07-30', '大正元年7月30日')],
    ['T15.12.24', undefined, ok('1926-12-24', '1926-12-24', '大正15年12月24日')],
    ['S1.12.25', undefined, ok('1926-12-25', '1926-12-25', '昭和元年12月25日')],
    ['H31.4.30', undefined, ok('2019-04-30', '2019-04-30', '平成31年4月30日')],
    ['R2', undefined, ok('2020-01-01', '2020-12-31', '令和2年')],
  ]);
});

describe('dateInput: kanji eras', () => {
  check([
    ['昭和50年4月1日', undefined, S500401],
    ['昭和 50年 4月 1日', undefined, S500401],
    ['昭和５０年４月１日', undefined, S500401],
    ['昭和50.4.1', undefined, S500401],
    ['昭50.4.1', undefined, S500401],
    ['昭和50年4月', undefined, ok('1975-04-01', '1975-04-30', '昭和50年4月')],
    ['令和2年', undefined, ok('2020-01-01', '2020-12-31', '令和2年')],
    ['令和元年', undefined, ok('2019-05-01', '2019-12-31', '令和元年')],
    ['平1.1.8', undefined, H010108],
    ['大正元年7月30日', undefined, ok('1912-07-30', '1912-07-30', '大正元年7月30日')],
    ['明治45年', undefined, ok('1912-01-01', '1912-07-29', '明治45年')],
    ['㍼50年4月1日', undefined, S500401], // the one-character 昭和 sign; NFKC spells it out
  ]);
});

describe('dateInput: テンキー era codes (1 明治 … 5 令和)', () => {
  check([
    ['3500401', undefined, S500401],
    ['３５００４０１', undefined, S500401],
    ['1450729', undefined, ok('1912-07-29', '1912-07-29', '明治45年7月29日')],
    ['2151224', undefined, ok('1926-12-24', '1926-12-24', '大正15年12月24日')],
    ['5020229', undefined, ok('2020-02-29', '2020-02-29', '令和2年2月29日')],
    ['3500401', 'H', S500401], // the code in the text wins over the selector
  ]);
  it('rejects a code with no era', () => {
    const r = parseDateInput('6010101');
    expect(r.ok).to.equal(false);
    expect(r).to.have.property('message').that.includes('読み取れません');
  });
});

describe('dateInput: digits only with the era selector', () => {
  check([
    ['500401', 'S', S500401],
    ['50.4.1', 'S', S500401],
    ['50 4 1', 'S', S500401],
    ['50年4月1日', 'S', S500401],
    ['50', 'S', ok('1975-01-01', '1975-12-31', '昭和50年')],
    ['50.4', 'S', ok('1975-04-01', '1975-04-30', '昭和50年4月')],
    ['010108', 'H', H010108],
    ['元年1月8日', 'H', H010108],
    ['500401', 'H', fail('「500401」は平成の期間外です (平成は31年4月30日まで)')],
    ['H50.4.1', 'S', fail('「H50.4.1」は平成の期間外です (平成は31年4月30日まで)')],
    ['S50.4.1', 'H', S500401], // an era in the text wins over the selector
    ['1975-04-01', 'H', S500401], // a 4-digit year is 西暦 whatever the selector says
  ]);
});

describe('dateInput: 西暦', () => {
  check([
    ['1975-04-01', undefined, S500401],
    ['1975/4/1', undefined, S500401],
    ['1975.4.1', undefined, S500401],
    ['19750401', undefined, S500401],
    ['1975年4月1日', undefined, S500401],
    ['西暦1975年4月1日', undefined, S500401],
    ['１９７５－０４－０１', undefined, S500401],
    ['1975', undefined, ok('1975-01-01', '1975-12-31', '昭和50年')],
    ['1975年', undefined, ok('1975-01-01', '1975-12-31', '昭和50年')],
    ['1975-04', undefined, ok('1975-04-01', '1975-04-30', '昭和50年4月')],
    ['1975/4', undefined, ok('1975-04-01', '1975-04-30', '昭和50年4月')],
    ['2020-02', undefined, ok('2020-02-01', '2020-02-29', '令和2年2月')],
    ['２０２０年２月２９日', undefined, ok('2020-02-29', '2020-02-29', '令和2年2月29日')],
    // Western ranges that cross an era boundary name both eras.
    ['1989', undefined, ok('1989-01-01', '1989-12-31', '昭和64年・平成元年')],
    ['1989-01', undefined, ok('1989-01-01', '1989-01-31', '昭和64年1月・平成元年1月')],
    ['1868', undefined, ok('1868-01-25', '1868-12-31', '明治元年')],
    ['2021-02-29', undefined, fail('「2021-02-29」は存在しない日付です')],
    ['1975-13', undefined, fail('「1975-13」は存在しない月です')],
    ['1868-01-24', undefined, fail('「1868-01-24」は明治より前の日付です (明治は1868年1月25日から)')],
    ['1850', undefined, fail('「1850」は明治より前の日付です (明治は1868年1月25日から)')],
  ]);
});

describe('dateInput: the same day written every way', () => {
  for (const input of ['H1.1.8', '平成元年1月8日', '4010108', '19890108', 'H元.1.8', '平成1年1月8日']) {
    it(`${input} → 1989-01-08`, () => {
      expect(parseDateInput(input)).to.deep.equal(H010108);
    });
  }
});

describe('dateInput: era boundaries', () => {
  check([
    ['S64.1.7', undefined, ok('1989-01-07', '1989-01-07', '昭和64年1月7日')],
    ['S64.1.8', undefined, fail('「S64.1.8」は昭和の期間外です (昭和は64年1月7日まで)')],
    ['S64.2.1', undefined, fail('「S64.2.1」は昭和の期間外です (昭和は64年1月7日まで)')],
    ['S65', undefined, fail('「S65」は昭和の期間外です (昭和は64年1月7日まで)')],
    ['H1.1.7', undefined, fail('「H1.1.7」は平成の期間外です (平成は元年1月8日から)')],
    ['R1.5.1', undefined, ok('2019-05-01', '2019-05-01', '令和元年5月1日')],
    ['R1.4.30', undefined, fail('「R1.4.30」は令和の期間外です (令和は元年5月1日から)')],
    ['R1.4', undefined, fail('「R1.4」は令和の期間外です (令和は元年5月1日から)')],
    ['M45.7.30', undefined, fail('「M45.7.30」は明治の期間外です (明治は45年7月29日まで)')],
    ['T15.12.25', undefined, fail('「T15.12.25」は大正の期間外です (大正は15年12月24日まで)')],
    ['3640108', undefined, fail('「3640108」は昭和の期間外です (昭和は64年1月7日まで)')],
    // Year and month ranges are clipped to the era.
    ['H31', undefined, ok('2019-01-01', '2019-04-30', '平成31年')],
    ['S64', undefined, ok('1989-01-01', '1989-01-07', '昭和64年')],
    ['T15', undefined, ok('1926-01-01', '1926-12-24', '大正15年')],
    ['S1', undefined, ok('1926-12-25', '1926-12-31', '昭和元年')],
    ['R1', undefined, ok('2019-05-01', '2019-12-31', '令和元年')],
    ['M1', undefined, ok('1868-01-25', '1868-12-31', '明治元年')],
    ['H1.1', undefined, ok('1989-01-08', '1989-01-31', '平成元年1月')],
    ['S64.1', undefined, ok('1989-01-01', '1989-01-07', '昭和64年1月')],
    ['H31.4', undefined, ok('2019-04-01', '2019-04-30', '平成31年4月')],
    ['H31.5', undefined, fail('「H31.5」は平成の期間外です (平成は31年4月30日まで)')],
  ]);
});

describe('dateInput: invalid input', () => {
  check([
    ['', undefined, fail('日付を入力してください')],
    ['   ', undefined, fail('日付を入力してください')],
    ['　', undefined, fail('日付を入力してください')], // ideographic space
    ['S50.2.30', undefined, fail('「S50.2.30」は存在しない日付です')],
    ['昭和50年2月30日', undefined, fail('「昭和50年2月30日」は存在しない日付です')],
    ['H3.2.29', undefined, fail('「H3.2.29」は存在しない日付です')],
    ['S50.13.1', undefined, fail('「S50.13.1」は存在しない日付です')],
    ['S50.4.0', undefined, fail('「S50.4.0」は存在しない日付です')],
    ['S50.13', undefined, fail('「S50.13」は存在しない月です')],
    ['3500230', undefined, fail('「3500230」は存在しない日付です')],
    ['S0.4.1', undefined, fail('「S0.4.1」は年が0です (最初の年は1年または元年と入力してください)')],
    ['S0', undefined, fail('「S0」は年が0です (最初の年は1年または元年と入力してください)')],
    ['000401', 'S', fail('「000401」は年が0です (最初の年は1年または元年と入力してください)')],
    // Without an era and without the selector, 6 digits or a 2-digit year are ambiguous.
    ['500401', undefined, fail(ERA_REQUIRED)],
    ['50.4.1', undefined, fail(ERA_REQUIRED)],
    ['50年4月1日', undefined, fail(ERA_REQUIRED)],
    ['50', undefined, fail(ERA_REQUIRED)],
  ]);
  for (const input of ['X50.4.1', 'S', 'S50.4.1.2', 'S5004', 'abc', '昭和', '1975-4-1-1', '12345']) {
    it(`cannot read ${JSON.stringify(input)}`, () => {
      expect(parseDateInput(input)).to.deep.equal(fail(`「${input}」は日付として読み取れません (例: S50.4.1、昭和50年4月1日、1975-04-01)`));
    });
  }
});
