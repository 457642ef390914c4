import { Random } from './random.js';

/** One 町字 of the demo town (ABR-like: 町字ID = 4-digit 大字 + 3-digit 丁目/小字). */
export interface Town {
  code: string;
  kind: '1' | '2' | '3';
  oaza: string;
  chome: number | null;
  koaza: string;
  name: string;
  kana: string;
  postal: string;
  /** 住居表示 (番・号) rather than 地番 (番地). */
  residential: boolean;
  weight: number;
}

const KANJI = ['', '一', '二', '三', '四', '五'];

function chomeTowns(oazaId: string, oaza: string, kana: string, count: number, postal: string, weight: number): Town[] {
  return Array.from({ length: count }, (_, i) => ({
    code: `${oazaId}${String(i + 1).padStart(3, '0')}`,
    kind: '2' as const,
    oaza,
    chome: i + 1,
    koaza: '',
    name: `${oaza}${KANJI[i + 1]}丁目`,
    kana: `${kana}${['', 'イッチョウメ', 'ニチョウメ', 'サンチョウメ', 'ヨンチョウメ', 'ゴチョウメ'][i + 1]}`,
    postal,
    residential: true,
    weight,
  }));
}

export const towns: readonly Town[] = [
  ...chomeTowns('0001', '本町', 'ホンマチ', 3, '8691101', 9),
  ...chomeTowns('0002', '緑ケ丘', 'ミドリガオカ', 4, '8691102', 8),
  ...chomeTowns('0003', '駅前', 'エキマエ', 2, '8691103', 7),
  ...chomeTowns('0004', '桜台', 'サクラダイ', 3, '8691104', 6),
  {
    code: '0010000',
    kind: '1',
    oaza: '大字上田',
    chome: null,
    koaza: '',
    name: '大字上田',
    kana: 'オオアザカミダ',
    postal: '8691111',
    residential: false,
    weight: 6,
  },
  {
    code: '0011000',
    kind: '1',
    oaza: '大字下田',
    chome: null,
    koaza: '',
    name: '大字下田',
    kana: 'オオアザシモダ',
    postal: '8691112',
    residential: false,
    weight: 5,
  },
  {
    code: '0012000',
    kind: '1',
    oaza: '大字中原',
    chome: null,
    koaza: '',
    name: '大字中原',
    kana: 'オオアザナカハラ',
    postal: '8691113',
    residential: false,
    weight: 5,
  },
  {
    code: '0013001',
    kind: '3',
    oaza: '大字平川',
    chome: null,
    koaza: '字東原',
    name: '大字平川字東原',
    kana: 'オオアザヒラカワアザヒガシバル',
    postal: '8691114',
    residential: false,
    weight: 3,
  },
  {
    code: '0013002',
    kind: '3',
    oaza: '大字平川',
    chome: null,
    koaza: '字西原',
    name: '大字平川字西原',
    kana: 'オオアザヒラカワアザニシバル',
    postal: '8691114',
    residential: false,
    weight: 3,
  },
  {
    code: '0014000',
    kind: '1',
    oaza: '大字山口',
    chome: null,
    koaza: '',
    name: '大字山口',
    kana: 'オオアザヤマグチ',
    postal: '8691115',
    residential: false,
    weight: 4,
  },
];

const BUILDINGS = [
  'コーポさくら',
  'メゾンみどり',
  'ハイツ本町',
  'グランドール駅前',
  'サンライズ桜台',
  'パークサイド緑ケ丘',
  'レジデンス上田',
  'ヴィラ中原',
];

export interface AddressSlot {
  town: Town;
  block: string;
  building: string | null;
}

/**
 * The town's addresses as numbered slots, computed from the index alone, so that 1,000,000
 * residents need no address table in memory and the address master lists exactly the slots.
 */
export class TownAddresses {
  private readonly starts: number[] = [];
  readonly totalSlots: number;

  constructor(people: number) {
    const total = Math.max(60, Math.ceil(people / 1.9));
    const weightSum = towns.reduce((s, t) => s + t.weight, 0);
    let start = 0;
    for (const t of towns) {
      this.starts.push(start);
      start += Math.max(3, Math.floor((total * t.weight) / weightSum));
    }
    this.totalSlots = start;
  }

  slot(index: number): AddressSlot {
    let ti = this.starts.length - 1;
    while (this.starts[ti]! > index) ti--;
    const town = towns[ti]!;
    const j = index - this.starts[ti]!;
    const block = town.residential ? `${Math.floor(j / 15) + 1}番${(j % 15) + 1}号` : `${100 + j * 3}番地${j % 4 === 1 ? (j % 7) + 1 : ''}`;
    const building = j % 9 === 4 ? BUILDINGS[(j + ti) % BUILDINGS.length]! : null;
    return { town, block, building };
  }

  /** A random slot; flats in buildings get a room number as 方書. */
  pick(rng: Random): { slot: AddressSlot; suffix: string } {
    const slot = this.slot(rng.int(0, this.totalSlots - 1));
    const suffix = slot.building ? `${slot.building}${rng.int(1, 4)}0${rng.int(1, 8)}号室` : '';
    return { slot, suffix };
  }
}
