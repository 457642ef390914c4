import { expect } from 'chai';
import { KeySet } from '../../server/src/linkage/forward/keySet.js';

describe('KeySet (duplicate keys of a linkage file)', () => {
  it('tells new keys from repeated ones across growth', () => {
    const s = new KeySet(4);
    for (let i = 0; i < 200_000; i++) expect(s.add(`${1000000000 + i}\u0000${i % 7}`)).to.equal(true);
    expect(s.size).to.equal(200_000);
    for (let i = 0; i < 200_000; i += 997) expect(s.add(`${1000000000 + i}\u0000${i % 7}`)).to.equal(false);
    expect(s.add('1000000000\u00001')).to.equal(true);
    expect(s.add('')).to.equal(true);
    expect(s.add('')).to.equal(false);
    expect(s.add('髙橋\u0000𠮷')).to.equal(true);
    expect(s.add('高橋\u0000𠮷')).to.equal(true);
    expect(s.size).to.equal(200_004);
  });
});
