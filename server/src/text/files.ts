import { createReadStream, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  createDecoder,
  decodeText,
  detectEncoding,
  type Cp932Mapping,
  type DecodedText,
  type DetectedEncoding,
  type EncodingSetting,
} from './encoding.js';

const SAMPLE_BYTES = 1 << 20;

/** A file's encoding from its first megabyte (see `detectEncoding`); throws `TextEncodingError` naming UTF-16, UTF-32, ISO-2022-JP or EUC-JP. */
export async function detectFileEncoding(file: string, setting: EncodingSetting = 'auto'): Promise<DetectedEncoding> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SAMPLE_BYTES, 0);
    return detectEncoding(buf.subarray(0, bytesRead), { setting, partial: bytesRead === SAMPLE_BYTES });
  } finally {
    await fh.close();
  }
}

/**
 * A file's text in chunks, decoded as detected (strict for UTF-8: invalid bytes throw
 * `TextEncodingError`; a UTF-8 BOM is dropped). `onBytes` sees every raw chunk,
 * for a checksum and progress.
 */
export async function* readTextChunks(
  file: string,
  enc: DetectedEncoding,
  opts: { mapping?: Cp932Mapping; onBytes?: (chunk: Buffer) => void } = {},
): AsyncGenerator<string> {
  const decoder = createDecoder(enc.encoding, opts.mapping);
  for await (const chunk of createReadStream(file, { highWaterMark: SAMPLE_BYTES })) {
    opts.onBytes?.(chunk as Buffer);
    yield decoder.write(chunk as Buffer);
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

/** A small file's whole text (see `decodeText`). */
export function readTextFile(file: string, opts: { setting?: EncodingSetting; mapping?: Cp932Mapping } = {}): DecodedText {
  return decodeText(readFileSync(file), opts);
}
