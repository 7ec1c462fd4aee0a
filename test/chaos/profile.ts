import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';

/**
 * The sizes of one run of the fault suite. `short` runs inside `npm test`
 * (a few minutes on 2 cores); `long` is `npm run chaos` (CHAOS_PROFILE=long).
 * CHAOS_SEED makes the random choices (workload, kill instants, dropped
 * requests) repeatable; the seed of every run is printed with its figures.
 */
export interface ChaosProfile {
  name: 'short' | 'long';
  seed: number;
  kill: { pushes: number; kills: number; minDelayMs: number; maxDelayMs: number };
  lost: { pushes: number; dropRate: number; requestTimeoutS: number };
  replicas: { replicas: number; pushes: number; specUpdates: number };
  restart: { pushes: number; restarts: number };
  writer: { pushes: number; thirdPartyWrites: number; intervalMs: number };
  hostile: { bad: number; good: number };
  /**
   * Crash at every step: which moments of each request to kill at;
   * `alternate` takes one per request (sent, answered, sent, ...); `stride`
   * takes every n-th request (1: all).
   */
  crashSteps: { phases: ('sent' | 'answered')[]; alternate: boolean; stride: number };
  /** Pushes copying from `sources` Secrets, each source changed `changes` times; `kills` of them with a kill -9. */
  sources: { pushes: number; sources: number; changes: number; kills: number };
  /** Random ConfigPushes drawn by fast-check (fuzz.test.ts); `huge` of them keep a near-limit value (they are slow). */
  fuzz: { pushes: number; huge: number };
  /**
   * Partitions (partition.test.ts), packets dropped: `write` cuts the link
   * right after a target write was sent, for `holdMs`; `watch` cuts it while
   * the operator only watches, for each of `holdMs` in turn; `lease` cuts the
   * leader off right after a Lease renewal was sent (`flapMs` > 0: its answer
   * gets through after that long, then the link is cut again), `rounds` times.
   */
  partition: {
    write: { pushes: number; cuts: number; holdMs: number };
    watch: { pushes: number; holdMs: number[] };
    lease: { pushes: number; rounds: number; flapMs: number };
  };
  /** Budget for the final convergence of a scenario once its faults stop. */
  convergeTimeoutMs: number;
  /** Per-test timeout handed to vitest. */
  testTimeoutMs: number;
}

function seedFromEnv(): number {
  const raw = process.env.CHAOS_SEED;
  if (raw !== undefined && /^\d+$/.test(raw)) return Number(raw) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

const SHORT: Omit<ChaosProfile, 'seed'> = {
  name: 'short',
  kill: { pushes: 50, kills: 5, minDelayMs: 300, maxDelayMs: 2_500 },
  lost: { pushes: 25, dropRate: 0.2, requestTimeoutS: 2 },
  replicas: { replicas: 3, pushes: 30, specUpdates: 10 },
  restart: { pushes: 30, restarts: 1 },
  writer: { pushes: 20, thirdPartyWrites: 100, intervalMs: 40 },
  hostile: { bad: 100, good: 10 },
  // ~11 of the ~44 (request, moment) pairs, ~75 s; the long profile takes them all.
  crashSteps: { phases: ['sent', 'answered'], alternate: true, stride: 2 },
  sources: { pushes: 12, sources: 3, changes: 4, kills: 2 },
  fuzz: { pushes: 60, huge: 3 },
  partition: { write: { pushes: 12, cuts: 2, holdMs: 6_000 }, watch: { pushes: 8, holdMs: [5_000] }, lease: { pushes: 12, rounds: 1, flapMs: 6_000 } },
  convergeTimeoutMs: 90_000,
  testTimeoutMs: 240_000,
};

const LONG: Omit<ChaosProfile, 'seed'> = {
  name: 'long',
  kill: { pushes: 500, kills: 200, minDelayMs: 300, maxDelayMs: 3_000 },
  lost: { pushes: 200, dropRate: 0.2, requestTimeoutS: 2 },
  replicas: { replicas: 3, pushes: 200, specUpdates: 60 },
  restart: { pushes: 200, restarts: 3 },
  writer: { pushes: 60, thirdPartyWrites: 1_000, intervalMs: 40 },
  hostile: { bad: 100, good: 40 },
  crashSteps: { phases: ['sent', 'answered'], alternate: false, stride: 1 },
  sources: { pushes: 80, sources: 6, changes: 12, kills: 8 },
  fuzz: { pushes: 1_000, huge: 12 },
  partition: {
    write: { pushes: 120, cuts: 12, holdMs: 6_000 },
    watch: { pushes: 40, holdMs: [5_000, 45_000, 5_000, 45_000] },
    lease: { pushes: 40, rounds: 4, flapMs: 6_000 },
  },
  convergeTimeoutMs: 300_000,
  testTimeoutMs: 30 * 60_000,
};

export const profile: ChaosProfile = { ...(process.env.CHAOS_PROFILE === 'long' ? LONG : SHORT), seed: seedFromEnv() };

/** Everything the suite writes at run time lives here (git-ignored). */
export const chaosDir = join(repoRoot, '.cache/chaos');
/** Per-run scratch: operator logs, figures of each scenario, pids of the children started (the soak keeps its own: CHAOS_RUN_DIR). */
export const runDir = process.env.CHAOS_RUN_DIR ?? join(chaosDir, 'run');
/** The compiled operator (built by the global setup from src/, or CHAOS_OPERATOR_DIST). */
export const operatorMain = join(process.env.CHAOS_OPERATOR_DIST ?? join(chaosDir, 'dist'), 'src/main.js');
/** The suite's own control plane, apart from the e2e suite's and the benchmarks' (CHAOS_CLUSTER_DIR: another one, e.g. one engineer's). */
export const chaosClusterDir = process.env.CHAOS_CLUSTER_DIR ?? join(repoRoot, '.cache/cluster-chaos');
export const resultsDir = join(repoRoot, 'bench/results');
