import type { CardReading, CardRequest, ReaderState } from '@madoguchi/server/cards/cardApi';
import { CardError } from './cardError.js';
import type { CardSource } from './helper.js';
import { readMyNumberCard } from './myNumberCard.js';
import type { Readers } from './pcsc.js';
import { probeCard } from './probe.js';
import { readResidenceCard } from './residenceCard.js';

/** The helper's cards through PC/SC: the reader's state with a probe of each newly placed card, and the reads. */
export function pcscSource(readers: Readers): CardSource {
  return {
    async state(): Promise<ReaderState> {
      const s = readers.state();
      if (!s.reader) return { reader: null, card: 'none' };
      if (s.card === 'none') return { reader: s.reader, card: 'none', ...(s.pinPad !== undefined ? { pinPad: s.pinPad } : {}) };
      try {
        const probed = await readers.withCard((link) => probeCard(link));
        const after = readers.state();
        return {
          reader: s.reader,
          card: probed.card,
          ...(probed.triesLeft !== undefined ? { triesLeft: probed.triesLeft } : {}),
          ...(after.pinPad !== undefined ? { pinPad: after.pinPad } : {}),
        };
      } catch (e) {
        // Taken away while probing, or not answering: shown as a card that cannot be read.
        return { reader: s.reader, card: e instanceof CardError && e.code === 'noCard' ? 'none' : 'unknown' };
      }
    },
    onChange(cb) {
      readers.onChange(() => cb());
    },
    read(request: CardRequest): Promise<CardReading> {
      return readers.withCard((link): Promise<CardReading> =>
        request.cardType === 'myNumberCard'
          ? readMyNumberCard(link, { withMyNumber: request.withMyNumber, ...(request.pin !== undefined ? { pin: request.pin } : {}) })
          : readResidenceCard(link, { cardNumber: request.cardNumber ?? '' }),
      );
    },
    async close(): Promise<void> {
      await readers.close();
    },
  };
}
