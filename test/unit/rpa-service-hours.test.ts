import { expect } from 'chai';
import { secondsUntilOpen } from '../../server/src/rpa/jobs.js';

/** Japan time as a Date: `jst('2026-12-07T21:30')` is 21:30 in Japan (12:30 UTC). */
const jst = (local: string) => new Date(`${local}:00+09:00`);

describe('RPA service hours (no job is leased while the core system is closed)', () => {
  const weekdays = { from: '08:30', to: '20:00', weekdays: [1, 2, 3, 4, 5] };

  it('is open inside the hours on a listed day, and always open without hours', () => {
    expect(secondsUntilOpen(undefined, jst('2026-12-07T03:00'))).to.equal(0);
    expect(secondsUntilOpen(weekdays, jst('2026-12-07T08:30'))).to.equal(0); // Monday 08:30
    expect(secondsUntilOpen(weekdays, jst('2026-12-07T19:59'))).to.equal(0);
  });

  it('counts the seconds to the next opening: the same evening, over the night, over the weekend', () => {
    expect(secondsUntilOpen(weekdays, jst('2026-12-07T20:00'))).to.equal((12 * 60 + 30) * 60); // Mon 20:00 → Tue 08:30
    expect(secondsUntilOpen(weekdays, jst('2026-12-08T07:30'))).to.equal(60 * 60); // Tue 07:30 → 08:30
    expect(secondsUntilOpen(weekdays, jst('2026-12-11T21:00'))).to.equal((2 * 24 + 11.5) * 3600); // Fri 21:00 → Mon 08:30
  });

  it('takes hours across midnight (a night window) and 24:00 as the end of the day', () => {
    const night = { from: '22:00', to: '06:00' };
    expect(secondsUntilOpen(night, jst('2026-12-07T23:00'))).to.equal(0);
    expect(secondsUntilOpen(night, jst('2026-12-08T05:59'))).to.equal(0);
    expect(secondsUntilOpen(night, jst('2026-12-08T06:00'))).to.equal(16 * 3600);
    expect(secondsUntilOpen({ from: '00:00', to: '24:00' }, jst('2026-12-07T23:59'))).to.equal(0);
  });
});
