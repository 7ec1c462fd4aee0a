import { ApiException } from '@kubernetes/client-node';

/**
 * How the operator reacts to a failure. This is decided once, here, so every
 * call site treats the same failure the same way.
 * - transient: the same request may succeed later (timeouts, resets, 429, 5xx):
 *   retry with per-item exponential backoff and jitter.
 * - conflict: the object changed under us (409): re-read and decide again.
 * - permanent: retrying cannot help (400, 403, 404, 422, an invalid spec):
 *   report it as a status condition and wait for the spec or the world to change.
 */
export type ErrorClass = 'transient' | 'conflict' | 'permanent';

/** A spec the apiserver accepted but the operator cannot act on. */
export class InvalidSpecError extends Error {
  readonly code = 'InvalidSpec';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSpecError';
  }
}

/** A write the operator must not make because another owner holds the target. */
export class OwnershipConflictError extends Error {
  readonly code = 'Conflict';
  constructor(
    message: string,
    readonly owner: string,
  ) {
    super(message);
    this.name = 'OwnershipConflictError';
  }
}

/** The apiserver's Status body, when it sent one. */
export interface StatusBody {
  reason?: string;
  message?: string;
  code?: number;
}

export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  // Watch errors carry the HTTP status as statusCode. (A numeric `code` on
  // other errors is not HTTP: DOMException's TimeoutError has code 23.)
  if (typeof err === 'object' && err !== null) {
    const withCode = err as { statusCode?: unknown };
    if (typeof withCode.statusCode === 'number') return withCode.statusCode;
  }
  return undefined;
}

/** Parses ApiException.body, which client-node hands over as a raw JSON string. */
export function statusBody(err: unknown): StatusBody {
  if (!(err instanceof ApiException)) return {};
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

export function classifyError(err: unknown): ErrorClass {
  if (err instanceof InvalidSpecError || err instanceof OwnershipConflictError) return 'permanent';
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
 * CamelCase condition reason for a permanent failure, per the API conventions.
 * The apiserver's own Status reason is used when it sent one (Forbidden, Invalid, ...).
 */
export function reasonFor(err: unknown): string {
  if (err instanceof InvalidSpecError) return 'InvalidSpec';
  if (err instanceof OwnershipConflictError) return 'Conflict';
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
  const code = statusCode(err);
  const body = statusBody(err);
  if (body.message) return code ? `${code}: ${body.message}` : body.message;
  if (err instanceof ApiException) return `HTTP ${err.code}`;
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error && cause.message ? ` (${cause.message})` : '';
    return `${err.message}${detail}`;
  }
  return String(err);
}
