import { ApiException, V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LEASE_TIMING, LeaderElector, type LeaderElectionOptions } from '../../src/runtime/leader-elector.js';

// Runs on vitest's fake clock (setTimeout and Date.now), with client-go's real
// 15 s / 10 s / 2 s timing: advanceTimersByTimeAsync lets every pending API
// promise settle between timers, so a minute of elections takes milliseconds.

const NAMESPACE = 'configpush-system';
const LEASE = 'configpush-operator';
const { leaseDurationMs: LEASE_MS, renewDeadlineMs: RENEW_DEADLINE_MS, retryPeriodMs: RETRY_MS } = DEFAULT_LEASE_TIMING;
const log = pino({ level: 'silent' });

const status = (code: number, reason: string) =>
  new ApiException(code, reason, JSON.stringify({ kind: 'Status', apiVersion: 'v1', reason, code, message: reason }), {});

type Verb = 'read' | 'create' | 'replace';
type Outcome = 'ok' | 'NotFound' | 'AlreadyExists' | 'Conflict' | 'injected';

interface Call {
  by: string;
  verb: Verb;
  at: number;
  outcome: Outcome;
  /** For replace: the resourceVersion the body carried, and the stored one it was checked against. */
  sentResourceVersion?: string | undefined;
  storedResourceVersion?: string | undefined;
  /** For successful reads and writes: the resourceVersion returned. */
  resourceVersion?: string | undefined;
  /** For successful writes: the holder the lease was left with. */
  holder?: string | undefined;
}

/**
 * An in-memory apiserver for one kind, namespaced Leases, with its
 * optimistic concurrency: every successful write bumps resourceVersion;
 * create of an existing lease is 409 AlreadyExists; replace carrying a
 * resourceVersion other than the stored one is 409 Conflict (a replace with
 * none is unconditional, as the apiserver allows for Leases; the tests assert
 * the elector never sends one). Objects go over the "wire" as JSON, so times
 * come back as strings, as from the real client.
 */
class FakeLeaseServer {
  private readonly leases = new Map<string, V1Lease>();
  private revision = 100;
  readonly calls: Call[] = [];
  /**
   * Requests the real apiserver would reject as malformed. Recorded rather than
   * thrown: the elector would swallow a throw as a failed round.
   */
  readonly violations: string[] = [];
  /** Per caller: the failure to inject instead of serving a verb. */
  private readonly faults = new Map<string, (verb: Verb) => Error | undefined>();

  /** Fake-clock latency of reads: the lease is looked up when the request is made, answered this much later. */
  readLatencyMs = 0;
  /**
   * Per caller and verb, fake-clock latency of the answer: the request is
   * served (a write stored) when it is made, and answered this much later, as
   * when the network holds up the response of a write that landed.
   */
  readonly answerLatencyMs = new Map<string, Partial<Record<Verb, number>>>();

  private async answerAfter<T>(by: string, verb: Verb, serve: () => T): Promise<T> {
    const answer = (() => {
      try {
        return { value: serve() };
      } catch (err) {
        return { err };
      }
    })();
    const latency = this.answerLatencyMs.get(by)?.[verb] ?? 0;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if ('err' in answer) throw answer.err;
    return answer.value;
  }

  /** A CoordinationV1Api as seen by one candidate (its calls are recorded under `by`). */
  client(by: string): CoordinationV1Api {
    const api = {
      readNamespacedLease: async ({ name, namespace }: { name: string; namespace: string }) => {
        const answer = (() => {
          try {
            return { lease: this.read(by, namespace, name) };
          } catch (err) {
            return { err };
          }
        })();
        if (this.readLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.readLatencyMs));
        const latency = this.answerLatencyMs.get(by)?.read ?? 0;
        if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
        if ('err' in answer) throw answer.err;
        return answer.lease;
      },
      createNamespacedLease: async ({ namespace, body }: { namespace: string; body: V1Lease }) =>
        this.answerAfter(by, 'create', () => this.create(by, namespace, body)),
      replaceNamespacedLease: async ({ name, namespace, body }: { name: string; namespace: string; body: V1Lease }) =>
        this.answerAfter(by, 'replace', () => this.replace(by, namespace, name, body)),
    };
    return api as unknown as CoordinationV1Api;
  }

  inject(by: string, fault: ((verb: Verb) => Error | undefined) | undefined): void {
    if (fault) this.faults.set(by, fault);
    else this.faults.delete(by);
  }

  get(namespace = NAMESPACE, name = LEASE): V1Lease | undefined {
    const lease = this.leases.get(`${namespace}/${name}`);
    return lease && wire(lease);
  }

  /** Stores a lease as some other process wrote it. */
  seed(lease: V1Lease): void {
    const stored = wire(lease);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.revision) };
    this.leases.set(`${stored.metadata.namespace}/${stored.metadata.name}`, stored);
  }

  writes(by?: string): Call[] {
    return this.calls.filter((c) => c.verb !== 'read' && (by === undefined || c.by === by));
  }

  callsBy(by: string): Call[] {
    return this.calls.filter((c) => c.by === by);
  }

  private record(call: Omit<Call, 'at'>): void {
    this.calls.push({ ...call, at: Date.now() });
  }

  private fault(by: string, verb: Verb): void {
    const err = this.faults.get(by)?.(verb);
    if (err) {
      this.record({ by, verb, outcome: 'injected' });
      throw err;
    }
  }

  private read(by: string, namespace: string, name: string): V1Lease {
    this.fault(by, 'read');
    const lease = this.leases.get(`${namespace}/${name}`);
    if (!lease) {
      this.record({ by, verb: 'read', outcome: 'NotFound' });
      throw status(404, 'NotFound');
    }
    this.record({ by, verb: 'read', outcome: 'ok', resourceVersion: lease.metadata?.resourceVersion });
    return wire(lease);
  }

  private create(by: string, namespace: string, body: V1Lease): V1Lease {
    this.fault(by, 'create');
    const name = body.metadata?.name ?? '';
    if ((body.metadata?.namespace ?? namespace) !== namespace) this.violations.push(`${by}: create in ${namespace} of a lease in ${body.metadata?.namespace}`);
    if (this.leases.has(`${namespace}/${name}`)) {
      this.record({ by, verb: 'create', outcome: 'AlreadyExists' });
      throw status(409, 'AlreadyExists');
    }
    // The apiserver refuses a create that carries a resourceVersion.
    if (body.metadata?.resourceVersion) this.violations.push(`${by}: create with resourceVersion ${body.metadata.resourceVersion}`);
    const stored = wire(body);
    stored.metadata = { ...stored.metadata, namespace, resourceVersion: String(++this.revision) };
    this.leases.set(`${namespace}/${name}`, stored);
    this.record({ by, verb: 'create', outcome: 'ok', holder: stored.spec?.holderIdentity, resourceVersion: stored.metadata.resourceVersion });
    return wire(stored);
  }

  private replace(by: string, namespace: string, name: string, body: V1Lease): V1Lease {
    this.fault(by, 'replace');
    if (body.metadata?.name !== name) this.violations.push(`${by}: replace of ${name} with a body named ${body.metadata?.name}`);
    const current = this.leases.get(`${namespace}/${name}`);
    const sent = body.metadata?.resourceVersion;
    const storedRv = current?.metadata?.resourceVersion;
    if (!current) {
      this.record({ by, verb: 'replace', outcome: 'NotFound', sentResourceVersion: sent });
      throw status(404, 'NotFound');
    }
    if (sent !== undefined && sent !== '' && sent !== storedRv) {
      this.record({ by, verb: 'replace', outcome: 'Conflict', sentResourceVersion: sent, storedResourceVersion: storedRv });
      throw status(409, 'Conflict');
    }
    const stored = wire(body);
    stored.metadata = { ...stored.metadata, namespace, resourceVersion: String(++this.revision) };
    this.leases.set(`${namespace}/${name}`, stored);
    this.record({
      by,
      verb: 'replace',
      outcome: 'ok',
      sentResourceVersion: sent,
      storedResourceVersion: storedRv,
      resourceVersion: stored.metadata.resourceVersion,
      holder: stored.spec?.holderIdentity,
    });
    return wire(stored);
  }
}

/** What a JSON round trip leaves of an object (MicroTimes become their 6-digit ISO strings). */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

interface Candidate {
  identity: string;
  elector: LeaderElector;
  started: ReturnType<typeof vi.fn>;
  stopped: ReturnType<typeof vi.fn>;
  /** Fake-clock times of onStartedLeading / onStoppedLeading. */
  startedAt: number[];
  stoppedAt: number[];
}

function candidate(server: FakeLeaseServer, identity: string, timing: Partial<LeaderElectionOptions> = {}): Candidate {
  const startedAt: number[] = [];
  const stoppedAt: number[] = [];
  const started = vi.fn(() => void startedAt.push(Date.now()));
  const stopped = vi.fn(() => void stoppedAt.push(Date.now()));
  const elector = new LeaderElector(
    server.client(identity),
    { namespace: NAMESPACE, name: LEASE, identity, ...DEFAULT_LEASE_TIMING, ...timing },
    { onStartedLeading: started, onStoppedLeading: stopped },
    log,
  );
  return { identity, elector, started, stopped, startedAt, stoppedAt };
}

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

/** Advances in small steps until `done()` holds; returns the fake time it took. Fails after `limitMs`. */
async function advanceUntil(done: () => boolean, limitMs: number, stepMs = 100): Promise<number> {
  const from = Date.now();
  while (!done()) {
    if (Date.now() - from > limitMs) throw new Error(`condition not met within ${limitMs} ms of fake time`);
    await advance(stepMs);
  }
  return Date.now() - from;
}

const holder = (server: FakeLeaseServer) => server.get()?.spec?.holderIdentity;

describe('LeaderElector', () => {
  let server: FakeLeaseServer;
  let warn: ReturnType<typeof vi.spyOn>;
  const electors: LeaderElector[] = [];
  const make = (identity: string, timing?: Partial<LeaderElectionOptions>) => {
    const c = candidate(server, identity, timing);
    electors.push(c.elector);
    return c;
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-01-01T00:00:00Z') });
    server = new FakeLeaseServer();
    warn = vi.spyOn(log, 'warn');
  });

  afterEach(async () => {
    for (const elector of electors.splice(0)) await elector.stop(false);
    vi.useRealTimers();
    vi.restoreAllMocks();
    expect(server.violations).toEqual([]);
  });

  it('a single candidate creates an absent lease, leads, and keeps renewing it with onStartedLeading called once', async () => {
    const a = make('a');
    expect(a.elector.isLeader()).toBe(false);
    a.elector.start();
    await advance(0);

    expect(a.elector.isLeader()).toBe(true);
    expect(a.started).toHaveBeenCalledTimes(1);
    const created = server.get()!;
    expect(created.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: LEASE_MS / 1000, leaseTransitions: 0 });
    expect(created.spec?.acquireTime).toBe(created.spec?.renewTime);
    expect(String(created.spec?.renewTime)).toMatch(/^2025-01-01T00:00:00\.\d{6}Z$/); // MicroTime: 6 fraction digits
    expect(server.writes().map((w) => [w.verb, w.outcome])).toEqual([['create', 'ok']]);

    await advance(5 * RETRY_MS);
    const renewed = server.get()!;
    expect(a.started).toHaveBeenCalledTimes(1);
    expect(a.stopped).not.toHaveBeenCalled();
    expect(a.elector.isLeader()).toBe(true);
    // One renewal per retry period, each a replace; holder, acquireTime and transitions unchanged.
    expect(server.writes('a').filter((w) => w.verb === 'replace' && w.outcome === 'ok')).toHaveLength(5);
    expect(renewed.spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0, acquireTime: created.spec?.acquireTime });
    expect(new Date(String(renewed.spec?.renewTime)).getTime()).toBe(Date.now());
  });

  it('a second candidate does not take a lease that is held and being renewed, and writes nothing', async () => {
    const a = make('a');
    a.elector.start();
    await advance(0);
    const b = make('b');
    b.elector.start();

    await advance(4 * LEASE_MS);

    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.started).not.toHaveBeenCalled();
    expect(holder(server)).toBe('a');
    expect(server.get()?.spec?.leaseTransitions).toBe(0);
    // b polled (one read per retry period) but never wrote.
    expect(server.callsBy('b').filter((c) => c.verb === 'read').length).toBeGreaterThanOrEqual((4 * LEASE_MS) / RETRY_MS);
    expect(server.writes('b')).toEqual([]);
  });

  it('when the holder stops renewing without releasing, the standby takes over once the lease duration has passed', async () => {
    const a = make('a');
    a.elector.start();
    await advance(0);
    const b = make('b');
    await advance(RETRY_MS / 2); // b polls out of phase with a's renewals
    b.elector.start();
    await advance(3 * RETRY_MS);

    await a.elector.stop(false); // a crash, as far as the others can tell
    expect(a.elector.isLeader()).toBe(false);
    const lastRenewal = server.writes('a').at(-1)!;
    expect(lastRenewal.outcome).toBe('ok');
    const writesByA = server.writes('a').length;

    const waited = await advanceUntil(() => b.elector.isLeader(), 3 * LEASE_MS);

    const takeover = b.startedAt[0]!;
    // Never before the lease expired (as b measures it, from when it saw the last renewal) ...
    expect(takeover - lastRenewal.at).toBeGreaterThan(LEASE_MS);
    // ... and no later than one observation delay plus one retry after that.
    expect(takeover - lastRenewal.at).toBeLessThanOrEqual(LEASE_MS + 2 * RETRY_MS);
    expect(waited).toBeGreaterThan(LEASE_MS - RETRY_MS);
    expect(b.started).toHaveBeenCalledTimes(1);
    expect(server.get()?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(new Date(String(server.get()?.spec?.acquireTime)).getTime()).toBe(takeover);
    // The stopped elector made no calls at all after stop.
    expect(server.writes('a')).toHaveLength(writesByA);
    expect(a.stopped).not.toHaveBeenCalled();
  });

  it('stop(release=true) hands the lease back so a standby acquires it within one retry period', async () => {
    const a = make('a');
    a.elector.start();
    await advance(0);
    const b = make('b');
    b.elector.start();
    await advance(2 * RETRY_MS + 500);

    const rvBefore = server.get()?.metadata?.resourceVersion;
    await a.elector.stop(true);
    expect(a.elector.isLeader()).toBe(false);
    const release = server.writes('a').at(-1)!;
    expect(release).toMatchObject({ verb: 'replace', outcome: 'ok', holder: '', sentResourceVersion: rvBefore });
    expect(server.get()?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(server.get()?.spec?.acquireTime).toBeUndefined();

    const waited = await advanceUntil(() => b.elector.isLeader(), LEASE_MS, 50);
    expect(waited).toBeLessThanOrEqual(RETRY_MS);
    expect(holder(server)).toBe('b');
    expect(b.started).toHaveBeenCalledTimes(1);
    expect(a.stopped).not.toHaveBeenCalled();
  });

  it('stop(release=true) on a candidate that never led writes nothing', async () => {
    const a = make('a');
    a.elector.start();
    await advance(0);
    const b = make('b');
    b.elector.start();
    await advance(RETRY_MS);
    await b.elector.stop(true);
    expect(server.writes('b')).toEqual([]);
    expect(holder(server)).toBe('a');
  });

  it('stop() during a round in flight lets that round finish but starts no further one, and leaves no timer behind', async () => {
    const a = make('a');
    a.elector.start();
    await advance(0);
    server.readLatencyMs = 500;
    const b = make('b');
    b.elector.start(); // b's first read is now in flight
    await advance(100);
    // stop() waits for the round in flight (so a release cannot be undone by
    // it); on the fake clock that round needs time to pass before it answers.
    const stopping = Promise.all([b.elector.stop(false), a.elector.stop(false)]);
    await advance(1000); // b's read answers; its round ends
    await stopping;
    expect(vi.getTimerCount()).toBe(0);
    await advance(4 * LEASE_MS);
    expect(server.callsBy('b').map((c) => c.verb)).toEqual(['read']);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.started).not.toHaveBeenCalled();
  });

  it.each([
    { failure: '500s on every call', fault: () => status(500, 'InternalError') },
    { failure: '500s on replace only', fault: (verb: Verb) => (verb === 'replace' ? status(500, 'InternalError') : undefined) },
    { failure: '409 conflicts on replace', fault: (verb: Verb) => (verb === 'replace' ? status(409, 'Conflict') : undefined) },
    { failure: 'network resets', fault: () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) },
  ])('a leader whose renewals fail ($failure) past the renew deadline calls onStoppedLeading once, before the lease expires', async ({ fault }) => {
    const a = make('a');
    a.elector.start();
    await advance(3 * RETRY_MS);
    expect(a.elector.isLeader()).toBe(true);

    server.inject('a', fault);
    const lastRenewal = server.writes('a').filter((w) => w.outcome === 'ok').at(-1)!;
    await advance(RENEW_DEADLINE_MS - RETRY_MS);
    // Failing, but still within the deadline: still leading.
    expect(a.elector.isLeader()).toBe(true);
    expect(a.stopped).not.toHaveBeenCalled();

    await advanceUntil(() => a.stopped.mock.calls.length > 0, 2 * RETRY_MS);
    const lostAt = a.stoppedAt[0]!;
    // At the renew deadline, not before it (the watchdog fires then even if no round is running).
    expect(lostAt - lastRenewal.at).toBeGreaterThanOrEqual(RENEW_DEADLINE_MS);
    expect(lostAt - lastRenewal.at).toBeLessThanOrEqual(RENEW_DEADLINE_MS + RETRY_MS);
    // It steps down before anyone else could consider the lease expired.
    expect(lostAt - lastRenewal.at).toBeLessThan(LEASE_MS);
    expect(a.elector.isLeader()).toBe(false);

    // Once lost, it stops campaigning: no more calls, no second callback, even when the apiserver recovers.
    server.inject('a', undefined);
    const callsAfterLoss = server.callsBy('a').length;
    await advance(3 * LEASE_MS);
    expect(server.callsBy('a')).toHaveLength(callsAfterLoss);
    expect(a.stopped).toHaveBeenCalledTimes(1);
    expect(a.started).toHaveBeenCalledTimes(1);
    expect(a.elector.isLeader()).toBe(false);
    // A graceful stop afterwards must not "release" a lease it no longer holds.
    await a.elector.stop(true);
    expect(server.callsBy('a')).toHaveLength(callsAfterLoss);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a leader whose renewal request hangs (a partition that drops packets) steps down at the renew deadline, before the lease can expire', async () => {
    const a = make('a');
    a.elector.start();
    await advance(3 * RETRY_MS);
    expect(a.elector.isLeader()).toBe(true);
    const lastRenewal = server.writes('a').filter((w) => w.outcome === 'ok').at(-1)!;
    // Every read now takes longer than the lease: no answer arrives before others could take over.
    server.readLatencyMs = 2 * LEASE_MS;
    const b = make('b');
    b.elector.start();

    await advanceUntil(() => a.stopped.mock.calls.length > 0, LEASE_MS);
    const lostAt = a.stoppedAt[0]!;
    expect(lostAt - lastRenewal.at).toBeGreaterThanOrEqual(RENEW_DEADLINE_MS);
    expect(lostAt - lastRenewal.at).toBeLessThan(LEASE_MS);
    expect(a.elector.isLeader()).toBe(false);
    // Never two leaders at once: b leads only after a stepped down.
    await advanceUntil(() => b.elector.isLeader(), 6 * LEASE_MS);
    expect(b.startedAt[0]!).toBeGreaterThan(lostAt);
    expect(a.stopped).toHaveBeenCalledTimes(1);
    expect(a.elector.isLeader()).toBe(false);
  });

  it('a renewal whose answer the network holds up counts from when it was sent: the leader steps down at the renew deadline after sending it, before the standby takes over', async () => {
    const a = make('a');
    a.elector.start();
    await advance(3 * RETRY_MS);
    expect(a.elector.isLeader()).toBe(true);
    const b = make('b');
    b.elector.start();
    await advance(100);
    // a's next renewal lands at once, but its answer arrives 7.5 s later (a
    // partition that began right after the write, healed briefly); then a is
    // cut off for good: its reads hang longer than the lease.
    const renewalsBefore = server.writes('a').length;
    server.answerLatencyMs.set('a', { replace: 7_500 });
    await advanceUntil(() => server.writes('a').length > renewalsBefore, 3 * RETRY_MS, 10);
    const lastRenewal = server.writes('a').at(-1)!;
    expect(lastRenewal).toMatchObject({ verb: 'replace', outcome: 'ok', holder: 'a' });
    server.answerLatencyMs.set('a', { read: 2 * LEASE_MS, replace: 2 * LEASE_MS });

    await advanceUntil(() => a.stopped.mock.calls.length > 0 && b.elector.isLeader(), 4 * LEASE_MS);
    const lostAt = a.stoppedAt[0]!;
    // Counted from the answer (7.5 s late) a would have led until 17.5 s after
    // its renewal landed, while b takes the lease 15-17 s after it saw it.
    expect(lostAt - lastRenewal.at).toBeLessThanOrEqual(RENEW_DEADLINE_MS);
    expect(b.startedAt[0]!).toBeGreaterThan(lostAt);
    expect(b.startedAt[0]! - lastRenewal.at).toBeGreaterThanOrEqual(LEASE_MS);
    expect(a.started).toHaveBeenCalledTimes(1);
    // Let a's hung round (a read, then a replace, each answered 30 s late) end: afterEach stops every elector.
    await advance(5 * LEASE_MS);
  });

  it('an acquisition whose answer arrives after the whole renew deadline does not start leading on it; the next round does', async () => {
    const a = make('a');
    server.answerLatencyMs.set('a', { create: RENEW_DEADLINE_MS + 500 });
    a.elector.start();
    await advance(RENEW_DEADLINE_MS + 600);
    expect(holder(server)).toBe('a');
    expect(a.elector.isLeader()).toBe(false);
    expect(a.started).not.toHaveBeenCalled();
    server.answerLatencyMs.delete('a');
    await advance(RETRY_MS + 100);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.started).toHaveBeenCalledTimes(1);
    expect(a.stopped).not.toHaveBeenCalled();
  });

  it('stop(release=true) while a renewal is in flight releases the lease, and the late renewal does not take it back', async () => {
    const a = make('a');
    a.elector.start();
    await advance(2 * RETRY_MS);
    expect(a.elector.isLeader()).toBe(true);
    server.readLatencyMs = 500;
    await advance(RETRY_MS); // a's next renewal read is now in flight
    const stopping = a.elector.stop(true);
    await advance(1000);
    await stopping;
    server.readLatencyMs = 0;
    await advance(4 * RETRY_MS);

    expect(a.elector.isLeader()).toBe(false);
    expect(a.started).toHaveBeenCalledTimes(1);
    expect(holder(server)).toBe('');
    // The release is a's last write.
    expect(server.writes('a').at(-1)).toMatchObject({ verb: 'replace', outcome: 'ok', holder: '' });

    const b = make('b');
    b.elector.start();
    await advance(RETRY_MS);
    expect(b.elector.isLeader()).toBe(true);
  });

  it('a leader whose renewals fail only briefly (shorter than the renew deadline) keeps leading', async () => {
    const a = make('a');
    a.elector.start();
    await advance(RETRY_MS);
    server.inject('a', () => status(503, 'ServiceUnavailable'));
    await advance(RENEW_DEADLINE_MS - 2 * RETRY_MS);
    server.inject('a', undefined);
    await advance(3 * LEASE_MS);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.stopped).not.toHaveBeenCalled();
    expect(a.started).toHaveBeenCalledTimes(1);
    expect(holder(server)).toBe('a');
  });

  it('does not trust the holder’s renewTime: a lease with an old renewTime is taken only after a full lease duration of observation', async () => {
    // Another replica whose clock is far behind ours, or which died long ago: from the lease alone we cannot tell.
    server.seed({
      metadata: { name: LEASE, namespace: NAMESPACE },
      spec: { holderIdentity: 'ghost', leaseDurationSeconds: 15, renewTime: new V1MicroTime('2000-01-01T00:00:00Z'), leaseTransitions: 4 },
    });
    const b = make('b');
    b.elector.start();
    await advance(LEASE_MS - RETRY_MS);
    expect(b.elector.isLeader()).toBe(false);
    expect(server.writes('b')).toEqual([]);

    const waited = await advanceUntil(() => b.elector.isLeader(), 2 * LEASE_MS);
    expect(LEASE_MS - RETRY_MS + waited).toBeGreaterThan(LEASE_MS);
    expect(server.get()?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 5 });
  });

  it('uses the lease’s own leaseDurationSeconds, not its own option, to decide when another holder’s lease expires', async () => {
    server.seed({
      metadata: { name: LEASE, namespace: NAMESPACE },
      spec: { holderIdentity: 'ghost', leaseDurationSeconds: 40, renewTime: new V1MicroTime('2025-01-01T00:00:00Z') },
    });
    const b = make('b');
    b.elector.start();
    await advance(LEASE_MS + 2 * RETRY_MS);
    expect(b.elector.isLeader()).toBe(false);
    await advanceUntil(() => b.elector.isLeader(), 40_000);
    expect(b.startedAt[0]! - new Date('2025-01-01T00:00:00Z').getTime()).toBeGreaterThan(40_000);
  });

  it('of candidates racing for an absent lease, exactly one wins: the others’ creates get AlreadyExists', async () => {
    const candidates = ['a', 'b', 'c'].map((id) => make(id));
    for (const c of candidates) c.elector.start(); // all read 404 before any create lands
    await advance(0);

    const creates = server.writes().filter((w) => w.verb === 'create');
    expect(creates.map((w) => w.outcome).sort()).toEqual(['AlreadyExists', 'AlreadyExists', 'ok']);
    const winner = creates.find((w) => w.outcome === 'ok')!.by;

    await advance(4 * LEASE_MS);
    expect(candidates.filter((c) => c.elector.isLeader()).map((c) => c.identity)).toEqual([winner]);
    expect(candidates.map((c) => c.started.mock.calls.length).reduce((x, y) => x + y)).toBe(1);
    expect(holder(server)).toBe(winner);
    // Losing the race is the normal case, not a failed round.
    expect(warn).not.toHaveBeenCalled();
  });

  it('of candidates racing for a released lease, exactly one wins: the others’ replaces fail their resourceVersion precondition', async () => {
    const a = make('a');
    a.elector.start();
    await advance(0);
    await a.elector.stop(true);
    const releasedRv = server.get()?.metadata?.resourceVersion;

    const standbys = ['b', 'c', 'd'].map((id) => make(id));
    for (const c of standbys) c.elector.start(); // all read the released lease before any replace lands
    await advance(0);

    const takeovers = server.writes().filter((w) => w.by !== 'a');
    expect(takeovers).toHaveLength(3);
    for (const w of takeovers) expect(w).toMatchObject({ verb: 'replace', sentResourceVersion: releasedRv });
    expect(takeovers.map((w) => w.outcome).sort()).toEqual(['Conflict', 'Conflict', 'ok']);
    const winner = takeovers.find((w) => w.outcome === 'ok')!.by;

    await advance(4 * LEASE_MS);
    expect(standbys.filter((c) => c.elector.isLeader()).map((c) => c.identity)).toEqual([winner]);
    expect(standbys.map((c) => c.started.mock.calls.length).reduce((x, y) => x + y)).toBe(1);
    expect(server.get()?.spec).toMatchObject({ holderIdentity: winner, leaseTransitions: 1 });
    // A failed precondition is the normal way to lose, not a failed round.
    expect(warn).not.toHaveBeenCalled();
  });

  it('every write is conditional: creates carry no resourceVersion, every replace carries the one its candidate read', async () => {
    // A churny run: candidates come and go, crash, release, and lose renewals.
    const [a, b, c] = ['a', 'b', 'c'].map((id) => make(id)) as [Candidate, Candidate, Candidate];
    a.elector.start();
    b.elector.start();
    await advance(RETRY_MS / 3);
    c.elector.start();
    await advance(3 * RETRY_MS);
    const first = [a, b, c].find((x) => x.elector.isLeader())!;
    await first.elector.stop(true);
    await advance(2 * RETRY_MS);
    const second = [a, b, c].find((x) => x.elector.isLeader())!;
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    server.inject(second.identity, (verb) => (verb === 'replace' ? status(500, 'InternalError') : undefined));
    await advanceUntil(() => second.stopped.mock.calls.length > 0, RENEW_DEADLINE_MS + 2 * RETRY_MS);
    await advance(LEASE_MS + 2 * RETRY_MS);
    const third = [a, b, c].find((x) => x.elector.isLeader())!;
    expect(third).toBeDefined();
    expect([first, second]).not.toContain(third);
    await third.elector.stop(false);
    await advance(RETRY_MS);

    // Pair each replace with the last read by the same candidate, or (a release) its own last write.
    const lastSeen = new Map<string, { read?: string | undefined; written?: string | undefined }>();
    let replaces = 0;
    for (const [i, call] of server.calls.entries()) {
      const seen = lastSeen.get(call.by) ?? {};
      lastSeen.set(call.by, seen);
      if (call.outcome === 'injected') continue;
      if (call.verb === 'read') {
        if (call.outcome === 'ok') seen.read = call.resourceVersion;
        continue;
      }
      if (call.verb === 'create') {
        // Conditional by nature: it fails when the lease exists.
        if (call.outcome === 'ok') seen.written = call.resourceVersion;
        continue;
      }
      replaces++;
      expect(call.sentResourceVersion, `replace #${i} by ${call.by}`).toMatch(/^\d+$/);
      expect([seen.read, seen.written], `replace #${i} by ${call.by}`).toContain(call.sentResourceVersion);
      if (call.outcome === 'ok') {
        expect(call.sentResourceVersion).toBe(call.storedResourceVersion);
        seen.written = call.resourceVersion;
      }
    }
    expect(replaces).toBeGreaterThan(10);
  });
});

describe('LeaderElector on the real clock, with short timings', () => {
  // The same elector without fake timers, to show nothing above depends on the
  // fake clock. Lease durations are whole seconds on the wire (1 s minimum), so
  // this sticks to what completes well within one: acquire, renew, hand over.
  const timing = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 40 };

  it('acquires, renews and hands the lease over on stop(release=true)', async () => {
    const server = new FakeLeaseServer();
    const a = candidate(server, 'a', timing);
    const b = candidate(server, 'b', timing);
    try {
      a.elector.start();
      await vi.waitFor(() => expect(a.elector.isLeader()).toBe(true), { timeout: 1000, interval: 5 });
      b.elector.start();
      await vi.waitFor(() => expect(server.writes('a').filter((w) => w.verb === 'replace' && w.outcome === 'ok').length).toBeGreaterThanOrEqual(3), {
        timeout: 1000,
        interval: 10,
      });
      expect(b.elector.isLeader()).toBe(false);
      expect(server.writes('b')).toEqual([]);

      const releasedAt = Date.now();
      await a.elector.stop(true);
      await vi.waitFor(() => expect(b.elector.isLeader()).toBe(true), { timeout: 1000, interval: 5 });
      expect(Date.now() - releasedAt).toBeLessThan(timing.leaseDurationMs);
      expect(holder(server)).toBe('b');
      expect(a.started).toHaveBeenCalledTimes(1);
      expect(b.started).toHaveBeenCalledTimes(1);
      expect(a.stopped).not.toHaveBeenCalled();
      expect(server.violations).toEqual([]);
    } finally {
      await a.elector.stop(false);
      await b.elector.stop(false);
    }
  });
});
