import { ExponentialBackoff, type BackoffOptions } from '../util/backoff.js';

/**
 * A deduplicating work queue with the semantics of client-go's workqueue:
 * - a key added many times before it is processed runs once (`dirty` set);
 * - a key being processed is never handed to a second worker: an add while it
 *   runs only marks it dirty, and it is queued again when the worker calls done();
 * - delayed adds keep the earliest due time;
 * - rate-limited adds back off per key, exponentially with jitter.
 */
export interface WorkQueueOptions {
  backoff: BackoffOptions;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { dueAt: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly addedAt = new Map<string, number>();
  private readonly waitedMs = new Map<string, number>();
  private readonly backoff: ExponentialBackoff<string>;
  private shuttingDown = false;
  private drainWaiters: (() => void)[] = [];

  constructor(options: WorkQueueOptions) {
    this.backoff = new ExponentialBackoff<string>(options.backoff);
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.addedAt.has(key)) this.addedAt.set(key, Date.now());
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds `key` after `delayMs`; an earlier pending add wins over a later one. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const dueAt = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.dueAt <= dueAt) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { dueAt, timer });
  }

  /**
   * Re-adds `key` after its next backoff delay; returns the delay. With
   * `serverDelayMs` (a server's Retry-After, jittered) the server's word
   * replaces the backoff: the key comes back no sooner, and no later, than
   * asked (the failure still counts as an attempt). A pending earlier add is
   * then dropped, so nothing already scheduled brings it back sooner.
   */
  addRateLimited(key: string, serverDelayMs = 0): number {
    const backoff = this.backoff.next(key);
    const delay = serverDelayMs > 0 ? serverDelayMs : backoff;
    if (serverDelayMs > 0) {
      const pending = this.delayed.get(key);
      if (pending) clearTimeout(pending.timer);
      this.delayed.delete(key);
    }
    this.addAfter(key, delay);
    return delay;
  }

  /** Ends the backoff of `key` (success, or a new generation). */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** Consecutive failures of `key`: logged as `attempt`. */
  attempts(key: string): number {
    return this.backoff.attempts(key);
  }

  /** Waits for the next key; resolves undefined once the queue shuts down (queued keys are not started). */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.startProcessing(key));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` finished; if it was added again meanwhile, it goes back in the queue. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.enqueue(key);
    if (this.processing.size === 0) {
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    }
  }

  /** Milliseconds `key` waited between its first add and a worker taking it (for the queue-latency metric). */
  takeWaitTime(key: string): number | undefined {
    const waited = this.waitedMs.get(key);
    this.waitedMs.delete(key);
    return waited;
  }

  get length(): number {
    return this.queue.length;
  }

  /** Keys being reconciled right now (the e2e harness waits for 0 to call the operator quiet). */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Whether a worker holds `key` right now. */
  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  /** Stops handing out work; resolves when every in-flight key is done. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
    if (this.processing.size > 0) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
  }

  private enqueue(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.startProcessing(key));
    else this.queue.push(key);
  }

  private startProcessing(key: string): string {
    this.processing.add(key);
    this.dirty.delete(key);
    const addedAt = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (addedAt !== undefined) this.waitedMs.set(key, Date.now() - addedAt);
    return key;
  }
}
