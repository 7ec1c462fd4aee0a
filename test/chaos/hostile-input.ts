import type { Random } from './random.js';

/**
 * Generators of bad ConfigPushes. Each case says what the API promises for
 * it: 'reject' (admission refuses it with a message), 'stall' (accepted, then
 * Ready=False with a reason), or 'either' (legal but strange: Ready=True with
 * exactly its content, or Ready=False with a reason). Whatever a case
 * expects, the suite's acceptance is the issue's: rejected with a message,
 * or ended Ready=False with a reason, or (for legal input) Ready with its
 * content; never a crash, never a loop, never a push left without an answer.
 */
export type Expect = 'reject' | 'stall' | 'either';

export interface HostileCase {
  category: string;
  what: string;
  expect: Expect;
  /** The request body: an object, or raw bytes sent as application/json. */
  body: Record<string, unknown> | Buffer;
  /** Data the targets must hold if the push ends Ready=True (ConfigMap view). */
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

const API = { apiVersion: 'configpush.io/v1alpha1', kind: 'ConfigPush' };

export function hostileCases(rnd: Random, count: number, namespace: string): HostileCase[] {
  let serial = 0;
  const name = () => `bad-${serial++}`;
  const push = (spec: unknown, metadataName = name()) => ({ ...API, metadata: { name: metadataName, namespace }, spec });
  const cm = (n = `t-${serial}`) => ({ kind: 'ConfigMap', name: n });
  const missingNs = () => `no-such-ns-${rnd.word(6)}`;
  const junk = (n: number) => rnd.bytes(n).toString('latin1');

  const expensive = new Set<() => HostileCase>();
  const once = (g: () => HostileCase) => {
    expensive.add(g);
    return g;
  };
  const generators: (() => HostileCase)[] = [
    // Data near the 1 MiB object limit (a ConfigMap holds at most 1 MiB of data; etcd takes ~1.5 MiB per object).
    once(() => {
      const value = 'x'.repeat(1_000_000);
      return { category: 'near 1 MiB', what: '1 000 000 bytes into a ConfigMap', expect: 'either', body: push({ targets: [cm()], data: { big: value } }), data: { big: value } };
    }),
    once(() => ({ category: 'near 1 MiB', what: '1 100 000 bytes into a ConfigMap (over its 1 MiB)', expect: 'stall', body: push({ targets: [cm()], data: { a: 'y'.repeat(550_000), b: 'z'.repeat(550_000) } }) })),
    once(() => ({ category: 'near 1 MiB', what: '1 040 000 bytes into a Secret', expect: 'either', body: push({ targets: [{ kind: 'Secret', name: `s-${serial}` }], data: { big: 's'.repeat(1_040_000) } }) })),
    once(() => ({ category: 'near 1 MiB', what: '1 450 000 bytes: the push itself near the etcd limit', expect: 'either', body: push({ targets: [cm()], data: { huge: 'h'.repeat(1_450_000) } }) })),
    once(() => ({ category: 'near 1 MiB', what: '1 700 000 bytes: over the etcd limit', expect: 'reject', body: push({ targets: [cm()], data: { huge: 'h'.repeat(1_700_000) } }) })),
    once(() => ({ category: 'near 1 MiB', what: '3 600 000 bytes: over the request limit', expect: 'reject', body: push({ targets: [cm()], data: { huge: 'h'.repeat(3_600_000) } }) })),
    // Invalid names.
    ...['UPPER', 'under_score', '-lead', 'trail-', 'a'.repeat(254), '', 'sp ace', 'sla/sh', 'ñame', 'a..b', 'nul\u0000'].map(
      (bad) => () => ({ category: 'invalid name', what: `target name ${JSON.stringify(bad.slice(0, 20))}`, expect: 'reject' as const, body: push({ targets: [{ kind: 'ConfigMap', name: bad }], data: { a: 'b' } }) }),
    ),
    ...['Bad_Name', 'UPPER', '-x', 'a'.repeat(254), 'x..y'].map(
      (bad) => () => ({ category: 'invalid name', what: `ConfigPush name ${JSON.stringify(bad.slice(0, 20))}`, expect: 'reject' as const, body: push({ targets: [cm()], data: { a: 'b' } }, bad) }),
    ),
    () => ({ category: 'invalid name', what: 'target namespace "Not_A_Namespace"', expect: 'reject', body: push({ targets: [{ kind: 'ConfigMap', name: 'x', namespace: 'Not_A_Namespace' }] }) }),
    // Unknown kinds.
    ...['Deployment', 'Pod', 'configmap', 'CONFIGMAP', '', 'ConfigMap ', 'v1/ConfigMap', 'Secret\u0000', null, 42].map(
      (kind) => () => ({ category: 'unknown kind', what: `kind ${JSON.stringify(kind)}`, expect: 'reject' as const, body: push({ targets: [{ kind, name: 'x' }], data: { a: 'b' } }) }),
    ),
    // Duplicate targets.
    () => ({ category: 'duplicate targets', what: 'the same ConfigMap twice', expect: 'reject', body: push({ targets: [cm('dup'), cm('dup')], data: { a: 'b' } }) }),
    () => ({ category: 'duplicate targets', what: 'the same Secret three times', expect: 'reject', body: push({ targets: [0, 1, 2].map(() => ({ kind: 'Secret', name: 'dup' })), data: { a: 'b' } }) }),
    () => ({
      category: 'duplicate targets',
      what: 'a duplicate only once the namespace is defaulted',
      expect: 'stall',
      body: push({ targets: [cm('dup'), { kind: 'ConfigMap', name: 'dup', namespace }], data: { a: 'b' } }),
    }),
    // Namespaces that do not exist.
    () => ({ category: 'missing namespace', what: 'one target in a namespace that does not exist', expect: 'stall', body: push({ targets: [{ kind: 'ConfigMap', name: 'x', namespace: missingNs() }], data: { a: 'b' } }) }),
    () => ({
      category: 'missing namespace',
      what: 'one good target and one in a missing namespace',
      expect: 'stall',
      body: push({ targets: [cm(), { kind: 'Secret', name: 'x', namespace: missingNs() }], data: { a: 'b' } }),
    }),
    once(() => {
      // 128 targets with 253-character names in a missing namespace: every one fails, with a long message.
      const ns = missingNs();
      const targets = Array.from({ length: 128 }, (_, i) => ({ kind: 'ConfigMap', name: `${String(i).padStart(3, '0')}-${'n'.repeat(249)}`, namespace: ns }));
      return { category: 'missing namespace', what: '128 long-named targets in a missing namespace', expect: 'stall', body: push({ targets, data: { a: 'b' } }) };
    }),
    // Binary junk.
    () => ({ category: 'binary junk', what: 'binaryData that is not base64', expect: 'reject', body: push({ targets: [cm()], binaryData: { b: `!!${junk(8)}` } }) }),
    () => ({ category: 'binary junk', what: 'data key of control characters', expect: 'reject', body: push({ targets: [cm()], data: { [`k${junk(4)}`]: 'v' } }) }),
    () => ({ category: 'binary junk', what: 'data key "..data"', expect: 'either', body: push({ targets: [cm()], data: { '..data': 'v' } }), data: { '..data': 'v' } }),
    () => {
      const value = junk(rnd.int(16, 256));
      return { category: 'binary junk', what: 'data value of random bytes (latin1)', expect: 'either', body: push({ targets: [cm(), { kind: 'Secret', name: `s-${serial}` }], data: { v: value } }), data: { v: value } };
    },
    () => ({ category: 'binary junk', what: 'data value with a lone surrogate', expect: 'either', body: push({ targets: [cm()], data: { v: 'a\ud800b' } }), data: { v: 'a\ufffdb' } }),
    () => {
      // Valid base64 whose padding bits are not zero: it decodes, but does not re-encode to itself.
      const b64 = 'YR==';
      return { category: 'binary junk', what: 'binaryData "YR==" (non-canonical base64)', expect: 'either', body: push({ targets: [cm()], binaryData: { b: b64 } }), binaryData: { b: 'YQ==' } };
    },
    () => ({ category: 'binary junk', what: 'binaryData with a line break inside', expect: 'either', body: push({ targets: [cm()], binaryData: { b: 'YWJj\nZGVm' } }), binaryData: { b: 'YWJjZGVm' } }),
    () => ({ category: 'binary junk', what: 'a body of random bytes', expect: 'reject', body: rnd.bytes(rnd.int(8, 512)) }),
    () => ({ category: 'binary junk', what: 'truncated JSON', expect: 'reject', body: Buffer.from(JSON.stringify(push({ targets: [cm()] })).slice(0, 40)) }),
    () => ({ category: 'binary junk', what: 'spec is a string', expect: 'reject', body: push(junk(12)) }),
    () => ({ category: 'binary junk', what: 'targets is an object', expect: 'reject', body: push({ targets: { kind: 'ConfigMap', name: 'x' } }) }),
    () => ({ category: 'binary junk', what: 'data is an array', expect: 'reject', body: push({ targets: [cm()], data: ['a', 'b'] }) }),
    () => ({ category: 'binary junk', what: 'a data value that is a number', expect: 'reject', body: push({ targets: [cm()], data: { a: 1 } }) }),
    // Metadata the targets cannot take, or that collides with the operator's own.
    () => ({ category: 'bad metadata', what: 'a label value with spaces', expect: 'stall', body: push({ targets: [cm()], data: { a: 'b' }, labels: { team: 'not a label value' } }) }),
    () => ({ category: 'bad metadata', what: '300 KiB of annotations', expect: 'stall', body: push({ targets: [cm()], data: { a: 'b' }, annotations: { big: 'a'.repeat(300 * 1024) } }) }),
    () => ({
      category: 'bad metadata',
      what: 'spec.labels sets app.kubernetes.io/managed-by (the operator\'s own)',
      expect: 'either',
      body: push({ targets: [cm()], data: { a: 'b' }, labels: { 'app.kubernetes.io/managed-by': 'someone-else' } }),
      data: { a: 'b' },
    }),
    () => ({
      category: 'bad metadata',
      what: 'spec.annotations sets configpush.io/content-digest',
      expect: 'either',
      body: push({ targets: [cm()], data: { a: 'b' }, annotations: { 'configpush.io/content-digest': 'sha256:forged' } }),
      data: { a: 'b' },
    }),
    // Limits and enums.
    () => ({ category: 'limits', what: '129 targets', expect: 'reject', body: push({ targets: Array.from({ length: 129 }, (_, i) => cm(`t${i}`)) }) }),
    () => ({ category: 'limits', what: '1001 data keys', expect: 'reject', body: push({ targets: [cm()], data: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 'v'])) }) }),
    () => ({ category: 'limits', what: 'driftPolicy "Sometimes"', expect: 'reject', body: push({ targets: [cm()], driftPolicy: 'Sometimes' }) }),
    () => ({ category: 'limits', what: 'no targets', expect: 'reject', body: push({ targets: [] }) }),
    () => ({ category: 'limits', what: 'no spec', expect: 'reject', body: { ...API, metadata: { name: name(), namespace } } }),
    () => ({ category: 'limits', what: 'a key in data and binaryData', expect: 'reject', body: push({ targets: [cm()], data: { k: 'a' }, binaryData: { k: 'YQ==' } }) }),
    () => ({ category: 'limits', what: 'unknown spec fields (pruned)', expect: 'either', body: push({ targets: [cm()], data: { a: 'b' }, surprise: { x: junk(4) } }), data: { a: 'b' } }),
  ];

  // Every generator once, then the cheap ones (not the near-limit and 128-target ones) at random until `count`.
  const cases = generators.map((g) => g());
  const cheap = generators.filter((g) => !expensive.has(g));
  while (cases.length < count) cases.push(rnd.pick(cheap)());
  return cases.slice(0, count);
}
