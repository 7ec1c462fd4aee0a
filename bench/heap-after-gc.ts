/**
 * The live heap after two full collections (the second frees what the
 * first's finalizers released), for the per-entry memory scripts
 * (cache-memory.ts, target-facts-memory.ts, verified-memory.ts). They run
 * under `node --expose-gc`; without it this throws at the first call.
 */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
