import { expect } from 'chai';
import { isValidAddresseeNo, isValidMunicipalityCode, mod11CheckDigit, withCheckDigit } from '../../server/src/domain/addresseeNo.js';
import { relationshipLabel } from '../../server/src/domain/codes.js';
import {
  ageOn,
  dateReaching,
  endOfSchoolYearReaching,
  isCalendarDate,
  parseRegisterDate,
  parseRegisterMonth,
} from '../../server/src/domain/dates.js';
import { codePointLength } from '../../server/src/domain/text.js';
import { formatWareki } from '../../server/src/domain/wareki.js';
import { corporateNumberCheckDigit, myNumberCheckDigit } from '../../server/src/demo/generator.js';

describe('domain: 宛名番号 and other check digits', () => {
  it('computes M11 weights 2..7 from the rightmost digit', () => {
    // 000000001: 1×2 = 2 → 11−2 = 9
    expect(mod11CheckDigit('000000001')).to.equal(9);
    // 123456789: 9·2+8·3+7·4+6·5+5·6+4·7+3·2+2·3+1·4 = 174; 174 mod 11 = 9 → 2
    expect(mod11CheckDigit('123456789')).to.equal(2);
    expect(withCheckDigit('123456789')).to.equal('1234567892');
  });
  it('gives 0 for remainder 0 and the configured digit for remainder 1', () => {
    // 000000006: 6×2 = 12 → remainder 1
    expect(mod11CheckDigit('000000006')).to.equal(0);
    expect(mod11CheckDigit('000000006', { remainderOneDigit: 1 })).to.equal(1);
    // 000000011: 1×2+1×3 = 5 … ; 000000000 → remainder 0
    expect(mod11CheckDigit('000000000')).to.equal(0);
  });
  it('validates whole numbers', () => {
    expect(isValidAddresseeNo('1234567892')).to.equal(true);
    expect(isValidAddresseeNo('1234567893')).to.equal(false);
    expect(isValidAddresseeNo('12a4567892')).to.equal(false);
  });
  it('validates 全国地方公共団体コード check digits', () => {
    expect(isValidMunicipalityCode('131016')).to.equal(true); // 千代田区
    expect(isValidMunicipalityCode('432041')).to.equal(true); // 荒尾市
    expect(isValidMunicipalityCode('131017')).to.equal(false);
    expect(isValidMunicipalityCode('13101')).to.equal(false);
  });
  it('computes My Number and 法人番号 check digits', () => {
    // A well-known valid sample My Number: 123456789018
    expect(myNumberCheckDigit('12345678901')).to.equal(8);
    // 国税庁's sample 法人番号 7000012050002 (内閣官房 … base 000012050002)
    expect(corporateNumberCheckDigit('000012050002')).to.equal(7);
  });
});

describe('domain: register dates', () => {
  it('accepts non-calendar dates the standard demands and legacy YYYYMMDD', () => {
    expect(parseRegisterDate('1999-02-29')).to.equal('1999-02-29');
    expect(parseRegisterDate('19990229')).to.equal('1999-02-29');
    expect(isCalendarDate('1999-02-29')).to.equal(false);
    expect(isCalendarDate('2000-02-29')).to.equal(true);
    expect(parseRegisterDate('')).to.equal(null);
  });
  it('rejects malformed dates and impossible months', () => {
    expect(() => parseRegisterDate('1999/02/01')).to.throw('形式');
    expect(() => parseRegisterDate('1999-13-01')).to.throw('範囲');
    expect(() => parseRegisterDate('1999-02-32')).to.throw('範囲');
    // The character-by-character path for YYYY-MM-DD gives what the general path gives.
    expect(parseRegisterDate('2026-12-31')).to.equal('2026-12-31');
    expect(parseRegisterDate(' 2026-01-02')).to.equal('2026-01-02');
    for (const bad of ['２０２６-01-02', '2026-01-0a', '2026_01_02', '2026-00-10', '2026-01-00', '2026-1-02'])
      expect(() => parseRegisterDate(bad), bad).to.throw(/形式|範囲/);
    expect(parseRegisterMonth('2026-04')).to.equal('2026-04');
    expect(() => parseRegisterMonth('2026-13')).to.throw();
  });
  it('computes ages on text dates, including 2/29 and non-calendar births', () => {
    expect(ageOn('2000-02-29', '2026-02-28')).to.equal(25);
    expect(ageOn('2000-02-29', '2026-03-01')).to.equal(26);
    expect(ageOn('1999-02-29', '2026-11-01')).to.equal(27);
    expect(ageOn('1951-11-01', '2026-11-01')).to.equal(75);
    expect(ageOn('1951-11-02', '2026-11-01')).to.equal(74);
  });
  it('finds the end of the school year in which a child reaches 18', () => {
    expect(endOfSchoolYearReaching('2008-04-01', 18)).to.equal('2026-03-31');
    expect(endOfSchoolYearReaching('2008-04-02', 18)).to.equal('2027-03-31');
    expect(endOfSchoolYearReaching('2009-01-15', 18)).to.equal('2027-03-31');
    expect(dateReaching('1961-11-02', 65)).to.equal('2026-11-01');
  });
  it('formats 和暦 with 元年 and era boundaries', () => {
    expect(formatWareki('2019-05-01')).to.equal('令和元年5月1日');
    expect(formatWareki('2019-04-30')).to.equal('平成31年4月30日');
    expect(formatWareki('1989-01-07')).to.equal('昭和64年1月7日');
    expect(formatWareki('1989-01-08')).to.equal('平成元年1月8日');
    expect(formatWareki('1999-02-29')).to.equal('平成11年2月29日');
    expect(formatWareki('1912-07-30')).to.equal('大正元年7月30日');
  });
});

describe('domain: text and variants', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(codePointLength('𠮷田')).to.equal(2);
    expect('𠮷田'.length).to.equal(3);
    expect(codePointLength('渡邉\u{E0101}')).to.equal(3);
  });
  it('joins relationship chains with の', () => {
    expect(relationshipLabel(['20', '12'])).to.equal('子の妻');
    expect(relationshipLabel(['20', '20', '20', '20'])).to.equal('子の子の子の子');
    expect(() => relationshipLabel(['77'])).to.throw('77');
  });
});
