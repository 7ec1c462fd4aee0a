/**
 * The longest Retry-After honoured. The apiserver's priority and fairness
 * sends 1 s, growing while it keeps rejecting (at most 60 s in 1.36's
 * dropped-requests tracker); a larger value (a misconfigured proxy, an HTTP
 * date far ahead) would park the operator for no reason, so it is capped.
 */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * An HTTP Retry-After header (RFC 9110 §10.2.3) as milliseconds from `now`:
 * either delay-seconds (a non-negative integer; client-go reads only this
 * form) or an HTTP-date. Undefined when the header is absent or unreadable;
 * never negative, never above MAX_RETRY_AFTER_MS.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value) as string | undefined;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Math.min(MAX_RETRY_AFTER_MS, Number(text) * 1000);
  // An HTTP-date names a weekday and GMT; Date.parse would also take "5" or "1.5" as dates.
  if (!/^[A-Za-z]{3}, .* GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}

/** The Retry-After header of a header record, whatever its case (undici gives lower case, others may not). */
export function retryAfterHeader(headers: Record<string, string | string[] | undefined> | undefined): string | undefined {
  if (!headers) return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'retry-after' && value !== undefined) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}
