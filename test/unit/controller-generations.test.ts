import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Controller } from '../../src/runtime/controller.js';
import { enqueueForObject } from '../../src/runtime/handlers.js';
import { createControllerMetrics } from '../../src/runtime/metrics.js';

describe('Controller generations', () => {
  const controllers: Controller[] = [];
  afterEach(async () => {
    for (const c of controllers.splice(0)) await c.stop();
  });
  const make = () => {
    const controller = new Controller({
      kind: 'thing',
      reconciler: { reconcile: async () => ({}) },
      keys: () => [],
      metrics: createControllerMetrics(new Registry()),
      log: pino({ level: 'silent' }),
      options: { workers: 1, resyncPeriodMs: 3_600_000, backoffBaseMs: 50, backoffMaxMs: 5_000 },
    });
    controllers.push(controller);
    return controller;
  };
  const obj = (namespace: string, name: string, generation: number) => ({ metadata: { namespace, name, generation, resourceVersion: String(generation) } });

  it('a new generation forgets the key\'s backoff; the same generation, or a namesake in another namespace, does not', () => {
    const controller = make();
    const handlers = enqueueForObject(controller, 'Thing');
    handlers.upsert(obj('a', 'p', 1));
    // Two failed attempts on a/p: its backoff grows.
    controller.queue.addRateLimited('a/p');
    controller.queue.addRateLimited('a/p');
    expect(controller.queue.attempts('a/p')).toBe(2);
    handlers.upsert(obj('a', 'p', 1)); // a status echo: same generation
    handlers.upsert(obj('b', 'p', 7)); // another object of the same name
    expect(controller.queue.attempts('a/p')).toBe(2);
    handlers.upsert(obj('a', 'p', 2)); // the spec changed
    expect(controller.queue.attempts('a/p')).toBe(0);
    expect(controller.rememberedGenerations).toBe(2);
  });

  it('a deleted object is forgotten: none remembered, and a new object of the same name starts afresh', () => {
    const controller = make();
    const handlers = enqueueForObject(controller, 'Thing');
    handlers.upsert(obj('a', 'p', 3));
    handlers.delete(obj('a', 'p', 3));
    expect(controller.rememberedGenerations).toBe(0);
    controller.queue.addRateLimited('a/p');
    handlers.upsert(obj('a', 'p', 1)); // recreated: nothing seen before, so no backoff dropped
    expect(controller.queue.attempts('a/p')).toBe(1);
    expect(controller.rememberedGenerations).toBe(1);
  });
});
