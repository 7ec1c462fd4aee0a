import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventRecorder } from '../../src/kube/event-recorder.js';

/** A plain-object stand-in for the three Event calls the recorder makes. */
function fakeCore() {
  const stored = new Map<string, CoreV1Event>();
  const calls: string[] = [];
  const core = {
    async createNamespacedEvent({ body }: { namespace: string; body: CoreV1Event }) {
      calls.push('create');
      stored.set(body.metadata?.name ?? '', structuredClone(body));
      return body;
    },
    async readNamespacedEvent({ name }: { name: string; namespace: string }) {
      calls.push('read');
      return structuredClone(stored.get(name)!);
    },
    async replaceNamespacedEvent({ name, body }: { name: string; namespace: string; body: CoreV1Event }) {
      calls.push('replace');
      stored.set(name, structuredClone(body));
      return body;
    },
  };
  return { core: core as unknown as CoreV1Api, stored, calls };
}

const object = { apiVersion: 'configpush.io/v1alpha1', kind: 'ConfigPush', name: 'p', namespace: 'ns', uid: 'u1' };

describe('EventRecorder', () => {
  beforeEach(() => vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  it('aggregates repeats into one Event and rate-limits its updates', async () => {
    const { core, stored, calls } = fakeCore();
    const recorder = new EventRecorder(core, pino({ level: 'silent' }), { component: 'test', windowMs: 600_000, minUpdateIntervalMs: 60_000 });

    // 70 identical records, one a second.
    for (let i = 0; i < 70; i++) {
      await recorder.record(object, 'Warning', 'Failed', 'same failure');
      vi.advanceTimersByTime(1_000);
    }
    // One create at t=0; one bump at t=60s carrying the 60 repeats so far;
    // the 9 after it wait for the next minute.
    expect(calls).toEqual(['create', 'read', 'replace']);
    expect(stored.size).toBe(1);
    const [event] = [...stored.values()];
    expect(event?.count).toBe(61);
    expect(event?.reason).toBe('Failed');
  });

  it('names an Event after its object and 16 hex digits, one name per series', async () => {
    const { core, stored } = fakeCore();
    const recorder = new EventRecorder(core, pino({ level: 'silent' }), { component: 'test', windowMs: 600_000, minUpdateIntervalMs: 60_000 });
    await recorder.record(object, 'Normal', 'Applied', 'one');
    await recorder.record(object, 'Normal', 'Applied', 'one');
    await recorder.record({ ...object, uid: 'u2' }, 'Normal', 'Applied', 'one');
    expect([...stored.keys()]).toHaveLength(2);
    for (const name of stored.keys()) expect(name).toMatch(/^p\.[0-9a-f]{16}$/);
    expect(recorder.size).toBe(2);
  });

  it('keeps different messages and reasons apart', async () => {
    const { core, stored } = fakeCore();
    const recorder = new EventRecorder(core, pino({ level: 'silent' }), { component: 'test', windowMs: 600_000, minUpdateIntervalMs: 60_000 });
    await recorder.record(object, 'Warning', 'Failed', 'a');
    await recorder.record(object, 'Warning', 'Failed', 'b');
    await recorder.record(object, 'Warning', 'Conflict', 'a');
    expect(stored.size).toBe(3);
  });

  it('starts a new Event once the window has passed', async () => {
    const { core, stored } = fakeCore();
    const recorder = new EventRecorder(core, pino({ level: 'silent' }), { component: 'test', windowMs: 600_000, minUpdateIntervalMs: 60_000 });
    await recorder.record(object, 'Normal', 'Applied', 'x');
    vi.advanceTimersByTime(600_001);
    await recorder.record(object, 'Normal', 'Applied', 'x');
    expect(stored.size).toBe(2);
  });

  it('forgets series older than the window, so memory follows the window and not the number of pushes ever applied', async () => {
    const { core } = fakeCore();
    const recorder = new EventRecorder(core, pino({ level: 'silent' }), { component: 'test', windowMs: 600_000, minUpdateIntervalMs: 60_000 });
    for (let i = 0; i < 100; i++) {
      await recorder.record({ ...object, uid: `u${i}` }, 'Normal', 'Applied', `operation ${i}`);
      vi.advanceTimersByTime(10_000); // 100 pushes over 1,000 s
    }
    // At the last record (t = 990 s) the series first seen at 390..990 s remain.
    expect(recorder.size).toBe(61);
    vi.advanceTimersByTime(600_001);
    await recorder.record(object, 'Normal', 'Applied', 'late');
    expect(recorder.size).toBe(1);
  });

  it('keeps no series for a once Event: each is its own Event, and memory does not follow a burst of them', async () => {
    const { core, stored, calls } = fakeCore();
    const recorder = new EventRecorder(core, pino({ level: 'silent' }), { component: 'test', windowMs: 600_000, minUpdateIntervalMs: 60_000 });
    for (let i = 0; i < 100; i++) await recorder.record({ ...object, uid: `u${i}` }, 'Normal', 'Applied', `operation k${i} applied to ConfigMap ns/t`, 'once');
    expect(recorder.size).toBe(0);
    expect(calls.filter((c) => c === 'create')).toHaveLength(100);
    for (const [name, event] of stored) {
      expect(name).toMatch(/^p\.[0-9a-f]{16}$/);
      expect(event.count).toBe(1);
      expect(event.reason).toBe('Applied');
    }
    // A repeatable Event beside them still joins its series.
    await recorder.record(object, 'Warning', 'Failed', 'same failure');
    await recorder.record(object, 'Warning', 'Failed', 'same failure');
    expect(recorder.size).toBe(1);
    expect(calls.filter((c) => c === 'create')).toHaveLength(101);
  });

  it('never throws when the apiserver refuses an event', async () => {
    const core = { createNamespacedEvent: async () => Promise.reject(new Error('boom')) } as unknown as CoreV1Api;
    const recorder = new EventRecorder(core, pino({ level: 'silent' }), { component: 'test', windowMs: 1, minUpdateIntervalMs: 1 });
    await expect(recorder.record(object, 'Normal', 'Applied', 'x')).resolves.toBeUndefined();
    await expect(recorder.record(object, 'Normal', 'Applied', 'x', 'once')).resolves.toBeUndefined();
  });
});

describe('EventRecorder.emit', () => {
  /** A core whose creates wait until released, to see what runs at once. */
  function gatedCore() {
    const created: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const gates: (() => void)[] = [];
    const core = {
      async createNamespacedEvent({ body }: { namespace: string; body: CoreV1Event }) {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((resolve) => gates.push(resolve));
        inFlight -= 1;
        created.push(body.message ?? '');
        return body;
      },
    };
    const releaseAll = async () => {
      while (gates.length > 0 || inFlight > 0) {
        gates.splice(0).forEach((open) => open());
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    return { core: core as unknown as CoreV1Api, created, gates, releaseAll, maxInFlight: () => maxInFlight };
  }
  const options = { component: 'test', windowMs: 600_000, minUpdateIntervalMs: 60_000 };

  it('returns at once, writes in order, at most maxConcurrentWrites at a time, and flush waits for all', async () => {
    const { core, created, gates, releaseAll, maxInFlight } = gatedCore();
    const recorder = new EventRecorder(core, pino({ level: 'silent' }), { ...options, maxConcurrentWrites: 2 });
    for (let i = 0; i < 5; i++) recorder.emit({ ...object, uid: `u${i}` }, 'Normal', 'Applied', `m${i}`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(gates).toHaveLength(2); // the caller did not wait; two writes started
    let flushed = false;
    const flush = recorder.flush().then((all) => (flushed = all));
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toBe(false);
    await releaseAll();
    await flush;
    expect(flushed).toBe(true);
    expect(created).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(maxInFlight()).toBe(2);
  });

  it('drops what does not fit in the queue, and a flush with a timeout gives up on a write that never answers', async () => {
    const { core, created, gates, releaseAll } = gatedCore();
    const recorder = new EventRecorder(core, pino({ level: 'silent' }), { ...options, maxConcurrentWrites: 1, maxQueued: 2 });
    for (let i = 0; i < 6; i++) recorder.emit({ ...object, uid: `u${i}` }, 'Normal', 'Applied', `m${i}`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(gates).toHaveLength(1); // one writing, two waiting, three dropped
    expect(await recorder.flush(20)).toBe(false);
    await releaseAll();
    expect(created).toEqual(['m0', 'm1', 'm2']);
    expect(await recorder.flush(20)).toBe(true);
  });

  it('logs drops as a count at most once per interval, not a line each, and reports the rest when the interval is over', async () => {
    const lines: { msg: string; dropped: number; droppedTotal: number; configpush: string }[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { core, releaseAll } = gatedCore();
    const recorder = new EventRecorder(core, log, { ...options, maxConcurrentWrites: 1, maxQueued: 2, dropReportIntervalMs: 50 });
    for (let i = 0; i < 2003; i++) recorder.emit({ ...object, name: `p${i}`, uid: `u${i}` }, 'Warning', 'Failed', `m${i}`);
    // 1 writing, 2 waiting, 2,000 dropped: the first drop is logged at once, the other 1,999 wait for the interval.
    const dropLines = () => lines.filter((l) => l.msg === 'events dropped: too many waiting to be written');
    expect(dropLines()).toEqual([expect.objectContaining({ dropped: 1, droppedTotal: 1, configpush: 'p3' })]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(dropLines()).toEqual([
      expect.objectContaining({ dropped: 1, droppedTotal: 1, configpush: 'p3' }),
      expect.objectContaining({ dropped: 1999, droppedTotal: 2000, configpush: 'p2002' }),
    ]);
    await releaseAll();
    expect(await recorder.flush(50)).toBe(true);
  });

  it('a flush (the operator stopping) reports the drops still waiting for the interval at once', async () => {
    const lines: { msg: string; dropped: number; droppedTotal: number }[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { core, releaseAll } = gatedCore();
    const recorder = new EventRecorder(core, log, { ...options, maxConcurrentWrites: 1, maxQueued: 2, dropReportIntervalMs: 60_000 });
    for (let i = 0; i < 13; i++) recorder.emit({ ...object, uid: `u${i}` }, 'Warning', 'Failed', `m${i}`);
    const dropLines = () => lines.filter((l) => l.msg === 'events dropped: too many waiting to be written').map((l) => [l.dropped, l.droppedTotal]);
    expect(dropLines()).toEqual([[1, 1]]);
    const flushed = recorder.flush(50);
    expect(dropLines()).toEqual([
      [1, 1],
      [9, 10],
    ]);
    await releaseAll();
    expect(await flushed).toBe(true);
    // Nothing left to report: a later flush adds no line.
    expect(await recorder.flush(50)).toBe(true);
    expect(dropLines()).toHaveLength(2);
  });
});
