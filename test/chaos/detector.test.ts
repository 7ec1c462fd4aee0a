import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../support/audit.js';
import { findDoubleApplies, ledgerByRevisionPayload, ledgerByTarget, targetId } from './ledger.js';
import { LossyProxy } from './lossy-proxy.js';
import { runDir } from './profile.js';
import { startScenario, type Scenario } from './scenario.js';
import { clients, code, sleep, type Clients } from './workload.js';

/**
 * The double-apply detector must be able to fail. First on hand-made audit
 * events, then for real: two writers put a ConfigMap through the lossy proxy,
 * which loses the response of each one's first create (the write happened).
 * The naive writer retries its create-or-replace without re-reading and
 * writes twice; the careful one re-reads, finds its own write, and stops.
 * The detector must catch the first and pass the second.
 */
function event(verb: string, name: string, code: number, userAgent: string, namespace = 'ns', resource = 'configmaps'): AuditEvent {
  return {
    verb,
    stage: 'ResponseComplete',
    userAgent,
    user: { username: 'admin' },
    objectRef: { resource, namespace, name },
    responseStatus: { code },
    requestReceivedTimestamp: '2026-01-01T00:00:00.000000Z',
    stageTimestamp: '2026-01-01T00:00:00.000000Z',
  };
}

describe('the double-apply detector', () => {
  it('counts only successful operator writes to targets, per target, against what each was allowed', () => {
    const op = 'configpush-operator';
    const events = [
      event('create', 'once', 201, op),
      event('create', 'twice', 201, op),
      event('create', 'twice', 409, op), // refused: not a write
      event('update', 'twice', 200, op), // the second effect
      event('update', 'edited', 200, 'kubectl/v1.36'), // a third party: not the operator's
      event('create', 'edited', 201, op),
      event('create', 'two-generations', 201, op),
      event('update', 'two-generations', 200, op),
      event('create', 'unasked', 201, op), // a target nobody asked for
      event('update', 'once', 200, op, 'elsewhere'), // another namespace: out of scope
      event('update', 'once', 200, op, 'ns', 'configpushes'), // not a target
    ];
    const ledgers = ledgerByTarget(events, ['ns']);
    const id = (name: string) => targetId({ resource: 'configmaps', namespace: 'ns', name });
    const expected = new Map([
      [id('once'), 1],
      [id('twice'), 1],
      [id('edited'), 1],
      [id('two-generations'), 2],
    ]);
    const found = findDoubleApplies(ledgers, expected);
    expect(found.map((d) => [d.target, d.writes, d.allowed])).toEqual([
      [id('twice'), 2, 1],
      [id('unasked'), 1, 0],
    ]);
    expect(ledgers.get(id('twice'))?.refusedOperatorWrites).toHaveLength(1);
    expect(ledgers.get(id('edited'))?.otherWrites).toHaveLength(1);
  });

  it('keeps revision payload Secrets (<push>-<10 hex>) out of the targets, in a ledger of their own', () => {
    const op = 'configpush-operator';
    const events = [
      event('create', 'app', 201, op, 'ns', 'secrets'),
      event('create', 'app-0123456789', 201, op, 'ns', 'secrets'), // a revision's payload
      event('delete', 'app-0123456789', 200, op, 'ns', 'secrets'), // pruned
      event('create', 'app-abcdefabcd', 201, op, 'ns', 'secrets'),
      event('create', 'app-abcdefabcd', 201, op, 'other', 'secrets'), // out of scope
      event('create', 'cm-0123456789', 201, op, 'ns', 'configmaps'), // a ConfigMap is never a payload
    ];
    const secret = (name: string) => targetId({ resource: 'secrets', namespace: 'ns', name });
    expect([...ledgerByTarget(events, ['ns']).keys()].sort()).toEqual([targetId({ resource: 'configmaps', namespace: 'ns', name: 'cm-0123456789' }), secret('app')].sort());
    const payloads = ledgerByRevisionPayload(events, ['ns']);
    expect([...payloads.keys()].sort()).toEqual([secret('app-0123456789'), secret('app-abcdefabcd')]);
    expect(payloads.get(secret('app-0123456789'))?.operatorWrites.map((e) => e.verb)).toEqual(['create', 'delete']);
  });

  it('keeps writes answered 500/504 apart: not refused, maybe applied', () => {
    const op = 'configpush-operator';
    const ledgers = ledgerByTarget(
      [
        event('create', 'cut-short', 504, op), // the operator killed mid-request: the create may have committed
        event('update', 'cut-short', 500, op),
        event('update', 'cut-short', 503, op), // shutting down: refused before storage
        event('update', 'cut-short', 409, op),
        event('update', 'cut-short', 504, 'kubectl/v1.36'), // someone else's: not counted at all
      ],
      ['ns'],
    );
    const ledger = ledgers.get(targetId({ resource: 'configmaps', namespace: 'ns', name: 'cut-short' }));
    expect(ledger?.operatorWrites).toHaveLength(0);
    expect(ledger?.unknownOutcomeOperatorWrites.map((e) => e.responseStatus?.code)).toEqual([504, 500]);
    expect(ledger?.refusedOperatorWrites.map((e) => e.responseStatus?.code)).toEqual([503, 409]);
    expect(ledger?.otherWrites).toHaveLength(0);
  });

  it('where the operator is the only creator, counts a create cut short from existence, and every rewrite after it', () => {
    const op = 'configpush-operator';
    const events = [
      event('create', 'cut-short', 504, op), // committed: the target exists, no 2xx create is logged
      event('create', 'rewritten', 504, op),
      event('update', 'rewritten', 200, op), // a second write of the same operation
      event('create', 'rewrite-cut-short', 504, op),
      event('update', 'rewrite-cut-short', 504, op), // may have landed: counted
      event('create', 'did-not-land', 504, op),
      event('create', 'did-not-land', 201, op), // so the first never committed: one create
      event('create', 'refused-rewrite', 201, op),
      event('update', 'refused-rewrite', 409, op),
      event('create', 'missing', 504, op), // never committed, never retried: the target does not exist
    ];
    const id = (name: string) => targetId({ resource: 'configmaps', namespace: 'ns', name });
    const names = ['cut-short', 'rewritten', 'rewrite-cut-short', 'did-not-land', 'refused-rewrite', 'missing'];
    const expected = new Map(names.map((name) => [id(name), 1]));
    const existing = new Set(names.filter((name) => name !== 'missing').map(id));
    const ledgers = ledgerByTarget(events, ['ns']);

    const found = findDoubleApplies(ledgers, expected, undefined, { existing });
    expect(found.map((d) => [d.target, d.writes])).toEqual([
      [id('rewritten'), 2],
      [id('rewrite-cut-short'), 2],
    ]);
    expect(found[0]?.evidence.map((line) => line.split(' ').slice(1, 5).join(' '))).toEqual([
      `create configmaps/ns/rewritten -> 504`,
      `update configmaps/ns/rewritten -> 200`,
    ]);
    // Counting 2xx writes alone misses both: their creates have no 2xx.
    expect(findDoubleApplies(ledgers, expected)).toEqual([]);
  });

  describe('on the real apiserver behind the lossy proxy', () => {
    let scenario: Scenario;
    let proxy: LossyProxy;
    let lossy: Clients;
    let ns: string;
    /** Armed before each writer: the response of its first create is lost. */
    let dropNextCreate = false;

    beforeAll(async () => {
      scenario = await startScenario('detector', 0);
      ns = await scenario.namespace('detector');
      proxy = new LossyProxy({
        cluster: scenario.env,
        dropRate: 0,
        seed: scenario.seed,
        mode: 'reset',
        maxRequests: 1_000,
        shouldDrop: (method, path) => {
          if (method !== 'POST' || !path.includes(`/namespaces/${ns}/configmaps`) || !dropNextCreate) return false;
          dropNextCreate = false;
          return true;
        },
      });
      await proxy.start();
      const file = join(runDir, 'detector.kubeconfig');
      writeFileSync(file, proxy.kubeconfig(), { mode: 0o600 });
      lossy = clients(file, 'configpush-operator/naive-writer');
    });
    afterAll(async () => proxy?.stop());

    const body = (name: string, marker: string): V1ConfigMap => ({
      metadata: { name, namespace: ns, annotations: { 'configpush.io/operation-key': marker } },
      data: { k: 'v' },
    });

    it('catches a naive create-or-replace retried after a lost response', async () => {
      // create-or-replace: create; on AlreadyExists replace, unconditionally.
      // On a network error: try the whole thing again. No re-read.
      const naive = async (name: string) => {
        for (let attempt = 1; attempt <= 3; attempt++) {
          try {
            try {
              await lossy.core.createNamespacedConfigMap({ namespace: ns, body: body(name, 'op-1') });
            } catch (err) {
              if (code(err) !== 409) throw err;
              await lossy.core.replaceNamespacedConfigMap({ namespace: ns, name, body: body(name, 'op-1') });
            }
            return attempt;
          } catch (err) {
            if (code(err) !== undefined) throw err;
            await sleep(100);
          }
        }
        throw new Error('naive writer gave up');
      };
      // The careful writer: after a lost response, re-read; the key on the object says the work is done.
      const careful = async (name: string) => {
        for (let attempt = 1; attempt <= 3; attempt++) {
          try {
            const live = await lossy.core.readNamespacedConfigMap({ namespace: ns, name }).catch((err: unknown) => {
              if (code(err) === 404) return undefined;
              throw err;
            });
            if (live?.metadata?.annotations?.['configpush.io/operation-key'] === 'op-1') return attempt;
            await lossy.core.createNamespacedConfigMap({ namespace: ns, body: body(name, 'op-1') });
            return attempt;
          } catch (err) {
            if (code(err) !== undefined && code(err) !== 409) throw err;
            await sleep(100);
          }
        }
        throw new Error('careful writer gave up');
      };

      dropNextCreate = true;
      expect(await naive('naive')).toBe(2);
      dropNextCreate = true;
      expect(await careful('careful')).toBe(2);
      expect(proxy.stats.dropped.map((d) => [d.method, d.status])).toEqual([
        ['POST', 201],
        ['POST', 201],
      ]);

      await sleep(200);
      const expected = new Map([
        [targetId({ resource: 'configmaps', namespace: ns, name: 'naive' }), 1],
        [targetId({ resource: 'configmaps', namespace: ns, name: 'careful' }), 1],
      ]);
      const found = scenario.doubleApplies(expected);
      expect(found.map((d) => d.target)).toEqual([targetId({ resource: 'configmaps', namespace: ns, name: 'naive' })]);
      expect(found[0]?.evidence.map((line) => line.split(' ')[1])).toEqual(['create', 'update']);
    });
  });
});
