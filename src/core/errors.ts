/**
 * Errors that carry their own retry decision (kopf's PermanentError and
 * TemporaryError, controller-runtime's TerminalError). Whoever raises a
 * failure knows what it means; the controller's result switch only reads
 * `retry` and never re-classifies. Failures from the apiserver are mapped to
 * this shape once, at the client boundary (kube/api-errors.ts).
 *
 * - transient: the same request may succeed later (timeouts, resets, 429,
 *   5xx, a target that kept changing): back off per item, with jitter.
 * - conflict: the object changed under us (409): re-read and decide again;
 *   if it escapes a reconcile, the queue backs off like a transient error.
 * - permanent: retrying cannot help (400, 403, 404, 422, an invalid spec):
 *   report it as a condition and wait for the spec or the world to change.
 */
export type RetryDecision = 'transient' | 'conflict' | 'permanent';

export abstract class OperatorError extends Error {
  abstract readonly retry: RetryDecision;
  /** A CamelCase condition reason (API conventions). */
  abstract readonly reason: string;
  /**
   * The least time before a retry may help, when whoever failed said so: the
   * apiserver's Retry-After on a 429 (or a 503). The result switch requeues
   * no sooner than this, whatever the backoff says.
   */
  declare readonly retryAfterMs?: number;
}

export interface TransientErrorOptions extends ErrorOptions {
  /** The server's Retry-After, in milliseconds. */
  retryAfterMs?: number;
}

/** A failure that may pass: the queue retries with backoff (and no sooner than retryAfterMs). */
export class TransientError extends OperatorError {
  readonly retry = 'transient';
  declare readonly retryAfterMs?: number;
  constructor(
    readonly reason: string,
    message: string,
    options?: TransientErrorOptions,
  ) {
    super(message, options);
    this.name = 'TransientError';
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** A failure that retrying cannot fix: reported, then nothing until the push or the world changes. */
export class PermanentError extends OperatorError {
  readonly retry = 'permanent';
  constructor(
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** A spec the apiserver accepted but the operator cannot act on. */
export class InvalidSpecError extends PermanentError {
  constructor(message: string) {
    super('InvalidSpec', message);
    this.name = 'InvalidSpecError';
  }
}

/**
 * The decision an error carries. An error of unknown origin (a bug, a library
 * throwing something unexpected) backs off rather than gives up: the backoff
 * bounds its cost, and giving up would leave a push silently unserved.
 */
export function retryDecisionOf(err: unknown): RetryDecision {
  return err instanceof OperatorError ? err.retry : 'transient';
}

/**
 * The least delay before a retry that an error asks for (a server's
 * Retry-After), looking through causes: a domain error that wraps a throttled
 * request keeps the server's word. Undefined when nobody asked.
 */
export function retryAfterOf(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OperatorError && e.retryAfterMs !== undefined) return e.retryAfterMs;
  }
  return undefined;
}

export function isPermanent(err: unknown): boolean {
  return retryDecisionOf(err) === 'permanent';
}

/** The condition reason an error carries; errors of unknown origin are `fallback`. */
export function reasonOf(err: unknown, fallback = 'ReconcileError'): string {
  return err instanceof OperatorError ? err.reason : fallback;
}

/**
 * A short, log- and status-safe message. Errors from the apiserver were
 * already given a safe message at the client boundary (never the raw
 * exception text, which embeds response headers).
 */
export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = !(err instanceof OperatorError) && cause instanceof Error && cause.message ? ` (${cause.message})` : '';
    return `${err.message}${detail}`;
  }
  return String(err);
}
