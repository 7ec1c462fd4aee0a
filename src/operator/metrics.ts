import { Registry, collectDefaultMetrics } from 'prom-client';
import { createConfigPushMetrics, type ConfigPushMetrics } from '../configpush/metrics.js';
import { createControllerMetrics, type ControllerMetrics } from '../runtime/metrics.js';
import { createClientMetrics, type ClientMetrics } from './client-metrics.js';
import { registerGcDurations } from './gc-metrics.js';

/**
 * Every metric of one operator, on one Registry per operator instance, so
 * tests that run several operators in one process keep their counters apart.
 */
export type Metrics = ControllerMetrics & ConfigPushMetrics & ClientMetrics & { registry: Registry };

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) {
    collectDefaultMetrics({ register: registry });
    // Observes for the life of the process, as the default collectors do; only the program asks for them.
    registerGcDurations(registry);
  }
  return { registry, ...createControllerMetrics(registry), ...createConfigPushMetrics(registry), ...createClientMetrics(registry) };
}
