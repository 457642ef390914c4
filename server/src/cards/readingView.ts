import type { Knex } from 'knex';
import type { StaffSession } from '../auth/sessions.js';
import { nameExactKey, nameVariantKey, addressKey } from '../domain/searchKeys.js';
import { formatWareki } from '../domain/wareki.js';
import { anyOf, type AddressPresenter, type PresentedAddress } from '../residents/protection.js';
import { registeredAddress } from '../residents/present.js';
import type { Visit } from '../visits/queries.js';
import { cardTypeLabels, type CardReading, type CardType } from './cardApi.js';

/** How many register rows a card's name and birth date may match before the list is cut. */
const MAX_MATCHES = 5;

export interface CardDifference {
  field: 'name' | 'address' | 'sex';
  label: string;
  card: string;
  register: string;
}

/**
 * A card reading as the member of staff may see it: what fills the identity form, the register
 * rows with the card's name and birth date, and where card and register differ. Addresses go
 * through the request's presenter (the one protection decision): a card whose address, person or
 * register match is protected shows the mask to staff without the right, and fills no address.
 */
export interface PresentedReading {
  requestId: string;
  cardType: CardType;
  cardLabel: string;
  fill: {
    documentType: CardType;
    name: string | null;
    birthDate: string | null;
    birthDateIso: string | null;
    sex: '1' | '2' | null;
    address: PresentedAddress | null;
    addressMasked: boolean;
    documentNote: string | null;
  };
  /** The 個人番号, only when it was read for staff holding `resident.viewMyNumber`. */
  myNumber: string | null;
  register: {
    matches: { addresseeNo: string; name: string; birthDate: string; address: PresentedAddress; addressMasked: boolean }[];
    differences: CardDifference[];
    note: string;
  };
}

type MatchRow = Parameters<typeof registeredAddress>[0] & {
  addressee_no: string;
  household_no: string;
  name: string;
  sex: string;
  birth_date: string | null;
  address_key: string | null;
};

export async function presentReading(
  knex: Knex,
  requestId: string,
  reading: CardReading,
  visit: Visit,
  viewer: Pick<StaffSession, 'permissions'>,
  presenter: AddressPresenter,
): Promise<PresentedReading> {
  const decide = presenter.decide;
  const visitDecision = decide.visit({
    visitorAddresseeNo: visit.visitorAddresseeNo,
    visitorAddress: visit.visitorAddress,
    subjects: visit.subjects,
  });
  if (reading.cardType === 'residenceCard') {
    // The IC holds the name only as the image of the card face: the register cannot be looked up by it.
    const d = anyOf(visitDecision, decide.address(reading.address));
    const address = reading.address ? presenter.present(reading.address, d, [`card:${requestId}`]) : null;
    const kind = reading.documentKind === 'specialPermanentResident' ? '特別永住者証明書' : '在留カード';
    return {
      requestId,
      cardType: 'residenceCard',
      cardLabel: kind,
      fill: {
        documentType: 'residenceCard',
        name: null,
        birthDate: null,
        birthDateIso: null,
        sex: null,
        address: d.protected && !presenter.canSee ? null : address,
        addressMasked: d.protected && !presenter.canSee,
        documentNote: `${kind} ${reading.cardNumber} (ICカード読取)`,
      },
      myNumber: null,
      register: {
        matches: [],
        differences: [],
        note: '在留カードの IC には氏名・国籍・在留資格・在留期間が券面の画像としてしかないため、氏名はカードを見て入力してください。',
      },
    };
  }

  const rows = (await knex('residents')
    .where({ birth_date: reading.birthDate, name_variant_key: nameVariantKey(reading.name), resident_status: '1' })
    .orderBy('addressee_no')
    .limit(MAX_MATCHES + 1)
    .select(
      'addressee_no',
      'household_no',
      'name',
      'sex',
      'birth_date',
      'address_key',
      'prefecture',
      'city',
      'town_name',
      'block_number',
      'address_suffix',
    )) as MatchRow[];
  const shown = rows.slice(0, MAX_MATCHES);
  const cardDecision = anyOf(visitDecision, decide.address(reading.address), ...shown.map((r) => decide.row(r)));
  const masked = cardDecision.protected && !presenter.canSee;
  const cardAddress = presenter.present(reading.address, cardDecision, [`card:${requestId}`]);
  const matches = shown.map((r) => {
    const d = decide.row(r);
    return {
      addresseeNo: r.addressee_no,
      name: r.name,
      birthDate: r.birth_date ?? '',
      address: presenter.present(registeredAddress(r), d, [r.addressee_no]),
      addressMasked: d.protected && !presenter.canSee,
    };
  });

  const differences: CardDifference[] = [];
  let note: string;
  if (rows.length === 0) note = '住民記録に同じ氏名・生年月日の人はいません (転入の方、氏名の変更など)。';
  else if (rows.length > 1)
    note = `住民記録に同じ氏名・生年月日の人が ${rows.length > MAX_MATCHES ? `${MAX_MATCHES} 人以上` : `${rows.length} 人`}います。宛名番号で確かめてください。`;
  else {
    const r = rows[0]!;
    note = '住民記録の人と照合しました。';
    if (nameExactKey(r.name) !== nameExactKey(reading.name))
      differences.push({ field: 'name', label: '氏名の字形', card: reading.name, register: r.name });
    if (reading.sex !== '9' && reading.sex !== r.sex)
      differences.push({
        field: 'sex',
        label: '性別',
        card: reading.sex === '1' ? '男' : '女',
        register: r.sex === '1' ? '男' : r.sex === '2' ? '女' : r.sex,
      });
    if (addressKey(registeredAddress(r)) !== addressKey(reading.address))
      // Both sides go through the presenter: a protected difference shows the mask on both sides.
      differences.push({ field: 'address', label: '住所', card: cardAddress, register: matches[0]!.address });
  }
  return {
    requestId,
    cardType: 'myNumberCard',
    cardLabel: cardTypeLabels.myNumberCard,
    fill: {
      documentType: 'myNumberCard',
      name: reading.name,
      birthDate: formatWareki(reading.birthDate),
      birthDateIso: reading.birthDate,
      sex: reading.sex === '9' ? null : reading.sex,
      address: masked ? null : cardAddress,
      addressMasked: masked,
      documentNote: null,
    },
    myNumber: reading.myNumber !== undefined && viewer.permissions.has('resident.viewMyNumber') ? reading.myNumber : null,
    register: { matches, differences, note },
  };
}
