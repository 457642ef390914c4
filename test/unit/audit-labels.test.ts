import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { auditActionLabels } from '../../server/src/audit/labels.js';
import { repoRoot } from '../helpers/paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The audit screen names every action in Japanese: an action written anywhere in the server has a label. */
describe('audit action labels', () => {
  it('label every literal action code the server writes', () => {
    const codes = new Set<string>();
    for (const file of sources(path.join(repoRoot, 'server/src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/action: '([a-zA-Z]+(?:\.[a-zA-Z]+)*)'/g)) codes.add(m[1]!);
      for (const m of text.matchAll(/audit\(trx, '([a-zA-Z.]+)'/g)) codes.add(m[1]!);
      for (const m of text.matchAll(/'(notice\.(?:create|update))'/g)) codes.add(m[1]!);
    }
    expect(codes.size).to.be.greaterThan(40);
    expect([...codes].filter((c) => !auditActionLabels[c]).sort()).to.deep.equal([]);
  });
});
