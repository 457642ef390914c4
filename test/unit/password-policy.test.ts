import { expect } from 'chai';
import { passwordExpired, passwordProblems, type PasswordPolicy } from '../../server/src/auth/passwordPolicy.js';
import { randomPassword } from '../../server/src/auth/passwords.js';

const policy: PasswordPolicy = { minLength: 12, minClasses: 3, historyCount: 5, maxAgeDays: 90 };

describe('password policy', () => {
  it('accepts a long password mixing three classes', () => {
    expect(passwordProblems('Kouhou-2026x', policy, 'tanaka')).to.deep.equal([]);
  });
  it('names each broken rule in Japanese', () => {
    expect(passwordProblems('short1A', policy, 'x')[0]).to.equal('パスワードは 12 文字以上にしてください (今は 7 文字)');
    expect(passwordProblems('alllowercaseletters', policy, 'x')).to.deep.equal([
      '英大文字・英小文字・数字・記号のうち 3 種類以上を含めてください (今は 1 種類)',
    ]);
    expect(passwordProblems('Tanaka-2026-pass', policy, 'tanaka')).to.deep.equal(['ログイン ID を含むパスワードは使えません']);
    expect(passwordProblems('Ｐａｓｓｗｏｒｄ１２３４ab', policy, 'x').join()).to.contain('全角文字は使えません');
  });
  it('counts code points, not UTF-16 units, and honours a configured minimum of classes', () => {
    expect(passwordProblems('abcdefghijkl', { ...policy, minClasses: 1 }, 'x')).to.deep.equal([]);
    expect(passwordProblems('abcdefghijk', { ...policy, minClasses: 1 }, 'x')).to.have.length(1);
  });
  it('expires after maxAgeDays, never when it is 0', () => {
    const now = new Date('2026-12-01T00:00:00Z');
    expect(passwordExpired(new Date('2026-09-01T00:00:00Z'), policy, now)).to.equal(true);
    expect(passwordExpired(new Date('2026-11-01T00:00:00Z'), policy, now)).to.equal(false);
    expect(passwordExpired(new Date('2000-01-01T00:00:00Z'), { ...policy, maxAgeDays: 0 }, now)).to.equal(false);
  });
  it('generates passwords that always mix upper, lower case and digits', () => {
    for (let i = 0; i < 200; i++) expect(passwordProblems(randomPassword(12), policy, 'no-such-login')).to.deep.equal([]);
  });
});
