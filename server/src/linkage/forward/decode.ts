import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

export type FileEncoding = 'utf8' | 'cp932';
export type EncodingSetting = FileEncoding | 'auto';

export interface DetectedEncoding {
  encoding: FileEncoding;
  bom: boolean;
  /** Why this encoding was chosen, for the run report. */
  reason: string;
}

const SAMPLE_BYTES = 1 << 20;

/**
 * Chooses the decoder from the configured setting, a BOM, or strict UTF-8 validity of the
 * first megabyte. Never a silent guess: the reason goes into the linkage run record, and a
 * UTF-8 file that turns invalid later fails loudly in the strict decoder.
 */
export async function detectEncoding(file: string, setting: EncodingSetting = 'auto'): Promise<DetectedEncoding> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(SAMPLE_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SAMPLE_BYTES, 0);
    const sample = buf.subarray(0, bytesRead);
    const bom = sample.length >= 3 && sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf;
    if (setting === 'cp932') return { encoding: 'cp932', bom: false, reason: '設定により CP932' };
    if (bom) return { encoding: 'utf8', bom: true, reason: 'BOM 付き UTF-8' };
    if (setting === 'utf8') return { encoding: 'utf8', bom: false, reason: '設定により UTF-8' };
    // Trim a possibly cut multi-byte sequence at the end of the sample before checking.
    let end = sample.length;
    if (bytesRead === SAMPLE_BYTES) {
      let back = 0;
      while (back < 4 && end > 0 && (sample[end - 1]! & 0xc0) === 0x80) {
        end--;
        back++;
      }
      if (end > 0 && sample[end - 1]! >= 0xc0) end--;
    }
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(sample.subarray(0, end));
      return { encoding: 'utf8', bom: false, reason: 'UTF-8 として正しいバイト列' };
    } catch {
      return { encoding: 'cp932', bom: false, reason: 'UTF-8 として不正なため CP932' };
    }
  } finally {
    await fh.close();
  }
}

/**
 * The file's text in chunks, decoded as detected (strict for UTF-8: invalid bytes are an error).
 * `onBytes` sees every raw chunk, for the checksum and progress.
 */
export async function* decodeFile(file: string, enc: DetectedEncoding, onBytes?: (chunk: Buffer) => void): AsyncGenerator<string> {
  const decoder = new TextDecoder(enc.encoding === 'utf8' ? 'utf-8' : 'shift_jis', { fatal: enc.encoding === 'utf8' });
  const fail = () => new Error('UTF-8 として不正なバイト列があります (文字コードの設定を確認してください)');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    onBytes?.(chunk as Buffer);
    try {
      yield decoder.decode(chunk as Buffer, { stream: true });
    } catch {
      throw fail();
    }
  }
  try {
    const rest = decoder.decode();
    if (rest) yield rest;
  } catch {
    throw fail();
  }
}
