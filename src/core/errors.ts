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
}

/** A failure that may pass: the queue retries with backoff. */
export class TransientError extends OperatorError {
  readonly retry = 'transient';
  constructor(
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TransientError';
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
