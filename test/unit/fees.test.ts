import { expect } from 'chai';
import { loadCertificateCatalog } from '../../server/src/certificates/catalog.js';
import {
  CertificateRequestError,
  priceRequest,
  type CertificateRequestLine,
  type PricedRequest,
} from '../../server/src/certificates/fees.js';
import { configDir } from '../helpers/paths.js';

const catalog = loadCertificateCatalog(configDir);

const taro = { addresseeNo: '100000001', label: '山田 太郎' };
const hanako = { addresseeNo: '100000002', label: '山田 花子' };

function line(typeId: string, extra: Partial<CertificateRequestLine> = {}): CertificateRequestLine {
  return { typeId, subject: taro, copies: 1, purposeId: 'self', ...extra };
}

const household = { options: { scope: 'household' } };

function price(...lines: CertificateRequestLine[]): PricedRequest {
  return priceRequest(catalog, { lines });
}

function problemsOf(...lines: CertificateRequestLine[]): CertificateRequestError {
  try {
    price(...lines);
  } catch (e) {
    if (e instanceof CertificateRequestError) return e;
    throw e;
  }
  throw new Error('expected a CertificateRequestError');
}

describe('certificate fees', () => {
  it('one 住民票の写し costs 300 yen, with the options filled in', () => {
    const r = price(line('residentCopy', household));
    expect(r.total).to.equal(300);
    expect(r.lines).to.have.length(1);
    const l = r.lines[0]!;
    expect(l).to.include({ typeId: 'residentCopy', name: '住民票の写し', copies: 1, unitFee: 300, exempt: false, amount: 300, unit: '通' });
    expect(l.exemptReason).to.equal(undefined);
    expect(l.subject).to.deep.equal(taro);
    expect(l.options).to.deep.equal({
      scope: 'household',
      showHouseholdHead: false,
      showDomicile: false,
      showMyNumber: false,
      showResidentCode: false,
      showPreviousAddress: false,
    });
  });

  it('3 copies cost 900 yen', () => {
    const r = price(line('residentCopy', { ...household, copies: 3 }));
    expect(r.lines[0]!.amount).to.equal(900);
    expect(r.total).to.equal(900);
  });

  it('sums several persons and several types in one request', () => {
    const r = price(
      line('residentCopy', { options: { scope: 'household', showDomicile: true, showHouseholdHead: true }, copies: 2 }),
      line('sealCertificate'),
      line('sealCertificate', { subject: hanako }),
      line('kosekiFull'),
      line('kosekiRemoved', { subject: { label: '山田 一郎 (除籍)' } }),
      line('incomeTax', { subject: hanako, options: { year: 2025 } }),
    );
    expect(r.lines.map((l) => l.amount)).to.deep.equal([600, 300, 300, 450, 750, 300]);
    expect(r.total).to.equal(2700);
    expect(r.lines[2]!.subject).to.deep.equal(hanako);
    expect(r.lines[1]!.subject).to.deep.equal(taro);
    expect(r.lines[0]!.options).to.include({ showDomicile: true, showHouseholdHead: true, showMyNumber: false });
    expect(r.lines[5]!.options).to.include({ year: 2025 });
  });

  it('公用 (官公署への提出) makes the line 0 yen and says why; the other lines still count', () => {
    const r = price(line('residentCopy', { ...household, copies: 2, purposeId: 'official' }), line('sealCertificate'));
    const l = r.lines[0]!;
    expect(l).to.include({ exempt: true, amount: 0, unitFee: 300, copies: 2 });
    expect(l.exemptReason).to.equal('公用のため手数料免除');
    expect(r.total).to.equal(300);
  });

  it('年金の請求 is exempt only for the types configured', () => {
    const r = price(
      line('kosekiFull', { purposeId: 'pension' }),
      line('residentCopy', { ...household, purposeId: 'pension' }),
      line('incomeTax', { purposeId: 'pension', options: { year: 2025 } }),
      line('sealCertificate', { purposeId: 'pension' }),
    );
    expect(r.lines.map((l) => l.exempt)).to.deep.equal([true, true, false, false]);
    expect(r.lines.map((l) => l.amount)).to.deep.equal([0, 0, 300, 300]);
    expect(r.lines[0]!.exemptReason).to.equal('年金の請求のため手数料免除');
    expect(r.lines[2]!.exemptReason).to.equal(undefined);
    expect(r.total).to.equal(600);
  });

  it('児童扶養手当 exempts the 所得証明 but not the 納税証明', () => {
    const r = price(
      line('incomeTax', { purposeId: 'childSupport', options: { year: 2025 } }),
      line('taxPayment', { purposeId: 'childSupport', options: { year: 2025 } }),
    );
    expect(r.lines.map((l) => l.amount)).to.deep.equal([0, 300]);
    expect(r.lines[0]!.exemptReason).to.equal('児童扶養手当の申請のため手数料免除');
  });

  it('軽自動車税納税証明 (継続検査用) is 0 yen without being an exemption', () => {
    const r = price(line('lightVehicleTax', { copies: 2, purposeId: 'other' }));
    expect(r.lines[0]).to.include({ unitFee: 0, amount: 0, exempt: false });
    expect(r.total).to.equal(0);
  });

  it('資産税証明 is charged per item: 3 items = 900 yen, times the copies', () => {
    const opts = { options: { year: 2025, kind: 'evaluation' } };
    expect(price(line('propertyTax', { ...opts, items: 3 })).total).to.equal(900);
    const r = price(line('propertyTax', { ...opts, items: 3, copies: 2 }));
    expect(r.lines[0]).to.include({ items: 3, copies: 2, unit: '件', amount: 1800 });
    expect(price(line('propertyTax', { ...opts, items: 3, purposeId: 'official' })).total).to.equal(0);
  });

  describe('errors', () => {
    it('an unknown type lists the types there are', () => {
      const e = problemsOf(line('residentCopi'));
      expect(e.problems).to.have.length(1);
      expect(e.problems[0]).to.include({ line: 0, field: 'typeId' });
      expect(e.message).to.contain('証明書の種類「residentCopi」はありません').and.contain('residentCopy (住民票の写し)');
    });

    it('copies must be 1..20', () => {
      for (const copies of [0, -1, 21, 1.5]) {
        const e = problemsOf(line('sealCertificate', { copies }));
        expect(e.problems.map((p) => p.field)).to.deep.equal(['copies']);
        expect(e.message).to.contain('通数は 1 から 20 までの整数で指定してください');
      }
      expect(price(line('sealCertificate', { copies: 20 })).total).to.equal(6000);
    });

    it('a type that needs a year (年度) says so', () => {
      const e = problemsOf(line('incomeTax'));
      expect(e.problems).to.deep.equal([
        { line: 0, field: 'options.year', message: '「所得・課税証明」(山田 太郎) は年度を指定してください' },
      ]);
      expect(problemsOf(line('incomeTax', { options: { year: '令和7' } })).message).to.contain('西暦の年度 (例: 2025)');
    });

    it('showMyNumber only for the types that allow it', () => {
      const r = price(line('residentCopy', { options: { scope: 'members', showMyNumber: true } }));
      expect(r.lines[0]!.options.showMyNumber).to.equal(true);
      const e = problemsOf(line('sealCertificate', { options: { showMyNumber: true } }));
      expect(e.problems).to.deep.equal([
        { line: 0, field: 'options.showMyNumber', message: '「印鑑登録証明書」には個人番号 (マイナンバー) を記載できません' },
      ]);
      expect(problemsOf(line('kosekiAttachment', { options: { showMyNumber: false } })).problems[0]!.field).to.equal(
        'options.showMyNumber',
      );
    });

    it('a required choice, a wrong choice, an unknown option and a wrong boolean are named', () => {
      expect(problemsOf(line('residentCopy')).message).to.contain('「住民票の写し」(山田 太郎) の「範囲」を選んでください');
      expect(problemsOf(line('residentCopy', { options: { scope: 'all' } })).message).to.contain(
        '選べるのは household (世帯全員), members (世帯の一部) です',
      );
      expect(problemsOf(line('residentCopy', { options: { scope: 'members', showSeal: true } })).message).to.contain(
        '「住民票の写し」に項目「showSeal」はありません',
      );
      expect(problemsOf(line('residentCopy', { options: { scope: 'members', showDomicile: 'yes' } })).message).to.contain(
        '「本籍・筆頭者」は する (true)・しない (false)',
      );
    });

    it('items: required for 資産税証明, refused for a per-copy type', () => {
      const e = problemsOf(line('propertyTax', { options: { year: 2025, kind: 'both' } }));
      expect(e.problems[0]).to.include({ field: 'items' });
      expect(e.message).to.contain('件数 (items) を指定してください (1 件ごとに 300 円)');
      expect(problemsOf(line('propertyTax', { items: 0, options: { year: 2025, kind: 'both' } })).message).to.contain('件数は 1 から');
      expect(problemsOf(line('sealCertificate', { items: 2 })).message).to.contain('件数 (items) は指定できません');
    });

    it('unknown purpose, missing subject, empty request; every problem with its line number', () => {
      const e = problemsOf(line('sealCertificate'), line('sealCertificate', { purposeId: 'travel', subject: {} }), line('nothing'));
      expect(e.problems.map((p) => [p.line, p.field])).to.deep.equal([
        [1, 'subject'],
        [1, 'purposeId'],
        [2, 'typeId'],
      ]);
      expect(e.message).to.contain('2 行目: 請求の目的「travel」はありません。使えるのは self (本人の手続き)');
      expect(e.message).to.contain('2 行目: 対象者 (宛名番号または氏名) を指定してください');
      expect(() => priceRequest(catalog, { lines: [] })).to.throw(CertificateRequestError, '請求する証明書がありません');
    });
  });
});
