import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AuditEvent } from '../support/audit.js';
import { repoRoot } from '../support/paths.js';
import { AuditTail } from './audit-tail.js';
import { clusterEnv, type ClusterEnv } from './cluster.js';
import { describeEvent, findDoubleApplies, ledgerByTarget, type DoubleApply, type TargetLedger } from './ledger.js';
import { chaosClusterDir, profile } from './profile.js';
import { Random } from './random.js';
import { clients, createNamespace, listTargets, type Clients } from './workload.js';

/** What every scenario starts from: the cluster, clients, the audit ledger, its own namespaces and seed. */
export interface Scenario {
  name: string;
  env: ClusterEnv;
  c: Clients;
  audit: AuditTail;
  rnd: Random;
  seed: number;
  namespaces: string[];
  /** Creates a namespace of this scenario (in scope of its ledger). */
  namespace(prefix: string, annotations?: Record<string, string>): Promise<string>;
  /** The audit events so far. */
  events(): AuditEvent[];
  doubleApplies(expected: ReadonlyMap<string, number>, allowance?: (ledger: TargetLedger, base: number) => number): DoubleApply[];
  ledgers(): Map<string, TargetLedger>;
  /**
   * Double applies where the operator is the targets' only creator and nothing
   * deletes them: creates counted from the targets that exist, writes with an
   * unknown outcome counted as applied (ledger.ts, CountOptions).
   */
  soleCreatorDoubleApplies(expected: ReadonlyMap<string, number>): Promise<DoubleApply[]>;
  /** Successful operator writes to targets in this scenario's namespaces. */
  operatorTargetWrites(): number;
  /** Operator writes to targets answered 500/504: each may or may not have been applied. */
  unknownOutcomeTargetWrites(): number;
}

export async function startScenario(name: string, index: number): Promise<Scenario> {
  const env = clusterEnv();
  const seed = (profile.seed + index * 7919) >>> 0;
  const c = clients(env.kubeconfig);
  const audit = new AuditTail(env.auditLog);
  const namespaces: string[] = [];
  const scenario: Scenario = {
    name,
    env,
    c,
    audit,
    rnd: new Random(seed),
    seed,
    namespaces,
    async namespace(prefix, annotations = {}) {
      const ns = `chaos-${prefix}-${randomBytes(3).toString('hex')}`;
      await createNamespace(c, ns, annotations);
      namespaces.push(ns);
      return ns;
    },
    events: () => audit.read(),
    ledgers: () => ledgerByTarget(audit.read(), namespaces),
    doubleApplies: (expected, allowance) => findDoubleApplies(ledgerByTarget(audit.read(), namespaces), expected, allowance),
    async soleCreatorDoubleApplies(expected) {
      const existing = new Set<string>();
      for (const namespace of namespaces) for (const id of (await listTargets(c, namespace)).keys()) existing.add(id);
      return findDoubleApplies(ledgerByTarget(audit.read(), namespaces), expected, undefined, { existing });
    },
    operatorTargetWrites: () => [...ledgerByTarget(audit.read(), namespaces).values()].reduce((n, l) => n + l.operatorWrites.length, 0),
    unknownOutcomeTargetWrites: () =>
      [...ledgerByTarget(audit.read(), namespaces).values()].reduce((n, l) => n + l.unknownOutcomeOperatorWrites.length, 0),
  };
  return scenario;
}

/** Evidence for a report: the first few double applies with their audit lines. */
export function evidence(found: DoubleApply[], limit = 5): string {
  return found
    .slice(0, limit)
    .map((d) => `${d.target}: ${d.writes} operator writes, ${d.allowed} allowed\n    ${d.evidence.join('\n    ')}`)
    .join('\n');
}

export function auditLines(events: AuditEvent[], limit = 20): string {
  return events.slice(0, limit).map(describeEvent).join('\n');
}

/** hack/cluster.sh restart, without blocking this process's event loop (clients keep retrying meanwhile). */
export function restartControlPlane(): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot, 'hack/cluster.sh'), 'restart'], {
      env: { ...process.env, CLUSTER_DIR: chaosClusterDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4_000)));
    const timer = setTimeout(() => child.kill('SIGTERM'), 5 * 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Date.now() - started);
      else reject(new Error(`hack/cluster.sh restart failed (${String(code)}): ${stderr}`));
    });
  });
}
