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

  it('never throws when the apiserver refuses an event', async () => {
    const core = { createNamespacedEvent: async () => Promise.reject(new Error('boom')) } as unknown as CoreV1Api;
    const recorder = new EventRecorder(core, pino({ level: 'silent' }), { component: 'test', windowMs: 1, minUpdateIntervalMs: 1 });
    await expect(recorder.record(object, 'Normal', 'Applied', 'x')).resolves.toBeUndefined();
  });
});
