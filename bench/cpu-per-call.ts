/**
 * This process's CPU (user + system, so the collector's work is in it) per
 * call of `call`, in µs, after a short warm-up. `call` returns a number that
 * is summed and checked, so the work cannot be optimised away.
 */
export function cpuMicrosPerCall(calls: number, call: () => number, warmUp = 200): number {
  let sink = 0;
  for (let i = 0; i < Math.min(warmUp, calls); i++) sink += call();
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) sink += call();
  const spent = process.cpuUsage(before);
  if (sink < 0) throw new Error('unreachable');
  return (spent.user + spent.system) / calls;
}
