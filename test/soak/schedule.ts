/**
 * When the soak injects its faults, as fractions of the run. The kills come
 * in the first 40%, so the last operator process lives through the remaining
 * 60% (36 of 60 minutes), including two control-plane restarts: its curve is
 * the one judged for leaks (a kill resets a process's memory, so drift can
 * only show within one process's life).
 */
const KILLS = [0.1, 0.2, 0.3, 0.4];
const CONTROL_PLANE_RESTARTS = [0.25, 0.55, 0.8];

export type FaultKind = 'kill -9' | 'control-plane restart';

export interface Fault {
  atMs: number;
  kind: FaultKind;
}

export function faultSchedule(totalMs: number): Fault[] {
  return [
    ...KILLS.map((f) => ({ atMs: Math.round(f * totalMs), kind: 'kill -9' as const })),
    ...CONTROL_PLANE_RESTARTS.map((f) => ({ atMs: Math.round(f * totalMs), kind: 'control-plane restart' as const })),
  ].sort((a, b) => a.atMs - b.atMs);
}

/** One round of mixed work each minute; a smoke run does ten rounds, at least 5 s apart. */
export function roundMs(totalMs: number): number {
  return Math.max(5_000, Math.min(60_000, Math.round(totalMs / 10)));
}
