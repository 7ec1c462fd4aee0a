import fc from 'fast-check';

/**
 * Field-level fast-check arbitraries for a ConfigPush spec: each field drawn
 * from valid values, edge cases (unicode, limits, deep selectors) and
 * malformed ones (invalid names, bogus enum strings, wrong types). A drawn
 * push is whatever the field draws make it; the scenario does not predict
 * the outcome, it only requires one: refused at admission with a message,
 * or a Ready condition at its generation with a reason.
 *
 * Everything a push may select (namespaceSelector, waves, restarts) is
 * confined to this run's namespaces by a label only they carry (`scope`),
 * so a fan-out cannot write into another scenario's namespaces.
 */
export interface FuzzScope {
  /** The namespace the pushes are created in. */
  home: string;
  /** A second namespace, opted in to pushes from `home`. */
  cross: string;
  /** A label both carry (and no other namespace): ANDed into well-formed selectors. */
  runLabel: { key: string; value: string };
}

/** One generated push: its spec (any JSON), its name mode, and the size of a near-limit value if it has one. */
export interface FuzzPush {
  /** 'ok' gets a unique valid name; anything else is used as the name itself. */
  name: 'ok' | string;
  spec: unknown;
  /** Bytes of the single huge data value, when the draw made one (they are slow: the scenario keeps a few). */
  huge?: number;
}

const WRONG: fc.Arbitrary<unknown> = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.constant({}));

/** Valid DNS-1123 labels, short. */
const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/);
const badNames = fc.constantFrom('UPPER', 'under_score', '-lead', 'trail-', 'a'.repeat(254), '', 'sp ace', 'sla/sh', 'ñame', 'a..b', 'nul\u0000', '.', '..', '😀');
const unicode = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength });
const binary = (maxLength: number) => fc.string({ unit: 'binary', maxLength });

const targetName = fc.oneof({ weight: 8, arbitrary: dnsLabel }, { weight: 1, arbitrary: badNames }, { weight: 1, arbitrary: unicode(12) }, { weight: 1, arbitrary: WRONG });
const kind = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('ConfigMap', 'Secret') },
  { weight: 1, arbitrary: fc.constantFrom('Deployment', 'configmap', 'SECRET', '', 'ConfigMap ', 'v1/ConfigMap') },
  { weight: 1, arbitrary: WRONG },
);

/** Label keys: plain, prefixed with a deep DNS subdomain, over the limits, unicode. */
const labelKey = fc.oneof(
  { weight: 6, arbitrary: dnsLabel },
  { weight: 2, arbitrary: fc.tuple(fc.array(dnsLabel.filter((s) => s.length > 0), { minLength: 1, maxLength: 12 }), dnsLabel).map(([d, n]) => `${d.join('.')}/${n || 'k'}`) },
  { weight: 1, arbitrary: fc.constantFrom('a'.repeat(64), `${'d'.repeat(254)}/k`, 'two/slashes/here', '/nokey', 'sp ace', '') },
  { weight: 1, arbitrary: unicode(8) },
);
const labelValue = fc.oneof({ weight: 6, arbitrary: dnsLabel }, { weight: 1, arbitrary: fc.constantFrom('v'.repeat(64), 'not a value', '-x') }, { weight: 1, arbitrary: unicode(6) }, { weight: 1, arbitrary: WRONG });
const operator = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist') }, { weight: 1, arbitrary: fc.constantFrom('in', 'Equals', 'Gt', '') }, { weight: 1, arbitrary: WRONG });

/** matchLabels and matchExpressions, from empty to deep (up to 20 expressions of up to 70 values). */
const selector = fc.oneof(
  { weight: 8, arbitrary: fc.record(
    {
      matchLabels: fc.oneof({ weight: 5, arbitrary: fc.dictionary(labelKey, labelValue, { maxKeys: 4 }) }, { weight: 1, arbitrary: fc.dictionary(labelKey, labelValue, { minKeys: 30, maxKeys: 40 }) }),
      matchExpressions: fc.oneof(
        { weight: 5, arbitrary: fc.array(fc.record({ key: labelKey, operator, values: fc.array(labelValue, { maxLength: 4 }) }, { requiredKeys: ['key', 'operator'] }), { maxLength: 4 }) },
        { weight: 1, arbitrary: fc.array(fc.record({ key: labelKey, operator, values: fc.array(dnsLabel, { minLength: 60, maxLength: 70 }) }), { minLength: 14, maxLength: 20 }) },
      ),
    },
    { requiredKeys: [] },
  ) },
  { weight: 1, arbitrary: WRONG },
);

function scoped(sel: unknown, scope: FuzzScope): unknown {
  // Only a well-formed object gets the run's label; a malformed one is left as drawn.
  if (typeof sel !== 'object' || sel === null || Array.isArray(sel)) return sel;
  const s = sel as { matchExpressions?: unknown };
  const pin = { key: scope.runLabel.key, operator: 'In', values: [scope.runLabel.value] };
  return { ...s, matchExpressions: Array.isArray(s.matchExpressions) ? [pin, ...(s.matchExpressions as unknown[])] : [pin] };
}

function namespaceOf(scope: FuzzScope): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(scope.home, scope.cross) },
    { weight: 1, arbitrary: dnsLabel.map((n) => `fz-missing-${n}`.slice(0, 63).replace(/-$/, 'x')) },
    { weight: 1, arbitrary: fc.constantFrom('Not_A_Namespace', 'a'.repeat(64), '', 'kube-system') },
    { weight: 1, arbitrary: WRONG },
  );
}

function target(scope: FuzzScope): fc.Arbitrary<unknown> {
  return fc
    .record(
      {
        kind,
        name: targetName,
        where: fc.oneof({ weight: 4, arbitrary: fc.constant('home') }, { weight: 3, arbitrary: fc.constant('namespace') }, { weight: 2, arbitrary: fc.constant('selector') }, { weight: 1, arbitrary: fc.constant('both') }),
        namespace: namespaceOf(scope),
        namespaceSelector: selector,
      },
    )
    .map(({ kind: k, name, where, namespace, namespaceSelector }) => {
      const t: Record<string, unknown> = { kind: k, name };
      if (where === 'namespace' || where === 'both') t.namespace = namespace;
      if (where === 'selector' || where === 'both') t.namespaceSelector = scoped(namespaceSelector, scope);
      return t;
    });
}

const dataKey = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[-._a-zA-Z0-9]{1,40}$/) },
  { weight: 2, arbitrary: unicode(10) },
  { weight: 1, arbitrary: fc.constantFrom('a/b', '', '.', '..', '..data', 'k'.repeat(254), 'sp ace', 'tab\t') },
  { weight: 1, arbitrary: binary(6) },
);
const dataValue = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 200 }) }, { weight: 2, arbitrary: unicode(200) }, { weight: 1, arbitrary: binary(64) }, { weight: 1, arbitrary: WRONG });
const base64Value = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b).toString('base64')) },
  { weight: 1, arbitrary: fc.constantFrom('!!not base64', 'YR==', 'YWJj\nZGVm', '====', 'a') },
  { weight: 1, arbitrary: WRONG },
);

function strategy(scope: FuzzScope): fc.Arbitrary<unknown> {
  const n = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 2 ** 31, 1.5) }, { weight: 1, arbitrary: fc.constantFrom('2', '50%', null) });
  const wave = fc.record(
    { name: fc.oneof(dnsLabel, unicode(6)), namespaces: fc.array(fc.oneof(fc.constantFrom(scope.home, scope.cross), namespaceOf(scope)), { maxLength: 3 }), namespaceSelector: selector.map((s) => scoped(s, scope)) },
    { requiredKeys: [] },
  );
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record(
        {
          waves: fc.array(wave, { maxLength: 3 }),
          batchSize: n,
          maxParallel: n,
          // Short pauses only: a long one is legal and answers late, which is not what this scenario measures.
          pauseSeconds: fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constantFrom(-1, 'soon')),
          failurePolicy: fc.oneof(fc.constantFrom('Halt', 'Continue'), fc.constantFrom('halt', 'Sometimes'), WRONG),
          progressDeadlineSeconds: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.constantFrom(0, -5, 'x')),
        },
        { requiredKeys: [] },
      ),
    },
    { weight: 1, arbitrary: WRONG },
  );
}

const rollout = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      {
        restart: fc.array(
          fc.record(
            {
              kind: fc.oneof(fc.constantFrom('Deployment', 'StatefulSet', 'DaemonSet'), fc.constantFrom('Pod', 'deployment', ''), WRONG),
              name: fc.oneof(dnsLabel, badNames),
              selector,
            },
            { requiredKeys: ['kind'] },
          ),
          { maxLength: 3 },
        ),
        restartConsumers: fc.oneof(fc.boolean(), WRONG),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: WRONG },
);

/** Sources that name objects which do not exist (optional or not), or are malformed. */
function sources(scope: FuzzScope): fc.Arbitrary<unknown> {
  const ref = fc.record({ name: fc.oneof(dnsLabel.map((n) => `fz-nosuch-${n}`), badNames), namespace: fc.oneof(fc.constantFrom(scope.home, scope.cross), namespaceOf(scope)) }, { requiredKeys: ['name'] });
  const item = fc.record({ key: dataKey, as: dataKey }, { requiredKeys: ['key'] });
  const source = fc.record(
    { secretRef: ref, configMapRef: ref, items: fc.array(item, { maxLength: 3 }), prefix: fc.oneof(fc.stringMatching(/^[-._a-zA-Z0-9]{0,10}$/), unicode(4)), optional: fc.oneof(fc.boolean(), WRONG) },
    { requiredKeys: [] },
  );
  return fc.oneof({ weight: 5, arbitrary: fc.array(source, { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: WRONG });
}

const policy = (valid: readonly string[]) => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: fc.constantFrom('Sometimes', 'retain', 'DELETE', '') }, { weight: 1, arbitrary: WRONG });

/** Sizes around the limits: a ConfigMap's 1 MiB of data, etcd's ~1.5 MiB per object, the 3 MiB request limit. */
const HUGE_SIZES = [900_000, 1_000_000, 1_048_576, 1_100_000, 1_450_000, 1_550_000, 1_700_000, 3_200_000] as const;

/** Well-formed selectors: valid keys and operators, values where the operator needs them, from empty to deep. */
const goodExpression = fc.oneof(
  fc.record({ key: labelKey.filter((k) => /^([a-z0-9.-]{1,200}\/)?[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/.test(k)), operator: fc.constantFrom('In', 'NotIn'), values: fc.array(dnsLabel, { minLength: 1, maxLength: 8 }) }),
  fc.record({ key: dnsLabel.filter((k) => k.length > 0), operator: fc.constantFrom('Exists', 'DoesNotExist') }),
);
const goodSelector = fc.record(
  {
    matchLabels: fc.dictionary(dnsLabel.filter((k) => k.length > 0), dnsLabel, { maxKeys: 4 }),
    matchExpressions: fc.oneof({ weight: 4, arbitrary: fc.array(goodExpression, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(goodExpression, { minLength: 10, maxLength: 15 }) }),
  },
  { requiredKeys: [] },
);

function goodTarget(scope: FuzzScope): fc.Arbitrary<unknown> {
  return fc
    .record({
      kind: fc.constantFrom('ConfigMap', 'Secret'),
      // Mostly a name of its own (fast-check's bias would give every push "t-0", and most would end Conflict); sometimes a short one shared by chance.
      name: fc.oneof({ weight: 9, arbitrary: fc.noBias(fc.integer({ min: 0, max: 2 ** 31 - 1 })).map((n) => n.toString(36)) }, { weight: 1, arbitrary: dnsLabel.filter((n) => n.length > 0) }),
      where: fc.constantFrom('home', 'home', 'namespace', 'selector'),
      namespace: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(scope.home, scope.cross) }, { weight: 1, arbitrary: dnsLabel.map((n) => `fz-missing-${n}x`) }),
      namespaceSelector: goodSelector,
    })
    .map(({ kind: k, name, where, namespace, namespaceSelector }) => {
      const t: Record<string, unknown> = { kind: k, name: `t-${name}` };
      if (where === 'namespace') t.namespace = namespace;
      if (where === 'selector') t.namespaceSelector = scoped(namespaceSelector, scope);
      return t;
    });
}

/**
 * Each field has a well-formed draw and a malformed-or-edge one. A push is
 * drawn well-formed in every field, then 0 (about half the pushes), 1 or
 * several of its fields are replaced by their malformed draw: so valid
 * pushes are common, and a malformed one is mostly wrong in one place.
 */
export function fuzzPush(scope: FuzzScope): fc.Arbitrary<FuzzPush> {
  const good = {
    targets: fc.array(goodTarget(scope), { minLength: 1, maxLength: 4 }),
    data: fc.dictionary(fc.stringMatching(/^[-._a-zA-Z0-9]{1,40}$/).filter((k) => k !== '.' && k !== '..'), fc.oneof(fc.string({ maxLength: 200 }), unicode(200)), { maxKeys: 6 }),
    binaryData: fc.dictionary(fc.stringMatching(/^bin-[a-z0-9]{1,10}$/), fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b).toString('base64')), { maxKeys: 3 }),
    labels: fc.dictionary(dnsLabel.filter((k) => k.length > 0), dnsLabel, { maxKeys: 3 }),
    annotations: fc.dictionary(dnsLabel.filter((k) => k.length > 0), unicode(60), { maxKeys: 3 }),
    suspend: fc.constant(false),
    deletionPolicy: fc.constantFrom('Retain', 'Delete'),
    driftPolicy: fc.constantFrom('Correct', 'Report'),
    adopt: fc.boolean(),
    strategy: fc.record({ batchSize: fc.integer({ min: 1, max: 5 }), maxParallel: fc.integer({ min: 1, max: 5 }), failurePolicy: fc.constantFrom('Halt', 'Continue') }, { requiredKeys: [] }),
    rollout: fc.record({ restartConsumers: fc.boolean() }, { requiredKeys: [] }),
  };
  const bad = {
    targets: fc.oneof({ weight: 6, arbitrary: fc.array(target(scope), { minLength: 1, maxLength: 4 }) }, { weight: 1, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(target(scope), { minLength: 129, maxLength: 130 }) }, { weight: 1, arbitrary: WRONG }),
    data: fc.oneof({ weight: 4, arbitrary: fc.dictionary(dataKey, dataValue, { minKeys: 1, maxKeys: 6 }) }, { weight: 1, arbitrary: WRONG }),
    binaryData: fc.oneof({ weight: 4, arbitrary: fc.dictionary(dataKey, base64Value, { minKeys: 1, maxKeys: 3 }) }, { weight: 1, arbitrary: WRONG }),
    labels: fc.dictionary(labelKey, labelValue, { minKeys: 1, maxKeys: 3 }),
    annotations: fc.oneof(fc.dictionary(labelKey, dataValue, { minKeys: 1, maxKeys: 3 }), WRONG),
    suspend: fc.oneof(fc.constant(true), WRONG),
    deletionPolicy: policy(['Retain', 'Delete']),
    driftPolicy: policy(['Correct', 'Report']),
    adopt: WRONG,
    serviceAccountName: fc.oneof(dnsLabel.map((n) => `fz-nosuch-${n}`), badNames),
    strategy: strategy(scope),
    rollout,
    sources: sources(scope),
  };
  const fields = Object.keys(bad) as (keyof typeof bad)[];
  const corrupt = fc.oneof({ weight: 10, arbitrary: fc.constant([] as string[]) }, { weight: 7, arbitrary: fc.subarray(fields, { minLength: 1, maxLength: 1 }) }, { weight: 3, arbitrary: fc.subarray(fields, { minLength: 2 }) });
  const spec = fc.tuple(fc.record(good, { requiredKeys: ['targets'] }), fc.record(bad), corrupt).map(([g, b, keys]) => {
    const out: Record<string, unknown> = { ...g };
    for (const k of keys) out[k] = b[k as keyof typeof b];
    return out;
  });
  return fc
    .record({
      name: fc.oneof({ weight: 30, arbitrary: fc.constant('ok') }, { weight: 1, arbitrary: fc.constantFrom('Bad_Name', 'UPPER', '-x', 'a'.repeat(254), 'x..y') }),
      spec: fc.oneof({ weight: 30, arbitrary: spec }, { weight: 1, arbitrary: WRONG }),
      huge: fc.option(fc.constantFrom(...HUGE_SIZES), { freq: 25 }),
    })
    .map(({ name, spec: s, huge }) => {
      if (huge === null || typeof s !== 'object' || s === null || Array.isArray(s)) return { name, spec: s };
      // One value of `huge` bytes (in data, replacing what was drawn there: a value is either the big one or small).
      return { name, spec: { ...s, data: { big: 'h'.repeat(huge) } }, huge };
    });
}

/** `count` pushes from `seed`: the same seed draws the same pushes. At most `maxHuge` keep their near-limit value. */
export function samplePushes(scope: FuzzScope, count: number, seed: number, maxHuge: number): FuzzPush[] {
  let huge = 0;
  return fc.sample(fuzzPush(scope), { seed, numRuns: count }).map((p) => {
    if (p.huge === undefined) return p;
    if (huge++ < maxHuge) return p;
    const { data: _dropped, ...rest } = p.spec as Record<string, unknown>;
    return { name: p.name, spec: rest };
  });
}

/**
 * fast-check's shrinking of one failed draw: `fc.sample` and `fc.check` draw
 * the same values from the same seed, so `path: index` replays the
 * index-th push, then shrinks it while `fails` holds (each try is a new push
 * against the same operator). The smallest failing input, or undefined if the
 * replay did not fail again within the budget.
 */
export async function shrink(scope: FuzzScope, seed: number, index: number, fails: (input: FuzzPush) => Promise<boolean>, budgetMs: number): Promise<FuzzPush | undefined> {
  const details = await fc.check(
    fc.asyncProperty(fuzzPush(scope), async (input) => !(await fails(input))),
    { seed, path: String(index), numRuns: 1, interruptAfterTimeLimit: budgetMs, markInterruptAsFailure: false },
  );
  return details.failed ? details.counterexample?.[0] : undefined;
}
