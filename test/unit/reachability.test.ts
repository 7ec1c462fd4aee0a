import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../src/kube/api-errors.js';
import { Controller, type ReconcileRequest } from '../../src/runtime/controller.js';
import { createControllerMetrics } from '../../src/runtime/metrics.js';
import { ReachabilityProbe } from '../../src/runtime/reachability.js';

const log = pino({ level: 'silent' });
const refused = () => new ApiError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }));

describe('ReachabilityProbe', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('probes only after a failure to reach the apiserver, and calls onBack once when an outage it saw ends', async () => {
    let up = false;
    const probe = vi.fn(async () => {
      if (!up) throw refused();
    });
    const onBack = vi.fn();
    const p = new ReachabilityProbe({ probe, onBack, intervalMs: 1_000, log });

    await vi.advanceTimersByTimeAsync(60_000);
    expect(probe).not.toHaveBeenCalled(); // nothing noted: no traffic

    p.noteUnreachable();
    p.noteUnreachable(); // a second note in the same outage starts nothing new
    await vi.advanceTimersByTimeAsync(10_000);
    const probesDuringOutage = probe.mock.calls.length;
    // One probe per 1-1.5 s: between 6 and 10 in 10 s, never a hot loop.
    expect(probesDuringOutage).toBeGreaterThanOrEqual(6);
    expect(probesDuringOutage).toBeLessThanOrEqual(10);
    expect(onBack).not.toHaveBeenCalled();

    up = true;
    await vi.advanceTimersByTimeAsync(1_500);
    expect(onBack).toHaveBeenCalledTimes(1);
    const probesTotal = probe.mock.calls.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(probe).toHaveBeenCalledTimes(probesTotal); // idle again
    p.stop();
  });

  it('does not call onBack when the first probe answers: one lost request is not an outage', async () => {
    const probe = vi.fn(async () => undefined);
    const onBack = vi.fn();
    const p = new ReachabilityProbe({ probe, onBack, intervalMs: 1_000, log });
    p.noteUnreachable();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(probe).toHaveBeenCalledTimes(1);
    expect(onBack).not.toHaveBeenCalled();
    p.stop();
  });
});

describe('Controller recovery after an outage', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('retries a key that failed only to reach the apiserver within ~2.5 s of its return, not when its grown backoff ends', async () => {
    let up = false;
    const attempts: number[] = [];
    const reconciler = {
      reconcile: vi.fn(async (_request: ReconcileRequest) => {
        attempts.push(Date.now());
        if (!up) throw refused();
        return {};
      }),
    };
    // No jitter: backoffs of exactly 1, 2, 4, 8, 16, 32 s, so the ordinary retry time is known.
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const controller = new Controller({
      kind: 'configpush',
      reconciler,
      keys: () => [],
      metrics: createControllerMetrics(new Registry()),
      log,
      options: { workers: 1, resyncPeriodMs: 3_600_000, backoffBaseMs: 1_000, backoffMaxMs: 300_000 },
      probe: async () => {
        if (!up) throw refused();
      },
    });
    await controller.start();
    controller.enqueue('ns/push');
    // A 58 s outage: tries at 0, 1, 3, 7, 15, 31 s; the next ordinary one would be at 63 s.
    const start = Date.now();
    await vi.advanceTimersByTimeAsync(58_000);
    expect(attempts.map((t) => t - start)).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000]);

    up = true;
    const back = Date.now();
    await vi.advanceTimersByTimeAsync(2_500);
    // Retried within 2.5 s of the return, not at 63 s.
    expect(attempts).toHaveLength(7);
    expect(attempts.at(-1)! - back).toBeLessThanOrEqual(2_500);
    expect(controller.queue.attempts('ns/push')).toBe(0);
    await controller.stop();
    vi.restoreAllMocks();
  });

  it('leaves a key that the apiserver refused (403) to its ordinary backoff', async () => {
    const forbidden = new ApiError(Object.assign(new Error('forbidden'), { statusCode: 403 }));
    let calls = 0;
    const controller = new Controller({
      kind: 'configpush',
      reconciler: {
        reconcile: async () => {
          calls++;
          throw forbidden;
        },
      },
      keys: () => [],
      metrics: createControllerMetrics(new Registry()),
      log,
      options: { workers: 1, resyncPeriodMs: 3_600_000, backoffBaseMs: 1_000, backoffMaxMs: 300_000 },
      probe: vi.fn(async () => undefined),
    });
    await controller.start();
    controller.enqueue('ns/push');
    await vi.advanceTimersByTimeAsync(60_000);
    // Permanent: reconciled once, then nothing until the push changes.
    expect(calls).toBe(1);
    await controller.stop();
  });
});
