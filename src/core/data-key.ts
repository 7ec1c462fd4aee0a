/**
 * The rule every key of a ConfigMap's or Secret's data must follow (the
 * apiserver's own), for spec.data, spec.binaryData and every key a source
 * copies after its items, `as` and prefix are applied.
 */
export const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
export const DATA_KEY_MAX_LENGTH = 253;

export function isDataKey(key: unknown): key is string {
  return typeof key === 'string' && key.length <= DATA_KEY_MAX_LENGTH && DATA_KEY.test(key);
}

export const DATA_KEY_RULE = `must match ${DATA_KEY.source} and be at most ${DATA_KEY_MAX_LENGTH} characters`;
