import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operator } from '../../src/operator/operator.js';
import { createPush, newNamespace, readSecret, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';

describe('a Secret target', () => {
  let operator: Operator;
  let ns: string;

  beforeAll(async () => {
    ns = await newNamespace('secret');
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('stores data as UTF-8 bytes and binaryData as the decoded bytes, both in .data', async () => {
    const binary = Buffer.from([0, 1, 2, 250, 255]);
    await createPush(ns, 'creds', {
      targets: [{ kind: 'Secret', name: 'creds' }],
      data: { username: 'admin', 'note.txt': 'héllo' },
      binaryData: { 'key.bin': binary.toString('base64') },
    });
    await waitReady(ns, 'creds');
    const secret = await readSecret(ns, 'creds');
    expect(secret?.type).toBe('Opaque');
    const decoded = Object.fromEntries(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    expect(Object.keys(decoded).sort()).toEqual(['key.bin', 'note.txt', 'username']);
    expect(decoded.username?.toString('utf8')).toBe('admin');
    expect(decoded['note.txt']?.toString('utf8')).toBe('héllo');
    expect(decoded['key.bin']?.equals(binary)).toBe(true);
  });
});
