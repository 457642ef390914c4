import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** A file's digest, streamed: linkage files can be hundreds of megabytes. */
export async function hashFile(file: string, algorithm: 'sha256' | 'md5' = 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
