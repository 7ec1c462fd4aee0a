import type { ApiException } from '@kubernetes/client-node';
import { OperatorError, type RetryDecision } from '../core/errors.js';
import { parseRetryAfter, retryAfterHeader } from '../util/retry-after.js';

/**
 * The client boundary's one mapping of failures: client-node's ApiException
 * (and network errors) become an ApiError that carries its retry decision, its
 * condition reason and a safe message. Every API object the operator builds is
 * wrapped by withApiErrors(), so code above kube/ never sees an ApiException
 * and never classifies one.
 */
export class ApiError extends OperatorError {
  readonly retry: RetryDecision;
  readonly reason: string;
  /** The HTTP status, when the apiserver answered. */
  readonly status: number | undefined;
  /** The Status body's reason (AlreadyExists, Conflict, Forbidden, ...), when it sent one. */
  readonly apiReason: string | undefined;
  /** No answer came from the apiserver (refused, reset, timed out), or it said it is unavailable (503). */
  readonly unreachable: boolean;
  /** The apiserver's Retry-After on a 429 or 503 (API Priority and Fairness, a storage re-initialising, a shutdown). */
  declare readonly retryAfterMs?: number;

  constructor(cause: unknown) {
    super(describeError(cause), { cause });
    this.name = 'ApiError';
    this.status = statusCode(cause);
    this.apiReason = statusBody(cause).reason;
    this.retry = classifyError(cause);
    this.reason = reasonFor(cause);
    this.unreachable = this.status === 503 || (this.status === undefined && isNetworkError(cause));
    const retryAfterMs = retryAfterMsOf(cause);
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Whether `err` is client-node's ApiException, by its shape rather than its
 * class: the operator's clients come from the bundle of client-node
 * (src/kube/client-node.ts), and code built beside it (the bench, a test
 * helper run from a build) may hand over one from the package itself, a
 * class of the same name that `instanceof` would not match. The shape is
 * the class's own fields: an Error with a numeric HTTP `code`, a `body` and
 * `headers` (DOMException's numeric `code` comes without them).
 */
export function isApiException(err: unknown): err is ApiException<unknown> {
  if (!(err instanceof Error)) return false;
  const fields = err as Error & { code?: unknown; headers?: unknown };
  return typeof fields.code === 'number' && 'body' in fields && typeof fields.headers === 'object' && fields.headers !== null;
}

/**
 * The Retry-After of a 429 or 503 answer, in milliseconds. Other statuses'
 * Retry-After is ignored, as client-go does: it is only a throttling signal.
 */
export function retryAfterMsOf(err: unknown, now = Date.now()): number | undefined {
  if (err instanceof ApiError) return err.retryAfterMs;
  if (!isApiException(err)) return undefined;
  if (err.code !== 429 && err.code !== 503) return undefined;
  return parseRetryAfter(retryAfterHeader(err.headers as Record<string, string> | undefined), now);
}

/** Whether `err` says the apiserver could not be reached, rather than that it refused the request. */
export function isUnreachable(err: unknown): boolean {
  return err instanceof ApiError && err.unreachable;
}

/** Maps any failure to an ApiError; an OperatorError (already decided) passes through unchanged. */
export function toApiError(err: unknown): OperatorError {
  return err instanceof OperatorError ? err : new ApiError(err);
}

/**
 * `api` with every method's failure mapped by toApiError. A Proxy, so every
 * generated client-node method (hundreds of them) is covered without a list.
 */
export function withApiErrors<T extends object>(api: T): T {
  return new Proxy(api, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          const result: unknown = value.apply(target, args);
          return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(toApiError(err))) : result;
        } catch (err) {
          throw toApiError(err);
        }
      };
    },
  });
}

/** The apiserver's Status body, when it sent one. */
interface StatusBody {
  reason?: string;
  message?: string;
  code?: number;
}

export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiError) return err.status;
  if (isApiException(err)) return err.code;
  // Watch errors carry the HTTP status as statusCode. (A numeric `code` on
  // other errors is not HTTP: DOMException's TimeoutError has code 23.)
  if (typeof err === 'object' && err !== null) {
    const withCode = err as { statusCode?: unknown };
    if (typeof withCode.statusCode === 'number') return withCode.statusCode;
  }
  return undefined;
}

/** Parses ApiException.body, which client-node hands over as a raw JSON string. */
function statusBody(err: unknown): StatusBody {
  if (err instanceof ApiError) return err.apiReason !== undefined ? { reason: err.apiReason } : {};
  if (!isApiException(err)) return {};
  const body: unknown = err.body;
  if (typeof body === 'object' && body !== null) return body as StatusBody;
  if (typeof body !== 'string' || body === '') return {};
  try {
    return JSON.parse(body) as StatusBody;
  } catch {
    return {};
  }
}

export function isNotFound(err: unknown): boolean {
  return statusCode(err) === 404;
}

export function isAlreadyExists(err: unknown): boolean {
  return statusCode(err) === 409 && statusBody(err).reason === 'AlreadyExists';
}

/** A resourceVersion precondition failed: someone wrote the object since we read it. */
export function isConflict(err: unknown): boolean {
  return statusCode(err) === 409 && statusBody(err).reason !== 'AlreadyExists';
}

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** What a failure from the apiserver means for a retry. Called by ApiError's constructor, once per failure. */
export function classifyError(err: unknown): RetryDecision {
  if (err instanceof OperatorError) return err.retry;
  const code = statusCode(err);
  if (code !== undefined) {
    if (code === 409) return 'conflict';
    // 401: a rotated service-account token is picked up on the next request.
    if (code === 401 || code === 408 || code === 429 || code >= 500) return 'transient';
    if (code >= 400) return 'permanent';
  }
  if (isNetworkError(err)) return 'transient';
  // Unknown failures back off rather than give up: the backoff bounds the cost.
  return 'transient';
}

function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return true;
  const cause = (err as { cause?: unknown }).cause;
  if (cause !== undefined && cause !== err) return isNetworkError(cause);
  return err instanceof TypeError && /fetch failed|terminated|socket/i.test(err.message);
}

/**
 * CamelCase condition reason for a failure, per the API conventions.
 * The apiserver's own Status reason is used when it sent one (Forbidden, Invalid, ...).
 */
export function reasonFor(err: unknown): string {
  if (err instanceof OperatorError) return err.reason;
  const code = statusCode(err);
  const reason = statusBody(err).reason;
  if (reason && /^[A-Z][A-Za-z]*$/.test(reason)) return reason;
  switch (code) {
    case 400:
      return 'BadRequest';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    default:
      return code !== undefined && code >= 500 ? 'ServerError' : 'ApplyFailed';
  }
}

/** A short, stable, log- and status-safe message: never the raw ApiException text (it embeds headers). */
export function describeError(err: unknown): string {
  if (err instanceof OperatorError) return err.message;
  const code = statusCode(err);
  const body = statusBody(err);
  if (body.message) return code ? `${code}: ${body.message}` : body.message;
  if (isApiException(err)) return `HTTP ${err.code}`;
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error && cause.message ? ` (${cause.message})` : '';
    return `${err.message}${detail}`;
  }
  return String(err);
}
