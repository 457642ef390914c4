import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { closeLogger, createLogger, maskMyNumbers } from '../../server/src/ops/logger.js';
import { tempDir } from '../helpers/paths.js';

describe('logging', () => {
  it('masks 12-digit My Numbers in every shape but leaves other numbers', () => {
    expect(maskMyNumbers('番号 123456789018 を照会')).to.not.contain('123456789018');
    expect(maskMyNumbers('1234 5678 9018')).to.equal('[個人番号マスク]');
    expect(maskMyNumbers('1234-5678-9018')).to.equal('[個人番号マスク]');
    expect(maskMyNumbers('１２３４５６７８９０１８')).to.equal('[個人番号マスク]');
    expect(maskMyNumbers('宛名番号 1234567892')).to.equal('宛名番号 1234567892');
    expect(maskMyNumbers('1234567890123')).to.equal('1234567890123');
  });

  it('never writes a My Number passed to the logger into the log file', async () => {
    const t = tempDir();
    try {
      const logger = createLogger({ dataDir: t.dir, console: false });
      logger.info('個人番号 123456789018 で検索', {
        myNumber: '123456789018',
        nested: { list: ['1234 5678 9018'] },
        asNumber: 123456789018,
      });
      logger.error('failed', { error: new Error('bad number 123456789018') });
      await closeLogger(logger);
      const files = readdirSync(path.join(t.dir, 'logs')).filter((f) => f.endsWith('.log'));
      expect(files).to.have.length(1);
      const text = readFileSync(path.join(t.dir, 'logs', files[0]!), 'utf8');
      const lines = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).to.have.length(2);
      expect(text).to.not.match(/123456789018|1234 5678 9018/);
      expect(text).to.contain('[個人番号マスク]');
      expect(lines[0]!.message).to.equal('個人番号 [個人番号マスク] で検索');
    } finally {
      t.remove();
    }
  });
});
