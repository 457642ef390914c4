import { expect } from 'chai';
import { measureSizing } from '../../bench/sizing.js';

/**
 * The sizing bench (bench/sizing.ts) at a tiny size, so that it cannot rot: a 300-person town
 * generated and loaded by the CLI, a real server taking one 転入 and one certificate request over
 * HTTP, and `madoguchi backup now`. The figures must be positive and sane; their values are the
 * bench's business, not this test's.
 */
describe('sizing bench: the measured figures behind the hardware table, at 300 residents', function () {
  this.timeout(60_000);

  it('loads a town, takes a notice and a certificate request, backs up, and reports positive per-unit figures', async () => {
    const lines: string[] = [];
    const r = (await measureSizing({
      people: [300],
      notices: 1,
      certificates: 1,
      terminals: 1,
      searchSeconds: 0,
      rpaJobs: 0,
      gzip: true,
      dailyLoad: false,
      log: (l) => lines.push(l),
    })) as {
      bench: string;
      towns: {
        people: number;
        residentsRows: number;
        historyRows: number;
        dbBytes: number;
        dbBytesPerResident: number;
        load: { cpuSeconds: number; peakRssMb: number };
      }[];
      perNotice: { dbBytes: number; auditRows: number; serverCpuMs: number };
      perCertificateRequest: { dbBytes: number; auditRows: number; serverCpuMs: number };
      server: { peakRssMb: number };
      backup: { bytes: number; databaseBytes: number; compressed: boolean; gzipRatio: number; keepGenerations: number };
    };
    expect(r.bench).to.equal('sizing');
    const town = r.towns[0]!;
    expect(town.people).to.equal(300);
    expect(town.residentsRows).to.be.at.least(300);
    expect(town.historyRows).to.be.greaterThan(0);
    // A resident with its household, history, entitlements and search keys: between 500 B and 50 KB.
    expect(town.dbBytesPerResident).to.be.within(500, 50_000);
    expect(town.load.cpuSeconds).to.be.greaterThan(0);
    expect(town.load.peakRssMb).to.be.within(30, 1024);
    // A 4-person 転入 writes rows (and audit rows); a certificate request writes audit rows.
    expect(r.perNotice.dbBytes).to.be.greaterThan(0);
    expect(r.perNotice.auditRows).to.be.at.least(1);
    expect(r.perCertificateRequest.auditRows).to.be.at.least(1);
    expect(r.perNotice.serverCpuMs).to.be.greaterThan(0);
    expect(r.perCertificateRequest.serverCpuMs).to.be.greaterThan(0);
    expect(r.server.peakRssMb).to.be.within(30, 1024);
    // The backup holds the whole database, uncompressed, and gzip would shrink it.
    expect(r.backup.compressed).to.equal(false);
    expect(r.backup.databaseBytes).to.be.at.least(town.dbBytes * 0.9);
    expect(r.backup.bytes).to.be.at.least(r.backup.databaseBytes);
    expect(r.backup.gzipRatio).to.be.within(0.01, 1);
    expect(r.backup.keepGenerations).to.be.at.least(1);
  });
});
