import cliProgress from 'cli-progress';

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export interface Step {
  add(bytes: number, files?: number): void;
  stop(): void;
}

/** One progress bar on stderr per build step, counting bytes (and files when given). */
export function step(label: string, totalBytes: number, totalFiles?: number, showTotal = true): Step {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {mb}${showTotal ? ` / ${mb(totalBytes)}` : ''}${totalFiles === undefined ? '' : ` {files}/${totalFiles} ファイル`}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 2000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let bytes = 0;
  let files = 0;
  bar.start(Math.max(1, totalBytes), 0, { mb: mb(0), files: 0 });
  return {
    add(n, f = 0) {
      bytes += n;
      files += f;
      bar.update(Math.min(bytes, Math.max(1, totalBytes)), { mb: mb(bytes), files });
    },
    stop() {
      bar.update(Math.min(bytes, Math.max(1, totalBytes)), { mb: mb(bytes), files });
      bar.stop();
    },
  };
}
