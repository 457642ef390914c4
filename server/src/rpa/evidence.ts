import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { dbDate, insertReturningId } from '../db/values.js';
import { DomainError, invalidInput } from '../errors/domainError.js';
import { requireLease } from './jobs.js';

/**
 * Screenshots and Playwright traces of RPA runs, kept with the job under `<data-dir>/evidence/`.
 * They show the core system's screens with personal data: only `rpa.manage` reads them, every
 * read is audited, and they go after `rpa.evidenceRetentionDays`.
 */
export const evidenceKinds = { screenshot: { ext: 'png', type: 'image/png' }, trace: { ext: 'zip', type: 'application/zip' } } as const;
export type EvidenceKind = keyof typeof evidenceKinds;
export const MAX_EVIDENCE_BYTES = 20 * 1024 * 1024;
export const EVIDENCE_DIR = 'evidence';

export interface Evidence {
  id: number;
  jobId: number;
  attempt: number;
  kind: EvidenceKind;
  /** Relative to the data directory. */
  file: string;
  bytes: number;
  createdAt: Date;
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const ZIP = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

function toEvidence(r: Record<string, unknown>): Evidence {
  return {
    id: Number(r.id),
    jobId: Number(r.job_id),
    attempt: Number(r.attempt),
    kind: r.kind as EvidenceKind,
    file: String(r.file),
    bytes: Number(r.bytes),
    createdAt: dbDate(r.created_at)!,
  };
}

/** Stores one file from the agent holding the job's lease (written under a temporary name, then renamed). */
export async function storeEvidence(
  db: Knex,
  dataDir: string,
  jobId: number,
  agent: string,
  kind: EvidenceKind,
  body: Buffer,
  now = new Date(),
): Promise<Evidence> {
  if (body.length === 0) throw invalidInput('ファイルが空です');
  if (body.length > MAX_EVIDENCE_BYTES) throw new DomainError('input.tooLarge', { limit: `${MAX_EVIDENCE_BYTES / 1024 / 1024} MB` });
  const magic = kind === 'screenshot' ? PNG : ZIP;
  if (!body.subarray(0, magic.length).equals(magic))
    throw invalidInput(kind === 'screenshot' ? '画面写真は PNG で送ってください' : 'トレースは Playwright の zip で送ってください');
  const job = await requireLease(db, jobId, agent);
  const attempt = job.attempts + 1;
  const dir = path.join(EVIDENCE_DIR, String(jobId));
  mkdirSync(path.join(dataDir, dir), { recursive: true });
  const seq = readdirSync(path.join(dataDir, dir)).filter((f) => f.startsWith(`${attempt}-`)).length + 1;
  const file = path.join(dir, `${attempt}-${String(seq).padStart(2, '0')}-${kind}.${evidenceKinds[kind].ext}`);
  const abs = path.join(dataDir, file);
  writeFileSync(`${abs}.tmp`, body, { mode: 0o600 });
  renameSync(`${abs}.tmp`, abs);
  const id = await insertReturningId(db, 'rpa_evidence', {
    job_id: jobId,
    attempt,
    kind,
    file: file.split(path.sep).join('/'),
    bytes: body.length,
    created_at: now,
  });
  return { id, jobId, attempt, kind, file, bytes: body.length, createdAt: now };
}

export async function listEvidence(db: Knex, jobId: number): Promise<Evidence[]> {
  return ((await db('rpa_evidence').where({ job_id: jobId }).orderBy('id')) as Record<string, unknown>[]).map(toEvidence);
}

export async function readEvidence(db: Knex, dataDir: string, id: number): Promise<{ evidence: Evidence; body: Buffer } | null> {
  const r = (await db('rpa_evidence').where({ id }).first()) as Record<string, unknown> | undefined;
  if (!r) return null;
  const evidence = toEvidence(r);
  const abs = path.resolve(dataDir, evidence.file);
  if (!abs.startsWith(path.resolve(dataDir, EVIDENCE_DIR) + path.sep) || !existsSync(abs)) return null;
  return { evidence, body: readFileSync(abs) };
}

/** Deletes evidence older than the retention (files first, then rows); returns how many went. */
export async function pruneEvidence(db: Knex, dataDir: string, retentionDays: number, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - retentionDays * 86_400_000);
  const old = (await db('rpa_evidence').where('created_at', '<', before).select('id', 'file', 'job_id')) as {
    id: number;
    file: string;
    job_id: number;
  }[];
  for (const e of old) rmSync(path.join(dataDir, e.file), { force: true });
  for (let i = 0; i < old.length; i += 500)
    await db('rpa_evidence')
      .whereIn(
        'id',
        old.slice(i, i + 500).map((e) => e.id),
      )
      .delete();
  for (const jobId of new Set(old.map((e) => e.job_id))) {
    const dir = path.join(dataDir, EVIDENCE_DIR, String(jobId));
    try {
      if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
    } catch {
      /* a file arrived meanwhile: the folder stays */
    }
  }
  return old.length;
}
