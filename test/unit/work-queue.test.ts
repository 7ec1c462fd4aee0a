import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExponentialBackoff } from '../../src/util/backoff.js';
import { WorkQueue } from '../../src/runtime/work-queue.js';

const queue = () => new WorkQueue({ backoff: { baseMs: 100, maxMs: 10_000, jitter: 0 } });

describe('WorkQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs a key added many times once', async () => {
    const q = queue();
    for (let i = 0; i < 100; i++) q.add('ns/a');
    q.add('ns/b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
  });

  it('never hands a key being processed to a second worker, and re-queues it when done', async () => {
    const q = queue();
    q.add('ns/a');
    const first = await q.get();
    q.add('ns/a'); // arrives while a worker holds it
    q.add('ns/a');
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(first!);
    await Promise.resolve();
    expect(second).toBe('ns/a');
    q.done('ns/a');
    expect(q.length).toBe(0);
  });

  it('keeps the earliest of two delayed adds', async () => {
    const q = queue();
    q.addAfter('k', 1_000);
    q.addAfter('k', 5_000);
    vi.advanceTimersByTime(999);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.length).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(q.length).toBe(1);
  });

  it('backs off exponentially per key and forgets on success', () => {
    const q = queue();
    expect([q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')]).toEqual([100, 200, 400]);
    expect(q.addRateLimited('other')).toBe(100);
    expect(q.attempts('k')).toBe(3);
    q.forget('k');
    expect(q.attempts('k')).toBe(0);
    expect(q.addRateLimited('k')).toBe(100);
  });

  it('shuts down after in-flight work is done, and hands out nothing more', async () => {
    const q = queue();
    q.add('a');
    q.add('b');
    const key = await q.get();
    let drained = false;
    const shutdown = q.shutdown().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done(key!);
    await shutdown;
    expect(drained).toBe(true);
    q.add('c');
    // 'b' was queued but never started: shutdown stops taking work.
    expect(await q.get()).toBeUndefined();
  });
});

describe('ExponentialBackoff', () => {
  it('caps at maxMs, even after very many failures', () => {
    const b = new ExponentialBackoff({ baseMs: 5, maxMs: 1_000, jitter: 0 });
    for (let i = 0; i < 2_000; i++) b.next('k');
    expect(b.next('k')).toBe(1_000);
  });

  it('jitters within [1 - jitter, 1] of the exponential value', () => {
    const low = new ExponentialBackoff({ baseMs: 100, maxMs: 10_000, jitter: 0.5, random: () => 1 });
    const high = new ExponentialBackoff({ baseMs: 100, maxMs: 10_000, jitter: 0.5, random: () => 0 });
    expect(low.delayFor(3)).toBe(400);
    expect(high.delayFor(3)).toBe(800);
  });

  it('rejects nonsense settings', () => {
    expect(() => new ExponentialBackoff({ baseMs: 0, maxMs: 10, jitter: 0 })).toThrow(RangeError);
    expect(() => new ExponentialBackoff({ baseMs: 10, maxMs: 10, jitter: 2 })).toThrow(RangeError);
  });
});
