import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { InvalidSpecError } from '../../src/core/errors.js';
import { classifyError, describeError, isAlreadyExists, isApiException, isConflict, reasonFor, statusCode } from '../../src/kube/api-errors.js';

const api = (code: number, reason?: string, message = 'boom') =>
  new ApiException(code, `HTTP-Code: ${code}`, JSON.stringify({ kind: 'Status', reason, message, code }), {});

describe('classifyError', () => {
  it.each([408, 429, 500, 502, 503, 504])('treats HTTP %i as transient', (code) => {
    expect(classifyError(api(code))).toBe('transient');
  });

  it.each([400, 403, 404, 422])('treats HTTP %i as permanent', (code) => {
    expect(classifyError(api(code))).toBe('permanent');
  });

  it('treats 409 as a conflict to re-read, whether AlreadyExists or a stale resourceVersion', () => {
    expect(classifyError(api(409, 'Conflict'))).toBe('conflict');
    expect(classifyError(api(409, 'AlreadyExists'))).toBe('conflict');
    expect(isAlreadyExists(api(409, 'AlreadyExists'))).toBe(true);
    expect(isConflict(api(409, 'AlreadyExists'))).toBe(false);
    expect(isConflict(api(409, 'Conflict'))).toBe(true);
  });

  it('treats network failures and timeouts as transient', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(classifyError(reset)).toBe('transient');
    expect(classifyError(new TypeError('fetch failed', { cause: reset }))).toBe('transient');
    expect(classifyError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe('transient');
  });

  it('treats an invalid spec as permanent', () => {
    expect(classifyError(new InvalidSpecError('spec.targets is empty'))).toBe('permanent');
  });
});

describe('reasonFor and describeError', () => {
  it('uses the apiserver reason when it is CamelCase', () => {
    expect(reasonFor(api(403, 'Forbidden'))).toBe('Forbidden');
    expect(reasonFor(api(404, 'NotFound'))).toBe('NotFound');
    expect(reasonFor(api(422, 'Invalid'))).toBe('Invalid');
    expect(reasonFor(api(400))).toBe('BadRequest');
    expect(reasonFor(new InvalidSpecError('x'))).toBe('InvalidSpec');
  });

  it('never leaks the raw exception text (it carries response headers)', () => {
    const err = new ApiException(403, 'HTTP-Code: 403 Headers: {"audit-id":"secret-ish"}', JSON.stringify({ message: 'forbidden: nope' }), {});
    expect(describeError(err)).toBe('403: forbidden: nope');
    expect(describeError(new ApiException(401, 'HTTP-Code: 401 Headers: {}', '', {}))).toBe('HTTP 401');
  });
});

describe('isApiException', () => {
  it('knows client-node ApiException by its fields, and nothing else with a numeric code', () => {
    expect(isApiException(new ApiException(404, 'x', '', {}))).toBe(true);
    // Another copy of the class (the bundle's, to code built beside it): same fields, not the same class.
    class ApiException2 extends Error {
      constructor(
        public code: number,
        message: string,
        public body: unknown,
        public headers: Record<string, string>,
      ) {
        super(message);
      }
    }
    const copy = new ApiException2(409, 'Conflict', JSON.stringify({ reason: 'Conflict' }), {});
    expect(isApiException(copy)).toBe(true);
    expect(statusCode(copy)).toBe(409);
    expect(isConflict(copy)).toBe(true);
    // DOMException's TimeoutError has a numeric code (23) and no body or headers; a plain object is not an Error.
    expect(isApiException(new DOMException('timed out', 'TimeoutError'))).toBe(false);
    expect(statusCode(new DOMException('timed out', 'TimeoutError'))).toBeUndefined();
    expect(isApiException({ code: 404, body: '', headers: {} })).toBe(false);
    expect(isApiException(Object.assign(new Error('x'), { code: 'ECONNRESET', body: '', headers: {} }))).toBe(false);
  });
});
