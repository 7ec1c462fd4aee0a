import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import type { ConfigPush } from '../../src/api/types.js';
import type { Operator } from '../../src/operator/operator.js';
import { acceptingPushesFrom, custom, newNamespace, waitReady } from '../support/kube.js';
import { startTestOperator } from '../support/operator.js';
import { repoRoot } from '../support/paths.js';

const samplesDir = join(repoRoot, 'samples');
const samples = readdirSync(samplesDir).filter((f) => f.endsWith('.yaml'));

/** The shipped samples are real, working ConfigPushes: each applies and reaches Ready. */
describe('samples/', () => {
  let operator: Operator;
  beforeAll(async () => {
    operator = await startTestOperator();
  });
  afterAll(async () => operator?.stop());

  it('has samples', () => {
    expect(samples.length).toBeGreaterThanOrEqual(2);
  });

  it.each(samples)('%s reaches Ready', async (file) => {
    const docs = parseAllDocuments(readFileSync(join(samplesDir, file), 'utf8')).map((d) => d.toJS() as ConfigPush);
    for (const push of docs) {
      // Fresh namespaces stand in for the sample's, so reruns on a reused cluster never collide.
      const home = await newNamespace('sample');
      const renamed = new Map<string, string>();
      for (const target of push.spec.targets) {
        if (!target.namespace) continue;
        const fresh = renamed.get(target.namespace) ?? (await newNamespace('sample-target', acceptingPushesFrom(home)));
        renamed.set(target.namespace, fresh);
        target.namespace = fresh;
      }
      push.metadata.namespace = home;
      await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: home, body: push });
      const ready = await waitReady(home, push.metadata.name);
      expect(ready.status?.targetSummary).toBe(`${push.spec.targets.length}/${push.spec.targets.length}`);
    }
  });
});
