/**
 * Types of codec.js (the pre-entry QR payload codec), for the tests and any TypeScript caller.
 * codec.js itself is plain ES5 so that the resident's phone and the counter run the same file.
 */
declare namespace MadoguchiPreEntry {
  type PreEntryType = 'moveIn' | 'relocation' | 'moveOut' | 'certificateRequest';

  interface PreEntryMember {
    name: string;
    nameKana?: string;
    /** YYYY-MM-DD */
    birthDate?: string;
    /** '1' 男, '2' 女 (the notice form's codes) */
    sex?: '1' | '2';
    relationship?: string;
    /** The head of the new household (moveIn only, at most one). */
    head?: boolean;
  }

  interface PreEntryCertificateLine {
    /** A certificate id of config/fees.yaml (residentCopy, sealCertificate, …). */
    type: string;
    copies: number;
    /** A purpose id of config/fees.yaml (self, pension, …). */
    purpose?: string;
    /** 年度 (western year) for the tax certificates. */
    year?: number;
  }

  interface PreEntryData {
    type: PreEntryType;
    /** 異動日 (moveIn, relocation) or 転出予定日 (moveOut), YYYY-MM-DD. */
    effectiveDate?: string;
    previousAddress?: string;
    newAddress?: string;
    nextAddress?: string;
    honseki?: string;
    hittousha?: string;
    members?: PreEntryMember[];
    relation?: 'self' | 'household' | 'proxy';
    requester?: { name: string; nameKana?: string; birthDate?: string };
    certificates?: PreEntryCertificateLine[];
  }

  interface FieldProblem {
    /** A path: `newAddress`, `members.1.birthDate`, `certificates.0.copies`. */
    field: string;
    code: string;
    message: string;
  }

  type DecodeResult =
    | { status: 'progress' | 'duplicate'; part: number; total: number; received: number; missing: number[]; id: string }
    | { status: 'complete'; data: PreEntryData; total: number; received: number; id: string }
    | { status: 'error'; error: { code: string; message: string; part?: number; errors?: FieldProblem[] } };

  interface Decoder {
    push(text: string): DecodeResult;
    reset(): void;
    pending(): { id: string; total: number; received: number; missing: number[] } | null;
  }

  interface EncodeError extends Error {
    code: 'invalid' | 'tooLarge';
    errors: FieldProblem[];
  }

  interface Codec {
    VERSION: number;
    MAX_PART_CHARS: number;
    MAX_PARTS: number;
    MAX_MEMBERS: number;
    MAX_CERTIFICATE_LINES: number;
    MAX_COPIES: number;
    TYPES: PreEntryType[];
    TYPE_LABELS: Record<PreEntryType, string>;
    LABELS: Record<string, string>;
    TEXT_LIMITS: Record<string, number>;
    encode(data: unknown, options?: { id?: string; maxPartChars?: number }): string[];
    decoder(): Decoder;
    validate(data: unknown): FieldProblem[];
    fieldLabel(path: string): string;
    formatWareki(date: string | null | undefined): string;
    isCalendarDate(date: string): boolean;
    crc32(input: string | ArrayLike<number>): string;
    utf8Encode(text: string): number[];
    utf8Decode(bytes: ArrayLike<number>): string | null;
    base32Encode(bytes: ArrayLike<number>): string;
    base32Decode(text: string): number[] | null;
    EncodeError: new (code: string, message: string, errors?: FieldProblem[]) => EncodeError;
  }
}

declare const MadoguchiPreEntry: MadoguchiPreEntry.Codec;
export = MadoguchiPreEntry;
