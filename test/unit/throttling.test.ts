import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiException, CoreV1Api, ServerConfiguration, createConfiguration, wrapHttpLibrary } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TransientError, retryAfterOf } from '../../src/core/errors.js';
import { ApiError, retryAfterMsOf, withApiErrors } from '../../src/kube/api-errors.js';
import { RequestBudget, RequestThrottle, RetryAfterGate } from '../../src/kube/request-throttle.js';
import { throttledRetryDelay } from '../../src/kube/resilient-informer.js';
import { UndiciRequestLibrary } from '../../src/kube/undici-http-library.js';
import { ConfigError, DEFAULT_KUBE_API_BURST, DEFAULT_KUBE_API_QPS, parseConfig } from '../../src/operator/config.js';
import { createClientMetrics } from '../../src/operator/client-metrics.js';
import { Controller, retryAfterDelay } from '../../src/runtime/controller.js';
import { createControllerMetrics } from '../../src/runtime/metrics.js';
import { MAX_RETRY_AFTER_MS, parseRetryAfter, retryAfterHeader } from '../../src/util/retry-after.js';
import { TokenBucket } from '../../src/util/token-bucket.js';

const throttled = (code: number, headers: Record<string, string>) =>
  new ApiException(code, `HTTP-Code: ${code}`, JSON.stringify({ kind: 'Status', reason: 'TooManyRequests', message: 'too many requests, please try again later', code }), headers);

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-29T12:00:00Z');

  it.each([
    ['1', 1000],
    ['0', 0],
    [' 30 ', 30_000],
    ['600', MAX_RETRY_AFTER_MS],
  ])('reads delay-seconds %j as %i ms (capped)', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it('reads an HTTP-date as the time until it, never negative', () => {
    expect(parseRetryAfter('Sun, 29 Nov 2026 12:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 11:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Mon, 30 Nov 2026 12:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
  });

  it.each([undefined, '', '-1', '1.5', 'soon', '5 seconds', 'Sun, 99 Foo 2026 GMT'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it('takes the first of repeated headers and finds the header in any case', () => {
    expect(parseRetryAfter(['2', '9'], now)).toBe(2000);
    expect(retryAfterHeader({ 'Retry-After': '4' })).toBe('4');
    expect(retryAfterHeader({ 'retry-after': ['3', '4'] })).toBe('3');
    expect(retryAfterHeader({ 'content-type': 'x' })).toBeUndefined();
  });
});

describe('ApiError carries the server Retry-After', () => {
  it('on a 429 and a 503, from the ApiException headers, whatever their case', () => {
    expect(new ApiError(throttled(429, { 'retry-after': '3' })).retryAfterMs).toBe(3000);
    expect(new ApiError(throttled(503, { 'Retry-After': '1' })).retryAfterMs).toBe(1000);
    const err = new ApiError(throttled(429, { 'retry-after': '2' }));
    expect(err.retry).toBe('transient');
    expect(err.reason).toBe('TooManyRequests');
  });

  it('not on other statuses, nor without the header', () => {
    expect(new ApiError(throttled(500, { 'retry-after': '3' })).retryAfterMs).toBeUndefined();
    expect(new ApiError(throttled(429, {})).retryAfterMs).toBeUndefined();
    expect(retryAfterMsOf(new Error('x'))).toBeUndefined();
  });

  it('survives wrapping: retryAfterOf looks through causes; a TransientError can carry one itself', () => {
    const api = new ApiError(throttled(429, { 'retry-after': '4' }));
    expect(retryAfterOf(new TransientError('TargetFailed', 'wrapped', { cause: api }))).toBe(4000);
    expect(retryAfterOf(new TransientError('Slow', 'own', { retryAfterMs: 1500 }))).toBe(1500);
    expect(retryAfterOf(new TransientError('Other', 'none'))).toBeUndefined();
    expect(retryAfterOf('not an error')).toBeUndefined();
  });
});

describe('throttledRetryDelay: a throttled LIST or watch start', () => {
  it('waits the Retry-After of a throttled LIST, plus 0-20%, not the exponential restart backoff', () => {
    const list = new ApiError(throttled(429, { 'retry-after': '3' }));
    expect(throttledRetryDelay(list, () => 0)).toBe(3000);
    expect(throttledRetryDelay(list, () => 1)).toBe(3600);
    expect(throttledRetryDelay(new ApiError(throttled(503, { 'retry-after': '2' })), () => 0)).toBe(2000);
  });

  it('a watch start answered 429 (statusCode, no headers) waits 1 s; other failures keep the backoff', () => {
    expect(throttledRetryDelay(Object.assign(new Error('Too Many Requests'), { statusCode: 429 }), () => 0)).toBe(1000);
    expect(throttledRetryDelay(Object.assign(new Error('Internal'), { statusCode: 500 }))).toBeUndefined();
    expect(throttledRetryDelay(new ApiError(throttled(503, {})))).toBeUndefined();
    expect(throttledRetryDelay(new TypeError('fetch failed'))).toBeUndefined();
  });
});

describe('TokenBucket', () => {
  it('lets a burst through at once, then one token per 1/qps, waiters in arrival order', () => {
    let t = 0;
    const bucket = new TokenBucket({ qps: 10, burst: 3, now: () => t });
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0]);
    // Empty: the next three wait 100, 200, 300 ms (reservations queue up).
    expect(bucket.reserve()).toBeCloseTo(100);
    expect(bucket.reserve()).toBeCloseTo(200);
    expect(bucket.reserve()).toBeCloseTo(300);
    t = 1000; // 1 s later: 10 tokens refilled, 3 owed, capped at the burst of 3.
    expect(bucket.available()).toBeCloseTo(3);
  });

  it('holds the long-run rate at qps: 100 requests at qps 20, burst 5 need (100 - 5) / 20 s', () => {
    const bucket = new TokenBucket({ qps: 20, burst: 5, now: () => 0 });
    let last = 0;
    for (let i = 0; i < 100; i++) last = bucket.reserve();
    expect(last).toBeCloseTo(((100 - 5) / 20) * 1000);
  });

  it('gives back a cancelled reservation', () => {
    const bucket = new TokenBucket({ qps: 1, burst: 1, now: () => 0 });
    bucket.reserve();
    expect(bucket.reserve()).toBeCloseTo(1000);
    bucket.cancel();
    expect(bucket.reserve()).toBeCloseTo(1000);
  });

  it('refuses a rate or burst that means nothing', () => {
    expect(() => new TokenBucket({ qps: 0, burst: 1 })).toThrow(/qps/);
    expect(() => new TokenBucket({ qps: Number.POSITIVE_INFINITY, burst: 1 })).toThrow(/qps/);
    expect(() => new TokenBucket({ qps: 1, burst: 0 })).toThrow(/burst/);
    expect(() => new TokenBucket({ qps: 1, burst: 1.5 })).toThrow(/burst/);
  });
});

describe('RequestBudget and RetryAfterGate', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a request beyond the burst waits for its token; an abort while waiting rejects and returns the token', async () => {
    const budget = new RequestBudget({ qps: 2, burst: 1 }, () => Date.now());
    expect(await budget.take()).toBe(0);
    let done = false;
    const second = budget.take().then((ms) => ((done = true), ms));
    await vi.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await second).toBeCloseTo(500);
    const controller = new AbortController();
    const third = budget.take(controller.signal);
    controller.abort(new DOMException('timed out', 'TimeoutError'));
    await expect(third).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('holds requests until the Retry-After has passed, plus at most 20% jitter; a later shorter ask never shortens it', async () => {
    const gate = new RetryAfterGate(() => Date.now(), () => 1);
    gate.pauseFor(2000);
    gate.pauseFor(500);
    expect(gate.remaining()).toBe(2000);
    let passedAt: number | undefined;
    const start = Date.now();
    const passing = gate.pass().then(() => (passedAt = Date.now() - start));
    await vi.advanceTimersByTimeAsync(1999);
    expect(passedAt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2000);
    await passing;
    expect(passedAt).toBe(2400);
    expect(await gate.pass()).toBe(0);
  });

  it('a throttle pauses on 429 and 503 with Retry-After only, and reports each answer and wait', async () => {
    const registry = new Registry();
    const metrics = createClientMetrics(registry);
    const throttle = new RequestThrottle(undefined, new RetryAfterGate(() => Date.now(), () => 0), metrics.throttleObserver);
    throttle.afterResponse(500, { 'retry-after': '5' });
    throttle.afterResponse(429, {});
    expect(throttle.gate.remaining()).toBe(0);
    throttle.afterResponse(429, { 'retry-after': '1' });
    expect(throttle.gate.remaining()).toBe(1000);
    const sending = throttle.beforeSend();
    await vi.advanceTimersByTimeAsync(1000);
    await sending;
    const text = await registry.metrics();
    expect(text).toMatch(/configpush_client_throttled_responses_total\{code="429"\} 1/);
    expect(text).toMatch(/configpush_client_rate_limiter_duration_seconds_sum\{reason="retry_after"\} 1\b/);
  });
});

describe('UndiciRequestLibrary with a throttle (loopback server)', () => {
  let server: Server;
  const arrivals: number[] = [];

  beforeEach(async () => {
    arrivals.length = 0;
    server = createServer((req, res) => {
      arrivals.push(performance.now());
      if (arrivals.length === 1) res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ kind: 'Status', code: 429 }));
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ metadata: { name: 'cfg' } }));
      req.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('after a 429 with Retry-After: 1, the next request leaves no sooner than 1 s later, and the error carries the delay', async () => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const throttle = new RequestThrottle(undefined);
    const core = withApiErrors(
      new CoreV1Api(createConfiguration({ baseServer: new ServerConfiguration(base, {}), httpApi: wrapHttpLibrary(new UndiciRequestLibrary({ throttle })) })),
    );
    const failure = await core.readNamespacedConfigMap({ namespace: 'ns', name: 'cfg' }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).retryAfterMs).toBe(1000);
    await core.readNamespacedConfigMap({ namespace: 'ns', name: 'cfg' });
    expect(arrivals).toHaveLength(2);
    expect((arrivals[1] as number) - (arrivals[0] as number)).toBeGreaterThanOrEqual(1000);
  });

  it('a budget of 5/s with burst 2 spaces 6 requests over at least 0.8 s', async () => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    arrivals.push(0); // no 429 in this test
    const throttle = new RequestThrottle(new RequestBudget({ qps: 5, burst: 2 }));
    const core = new CoreV1Api(createConfiguration({ baseServer: new ServerConfiguration(base, {}), httpApi: wrapHttpLibrary(new UndiciRequestLibrary({ throttle })) }));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 6 }, () => core.readNamespacedConfigMap({ namespace: 'ns', name: 'cfg' })));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(790);
    expect(arrivals).toHaveLength(7);
  });
});

describe('the result switch honours Retry-After', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function controllerThat(fail: (attempt: number) => unknown) {
    const runs: number[] = [];
    const controller = new Controller({
      kind: 'thing',
      reconciler: {
        reconcile: async (_request, attempt) => {
          runs.push(Date.now());
          const err = fail(attempt);
          if (err) throw err;
          return {};
        },
      },
      keys: () => [],
      metrics: createControllerMetrics(new Registry()),
      log: pino({ level: 'silent' }),
      options: { workers: 1, resyncPeriodMs: 3_600_000, backoffBaseMs: 50, backoffMaxMs: 5_000 },
    });
    return { controller, runs };
  }

  it('requeues a throttled key no sooner than its Retry-After (backoff alone would say 50 ms), and within +20% jitter', async () => {
    const { controller, runs } = controllerThat((attempt) => (attempt === 1 ? new ApiError(throttled(429, { 'retry-after': '2' })) : undefined));
    await controller.start();
    controller.enqueue('ns/a');
    await vi.advanceTimersByTimeAsync(10);
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1980);
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(runs).toHaveLength(2);
    expect((runs[1] as number) - (runs[0] as number)).toBeGreaterThanOrEqual(2000);
    expect((runs[1] as number) - (runs[0] as number)).toBeLessThanOrEqual(2400);
    await controller.stop();
  });

  it('an earlier pending requeue does not bring the throttled key back sooner', async () => {
    const { controller, runs } = controllerThat((attempt) => (attempt === 1 ? new ApiError(throttled(429, { 'retry-after': '3' })) : undefined));
    await controller.start();
    controller.queue.addAfter('ns/a', 100); // e.g. a wave pause asked for earlier
    controller.enqueue('ns/a');
    await vi.advanceTimersByTimeAsync(2900);
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(800);
    expect(runs).toHaveLength(2);
    await controller.stop();
  });

  it('with no Retry-After the usual backoff applies, and a key throttled again and again is not a hot loop', async () => {
    const plain = controllerThat((attempt) => (attempt === 1 ? new TransientError('Flaky', 'once') : undefined));
    await plain.controller.start();
    plain.controller.enqueue('ns/b');
    await vi.advanceTimersByTimeAsync(100);
    expect(plain.runs).toHaveLength(2);
    await plain.controller.stop();

    const always = controllerThat(() => new ApiError(throttled(429, { 'retry-after': '1' })));
    await always.controller.start();
    always.controller.enqueue('ns/c');
    await vi.advanceTimersByTimeAsync(10_000);
    // One reconcile per Retry-After (1 s) plus 0-20% jitter: 9 or 10 in 10 s, never more.
    expect(always.runs.length).toBeGreaterThanOrEqual(8);
    expect(always.runs.length).toBeLessThanOrEqual(10);
    for (let i = 1; i < always.runs.length; i++) expect((always.runs[i] as number) - (always.runs[i - 1] as number)).toBeGreaterThanOrEqual(1000);
    await always.controller.stop();
  });

  it('the server word replaces the backoff: after 8 throttled failures the key still comes back after the Retry-After, not after 2^8 x base', async () => {
    let throttledFailures = 8;
    const { controller, runs } = controllerThat(() => (throttledFailures-- > 0 ? new ApiError(throttled(429, { 'retry-after': '1' })) : undefined));
    await controller.start();
    controller.enqueue('ns/d');
    await vi.advanceTimersByTimeAsync(8 * 1200 + 100);
    // 8 failures then the success, each about 1 s apart (the backoff alone would be at 50 ms x 2^7 = 6.4 s by now).
    expect(runs).toHaveLength(9);
    expect(controller.queue.attempts('ns/d')).toBe(0);
    await controller.stop();
  });

  it('retryAfterDelay: the Retry-After plus 0..20% jitter, 0 without one', () => {
    const err = new ApiError(throttled(429, { 'retry-after': '1' }));
    expect(retryAfterDelay(err, () => 0)).toBe(1000);
    expect(retryAfterDelay(err, () => 1)).toBe(1200);
    expect(retryAfterDelay(new TransientError('X', 'y'), () => 1)).toBe(0);
  });
});

describe('--kube-api-qps / --kube-api-burst', () => {
  it('default to the measured budget', () => {
    expect(parseConfig([], {}).kubeApi).toEqual({ qps: DEFAULT_KUBE_API_QPS, burst: DEFAULT_KUBE_API_BURST });
  });

  it('read flags over the environment; 0 turns the budget off', () => {
    expect(parseConfig(['--kube-api-qps', '20', '--kube-api-burst', '30'], { CONFIGPUSH_KUBE_API_QPS: '5' }).kubeApi).toEqual({ qps: 20, burst: 30 });
    expect(parseConfig([], { CONFIGPUSH_KUBE_API_QPS: '7.5', CONFIGPUSH_KUBE_API_BURST: '9' }).kubeApi).toEqual({ qps: 7.5, burst: 9 });
    expect(parseConfig(['--kube-api-qps', '0', '--kube-api-burst', '0'], {}).kubeApi).toEqual({ qps: 0, burst: 0 });
  });

  it.each([
    [['--kube-api-qps=-1'], /--kube-api-qps must be a number >= 0/],
    [['--kube-api-qps', 'fast'], /--kube-api-qps must be a number >= 0/],
    [['--kube-api-burst', '2.5'], /--kube-api-burst must be a whole number/],
    [['--kube-api-qps', '10', '--kube-api-burst', '0'], /--kube-api-burst must be >= 1 when --kube-api-qps is above 0/],
  ])('refuses %j with a clear error', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(ConfigError);
    expect(() => parseConfig(argv, {})).toThrow(message);
  });
});
