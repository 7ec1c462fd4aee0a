import { Counter, Histogram, type Registry } from 'prom-client';
import type { ThrottleObserver } from '../kube/request-throttle.js';

/**
 * The request throttle's metrics (kube/request-throttle.ts), in the shape of
 * client-go's rest_client_rate_limiter_duration_seconds: how long requests
 * waited before they were sent, on the client-side budget or on a server's
 * Retry-After, and how often the apiserver said to slow down.
 */
export interface ClientMetrics {
  throttleWait: Histogram<'reason'>;
  throttledResponses: Counter<'code'>;
  /** The observer the API clients report to. */
  throttleObserver: ThrottleObserver;
}

export function createClientMetrics(registry: Registry): ClientMetrics {
  const registers = [registry];
  const throttleWait = new Histogram({
    name: 'configpush_client_rate_limiter_duration_seconds',
    help: 'Time an apiserver request waited before it was sent: reason="budget" (the --kube-api-qps/--kube-api-burst token bucket; every request is observed) or reason="retry_after" (held back by a 429 or 503 Retry-After; only requests that waited).',
    labelNames: ['reason'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
    registers,
  });
  const throttledResponses = new Counter({
    name: 'configpush_client_throttled_responses_total',
    help: 'Apiserver answers that asked the operator to slow down (429, or 503, with Retry-After), by status code.',
    labelNames: ['code'],
    registers,
  });
  return {
    throttleWait,
    throttledResponses,
    throttleObserver: {
      waited: (reason, seconds) => throttleWait.observe({ reason }, seconds),
      throttled: (status) => throttledResponses.inc({ code: String(status) }),
    },
  };
}
