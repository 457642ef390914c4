import { expect } from 'chai';
import { DomainError } from '../../server/src/errors/domainError.js';
import { signaturePng } from '../../server/src/residentScreen/signatures.js';

/** A 1×1 PNG, whole, and cut in two: the second would have stopped the 届書 from printing. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

async function refusal(dataUrl: string): Promise<string | null> {
  try {
    await signaturePng(dataUrl);
    return null;
  } catch (e) {
    expect(e).to.be.instanceOf(DomainError);
    return (e as DomainError).code;
  }
}

describe('the resident screen’s signature image (residentScreen/signatures.ts)', () => {
  it('takes a whole PNG and refuses a truncated one, a non-PNG and a non-data URL before anything is stored', async () => {
    expect((await signaturePng(`data:image/png;base64,${PNG}`)).length).to.equal(Buffer.from(PNG, 'base64').length);
    const whole = Buffer.from(PNG, 'base64');
    const cut = whole.subarray(0, whole.length - 16).toString('base64');
    expect(await refusal(`data:image/png;base64,${cut}`)).to.equal('residentScreen.badSignature');
    expect(await refusal(`data:image/png;base64,${Buffer.from('GIF89a'.repeat(20)).toString('base64')}`)).to.equal(
      'residentScreen.badSignature',
    );
    expect(await refusal('https://example.invalid/sign.png')).to.equal('residentScreen.badSignature');
  });
});
