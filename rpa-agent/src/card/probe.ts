import type { CardType } from '@madoguchi/server/cards/cardApi';
import { queryPinTries, selectTextAp } from './myNumberCard.js';
import type { CardLink } from './pcsc.js';
import { readDocumentKind } from './residenceCard.js';

/**
 * Which card lies on the reader, without any PIN or card number: the 入力補助AP answers → My Number
 * card (with its PIN tries, asked by a VERIFY without data); else MF EF02 holds a residence card
 * type → residence card; else unknown. Reader failures (CardError from the link) propagate.
 */
export async function probeCard(link: CardLink): Promise<{ card: CardType | 'unknown'; triesLeft?: number }> {
  if (await selectTextAp(link)) {
    const triesLeft = await queryPinTries(link);
    return triesLeft === undefined ? { card: 'myNumberCard' } : { card: 'myNumberCard', triesLeft };
  }
  return (await readDocumentKind(link)) === null ? { card: 'unknown' } : { card: 'residenceCard' };
}
