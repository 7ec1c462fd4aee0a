import { join } from 'node:path';

/** What one `npm run soak` does: how long, from which seed, where it writes its figures. */
export interface SoakOptions {
  minutes: number;
  seed: number;
  /** Seconds between two samples of the operator process (per-minute rows aggregate them). */
  sampleSeconds: number;
  /** Path of the figures without extension (.md, .json, .png are added). */
  out: string;
  /** Leave the soak's control plane running afterwards (to look around). */
  keepCluster: boolean;
  /**
   * Heap snapshots (test/soak/heap-snapshots.ts): of the process before the
   * judged one just before the last kill, and of the judged one when the work
   * stops and after the quiet. Off by default: a snapshot pauses the process
   * and leaves its RSS much higher.
   */
  heapSnapshots: boolean;
}

export const USAGE = `usage: npm run soak -- [--minutes N] [--seed N] [--sample-seconds N] [--out PATH] [--keep-cluster] [--heap-snapshots]
  --minutes N          how long the mixed work runs (default 60; 0.5 is a smoke run)
  --seed N             the seed of every random choice (default: from the clock)
  --sample-seconds N   seconds between samples of the operator process (default 10)
  --out PATH           the figures' path without extension (default bench/results/soak-<UTC date>)
  --keep-cluster       leave the soak's control plane (.cache/cluster-soak) running
  --heap-snapshots     heap snapshots into .cache/soak/heap: of the process before the judged one, just before
                       the last kill; of the judged one when the work stops and after the quiet`;

function positive(flag: string, raw: string | undefined, integer: boolean): number {
  const value = Number(raw);
  if (raw === undefined || raw.startsWith('--') || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${flag} needs a positive ${integer ? 'integer' : 'number'}, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}\n${USAGE}`);
  }
  return value;
}

/** Parses the soak's flags; anything unknown or malformed is an error naming it, with the usage. */
export function parseSoakOptions(argv: readonly string[], repoRoot: string, now = new Date()): SoakOptions {
  const options: SoakOptions = {
    minutes: 60,
    seed: (now.getTime() ^ (process.pid << 16)) >>> 0,
    sampleSeconds: 10,
    out: join(repoRoot, 'bench/results', `soak-${now.toISOString().slice(0, 10)}`),
    keepCluster: false,
    heapSnapshots: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    switch (flag) {
      case '--minutes':
        options.minutes = positive(flag, value, false);
        i++;
        break;
      case '--seed':
        options.seed = positive(flag, value, true) >>> 0;
        i++;
        break;
      case '--sample-seconds':
        options.sampleSeconds = positive(flag, value, false);
        i++;
        break;
      case '--out':
        if (value === undefined || value.startsWith('--') || value === '') throw new Error(`--out needs a path\n${USAGE}`);
        options.out = value;
        i++;
        break;
      case '--keep-cluster':
        options.keepCluster = true;
        break;
      case '--heap-snapshots':
        options.heapSnapshots = true;
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(flag)}\n${USAGE}`);
    }
  }
  return options;
}
