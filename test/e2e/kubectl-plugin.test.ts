import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION, RECONCILE_REQUESTED_ANNOTATION } from '../../src/api/constants.js';
import type { ConfigPush } from '../../src/api/types.js';
import { isSupportedNode } from '../../src/cli/kubectl-configpush/node-runtime.js';
import { readAudit, writes } from '../support/audit.js';
import {
  acceptingPushesFrom,
  condition,
  core,
  createPush,
  custom,
  eventually,
  getPush,
  newNamespace,
  readConfigMap,
  readSecret,
  sleep,
  testKubeConfig,
  updateSpec,
  waitReady,
  waitReason,
} from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';
import { kubeconfigPath, repoRoot } from '../support/paths.js';
import { createDeployment, playDeploymentController } from '../support/workload-controller.js';

/**
 * `kubectl configpush`: the real executable (the compiled bin, as npm links
 * it) against the real apiserver, with the operator running in-process.
 * The process is spawned asynchronously: the operator shares this event loop
 * and must reconcile while the plugin waits for it.
 */
const BIN = join(repoRoot, 'dist/src/cli/kubectl-configpush/main.js');
const NODE_BIN = join(repoRoot, 'node_modules/.bin');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The plugin as its bin, on the test's Node, against the test cluster as admin. */
const plugin = (...args: string[]) => run(process.execPath, [BIN, ...args, '--kubeconfig', kubeconfigPath]);

/** The machine's own node, when it is too old for client-node (the case the bin's relaunch exists for). */
const OLD_NODE = '/usr/bin/node';
const oldNodeVersion = existsSync(OLD_NODE) ? spawnSync(OLD_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
const hasOldNode = oldNodeVersion !== '' && !isSupportedNode(oldNodeVersion);

const lines = (text: string) => text.split('\n').filter((line) => line !== '');
const widest = (text: string) => Math.max(0, ...lines(text).map((line) => [...line].length));

describe('kubectl configpush (the real executable)', () => {
  let operator: TestOperator;
  let ns: string;
  let other: string;
  const suffix = randomBytes(6).toString('hex');
  const SECRET = `S3cr3t-${suffix}`;
  const NEW_SECRET = `N3w-S3cr3t-${suffix}!`;
  const secretForms = (value: string) => [value, Buffer.from(value).toString('base64')];

  beforeAll(async () => {
    ns = await newNamespace('plugin');
    other = await newNamespace('plugin-b', acceptingPushesFrom(ns));
    operator = await startTestOperator();
    await createPush(ns, 'web', {
      targets: [
        { kind: 'ConfigMap', name: 'web' },
        { kind: 'ConfigMap', name: 'web', namespace: other },
      ],
      data: { 'app.properties': 'color=blue\nsize=10\nmode=fast\n', greeting: 'hello' },
      strategy: { waves: [{ name: 'canary', namespaces: [ns] }] },
    });
    await createPush(ns, 'creds', { targets: [{ kind: 'Secret', name: 'creds' }], data: { username: 'app', password: SECRET } });
    await waitReady(ns, 'web');
    await waitReady(ns, 'creds');
  });
  afterAll(async () => operator?.stop());

  describe('--help', () => {
    it('prints the usage with examples on stdout and exits 0, for the plugin and every command', async () => {
      for (const args of [['--help'], ['help'], [], ...['get', 'status', 'diff', 'history', 'reconcile', 'suspend', 'resume', 'rollback'].map((c) => [c, '--help'])]) {
        const result = await run(process.execPath, [BIN, ...args]);
        expect(result.code, args.join(' ')).toBe(0);
        expect(result.stderr).toBe('');
        expect(result.stdout).toMatch(/^kubectl configpush/);
        expect(result.stdout).toContain('Examples:');
        expect(result.stdout).toMatch(new RegExp(`\\n  kubectl configpush ${args[0] === '--help' || args[0] === 'help' || args.length === 0 ? 'get' : args[0]}`));
        expect(widest(result.stdout)).toBeLessThanOrEqual(80);
      }
    });

    it('a bad command line exits 2 with the error and where to find the usage on stderr', async () => {
      const unknown = await run(process.execPath, [BIN, 'undo', 'web']);
      expect(unknown.code).toBe(2);
      expect(unknown.stdout).toBe('');
      expect(unknown.stderr).toMatch(/unknown command "undo"; commands: get, status, diff, history, reconcile, suspend, resume, rollback/);
      const flag = await run(process.execPath, [BIN, 'diff', 'web', '--no-wait']);
      expect(flag.code).toBe(2);
      expect(flag.stderr).toMatch(/diff does not take --no-wait[\s\S]*kubectl configpush diff --help/);
      expect((await run(process.execPath, [BIN, 'history'])).stderr).toMatch(/history needs the NAME of a ConfigPush/);
    });
  });

  describe('as a kubectl plugin', () => {
    it('kubectl finds it on PATH and runs it (npm link puts exactly this symlink on PATH)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kubectl-plugin-'));
      try {
        symlinkSync(BIN, join(dir, 'kubectl-configpush'));
        const env = { ...process.env, PATH: [dir, NODE_BIN, process.env.PATH].join(delimiter) };
        const result = await run('kubectl', ['configpush', 'get', '-n', ns, '--kubeconfig', kubeconfigPath], env);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(lines(result.stdout)[0]).toMatch(/^NAME\s+READY\s+REASON\s+KEY\s+TARGETS\s+PROGRESS\s+AGE$/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    // The machine's own node is older than client-node needs: the bin must hand over to node_modules/.bin/node.
    it.skipIf(!hasOldNode)(`runs on an older node (${oldNodeVersion || 'none here'}) by relaunching on the package's Node 24`, async () => {
      const result = await run(OLD_NODE, [BIN, 'history', 'web', '-n', ns, '-o', 'json', '--kubeconfig', kubeconfigPath]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect((JSON.parse(result.stdout) as { history: unknown }).history).toEqual((await getPush(ns, 'web')).status?.history);
    });
  });

  describe('get / status', () => {
    it('lists the namespace\'s pushes as a table within 80 columns', async () => {
      const result = await plugin('get', '-n', ns);
      expect(result.code).toBe(0);
      const [header, ...rows] = lines(result.stdout);
      expect(header).toMatch(/^NAME\s+READY\s+REASON\s+KEY\s+TARGETS\s+PROGRESS\s+AGE$/);
      const web = await getPush(ns, 'web');
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatch(/^creds\s+True\s+Applied\s+1-[0-9a-f]{10}\s+1\/1\s+1\/1 Complete\s+\d+[smh]\S*$/);
      expect(rows[1]).toMatch(new RegExp(`^web\\s+True\\s+Applied\\s+${web.status?.operationKey}\\s+2/2\\s+2/2 Complete\\s+\\d+[smh]\\S*$`));
      expect(widest(result.stdout)).toBeLessThanOrEqual(80);
    });

    it('-A adds the NAMESPACE column and lists every namespace; -o json is a List of the objects', async () => {
      const all = await plugin('get', '-A');
      expect(all.code).toBe(0);
      expect(lines(all.stdout)[0]).toMatch(/^NAMESPACE\s+NAME\s+READY/);
      // Names are never cut (they are what the next command needs), however narrow the terminal.
      expect(lines(all.stdout).filter((l) => l.startsWith(`${ns} `)).map((l) => l.split(/\s+/)[1])).toEqual(['creds', 'web']);

      const json = await plugin('get', '-n', ns, '-o', 'json');
      expect(json.code).toBe(0);
      const list = JSON.parse(json.stdout) as { kind: string; items: ConfigPush[] };
      expect(list.kind).toBe('List');
      expect(list.items.map((p) => p.metadata.name)).toEqual(['creds', 'web']);
      expect(list.items[1]?.status).toEqual((await getPush(ns, 'web')).status);
    });

    it('status NAME prints the conditions, the rollout and each wave\'s targets as a tree within 80 columns', async () => {
      const result = await plugin('status', 'web', '-n', ns);
      expect(result.code).toBe(0);
      const out = result.stdout;
      expect(out).toMatch(/^Name:\s+web$/m);
      expect(out).toMatch(/^ {2}Ready\s+True\s+Applied\s+operation 1-[0-9a-f]{10} applied to 2 targets$/m);
      expect(out).toMatch(/^Rollout:\s+Complete, 2\/2 targets, wave 2\/2$/m);
      expect(out).toContain(`├─ wave 1/2 (canary): done\n│  └─ ConfigMap ${ns}/web: Applied\n└─ wave 2/2 (the rest): done\n   └─ ConfigMap ${other}/web: Applied`);
      expect(widest(out)).toBeLessThanOrEqual(80);
      // The tree never shows spec.data (a push's content may be secret).
      expect(out).not.toContain('color=blue');
    });

    it('status NAME shows the workloads a push restarts, live: rolling out, then rolled out', async () => {
      const home = await newNamespace('plugin-roll');
      await createDeployment(home, 'web', 1);
      const deployments = playDeploymentController(() => [home]);
      deployments.stuck.add(home);
      try {
        await createPush(home, 'rolling', { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' }, rollout: { restart: [{ kind: 'Deployment', name: 'web' }] } });
        const waiting = await waitReason(home, 'rolling', 'Progressing');
        const key = waiting.status?.operationKey;
        const status = await plugin('status', 'rolling', '-n', home);
        expect(status.code).toBe(0);
        expect(status.stdout).toMatch(/^Restarts:\s+Deployment web \(in each target namespace\)$/m);
        // The workload's line wraps under itself (9 columns in); joined again here.
        const tree = status.stdout.replace(/\n {9}/g, ' ');
        expect(tree).toMatch(new RegExp(`└─ wave 1/1: waiting for workloads\\n   ├─ ConfigMap ${home}/cfg: Applied\\n   └─ Deployment ${home}/web: rolling out \\([^)]+\\), restarted for ${key}\\n`));
        expect(widest(status.stdout)).toBeLessThanOrEqual(80);
        deployments.stuck.delete(home);
        await waitReady(home, 'rolling');
        const done = (await plugin('status', 'rolling', '-n', home)).stdout.replace(/\n {9}/g, ' ');
        expect(done).toContain(`└─ wave 1/1: done\n   ├─ ConfigMap ${home}/cfg: Applied\n   └─ Deployment ${home}/web: rolled out, restarted for ${key}\n`);
      } finally {
        await deployments.stop();
      }
    });

    it('status NAME -o json|yaml is the object as the apiserver has it', async () => {
      const live = await getPush(ns, 'web');
      const json = JSON.parse((await plugin('status', 'web', '-n', ns, '-o', 'json')).stdout) as ConfigPush;
      expect(json.metadata.uid).toBe(live.metadata.uid);
      expect(json.metadata.resourceVersion).toBe(live.metadata.resourceVersion);
      expect(json.spec).toEqual(live.spec);
      expect(json.status).toEqual(live.status);
      const yaml = await plugin('get', 'web', '-n', ns, '-o', 'yaml');
      expect(yaml.code).toBe(0);
      expect(yaml.stdout).toContain(`uid: ${live.metadata.uid}`);
    });

    it('an unknown push: a helpful error on stderr and exit 3', async () => {
      for (const command of ['status', 'diff', 'history', 'reconcile', 'suspend', 'rollback']) {
        const result = await plugin(command, 'nope', '-n', ns);
        expect(result.code, command).toBe(3);
        expect(result.stdout).toBe('');
        expect(result.stderr).toBe(`error: configpush ${ns}/nope not found; list them with: kubectl configpush get -n ${ns}\n`);
      }
    });

    it('an apiserver it cannot reach: says so, names the server and the flags to check', async () => {
      const kubeConfig = testKubeConfig();
      const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
      try {
        const path = join(dir, 'kubeconfig');
        const config = JSON.parse(kubeConfig.exportConfig()) as { clusters: { cluster: { server: string } }[] };
        for (const c of config.clusters) c.cluster.server = 'https://127.0.0.1:1';
        writeFileSync(path, JSON.stringify(config));
        const result = await run(process.execPath, [BIN, 'get', '--kubeconfig', path, '--request-timeout', '5s']);
        expect(result.code).toBe(3);
        expect(result.stderr).toMatch(/^error: cannot reach the apiserver at https:\/\/127\.0\.0\.1:1 \(.+\); check --kubeconfig\/--context/);
        const context = await run(process.execPath, [BIN, 'get', '--kubeconfig', path, '--context', 'nope']);
        expect(context.code).toBe(3);
        expect(context.stderr).toMatch(/context "nope" is not in the kubeconfig; list them with: kubectl config get-contexts/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('history', () => {
    it('prints status.history as a table, then the kept revisions; -o json is both', async () => {
      const push = await getPush(ns, 'web');
      const entry = push.status?.history?.[0];
      const table = await plugin('history', 'web', '-n', ns);
      expect(table.code).toBe(0);
      const [header, row, blank, title, revisionHeader, revision, ...rest] = table.stdout.split('\n');
      // At 80 columns APPLIED AT is left out (AGE says when; -o has it): the digest stays whole.
      expect(header).toMatch(/^GENERATION\s+KEY\s+REVISION\s+DIGEST\s+AGE$/);
      expect(row).toMatch(new RegExp(`^1\\s+${entry?.key}\\s+1\\s+${entry?.digest.slice(0, 'sha256:'.length + 12)}\\s+\\d+[smh]`));
      expect([blank, title]).toEqual(['', 'Revisions (1 kept, spec.revisionHistoryLimit 10):']);
      expect(revisionHeader).toMatch(/^REVISION\s+DIGEST\s+OPERATION\s+AGE\s+CONTENT IN$/);
      expect(revision).toMatch(new RegExp(`^1 \\(current\\)\\s+${entry?.digest.slice(0, 'sha256:'.length + 12)}\\s+${entry?.key}\\s+\\d+[smh]\\S*\\s+ControllerRevision$`));
      expect(rest).toEqual(['']);
      const json = JSON.parse((await plugin('history', 'web', '-n', ns, '-o', 'json')).stdout) as { history: unknown; revisions: { revision: number; digest: string }[] };
      expect(json.history).toEqual(push.status?.history);
      expect(json.revisions.map((r) => [r.revision, r.digest])).toEqual([[1, entry?.digest]]);
    });
  });

  describe('suspend, diff, resume', () => {
    it('suspend sets spec.suspend, waits for the operator and prints Ready reason Suspended; nothing is written to the targets', async () => {
      const before = readAudit();
      const result = await plugin('suspend', 'web', '-n', ns);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe(`configpush ${ns}/web suspended\n`);
      expect(result.stdout).toMatch(/^Ready=True \(Suspended\): reconciliation is suspended; 2\/2 targets at the desired content\n$/);
      const push = await waitReason(ns, 'web', 'Suspended');
      expect(push.spec.suspend).toBe(true);
      await sleep(300);
      const after = readAudit().slice(before.length);
      expect(writes({ resource: 'configmaps', userAgent: 'configpush-operator' }, after)).toEqual([]);
      expect(writes({ resource: 'configpushes', namespace: ns, name: 'web', subresource: '', userAgent: 'kubectl-configpush' }, after).map((w) => w.verb)).toEqual(['patch']);
    });

    it('diff on a changed spec: exit 1, each target\'s update with the ConfigMap line diff', async () => {
      await updateSpec(ns, 'web', (spec) => ({ ...spec, data: { 'app.properties': 'color=green\nsize=10\nmode=fast\n', extra: 'x' } }));
      const result = await plugin('diff', 'web', '-n', ns);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(1);
      const out = result.stdout;
      expect(out).toMatch(/spec\.suspend is true: the operator writes none of this until the push is resumed/);
      expect(out).toContain(`ConfigMap ${ns}/web: update (new content) [wave 1/2]\n  operation key: 1-`);
      expect(out).toContain('    ~ app.properties\n        - color=blue\n        + color=green\n          size=10\n          mode=fast\n    + extra: x\n    - greeting: hello\n');
      // The second target's changes are the first's: named, not repeated.
      expect(out).toContain(`ConfigMap ${other}/web: update (new content) [wave 2/2]\n  the same changes as ConfigMap ${ns}/web\n`);
      expect(lines(out).at(-1)).toBe('2 to update.');

      const json = JSON.parse((await plugin('diff', 'web', '-n', ns, '-o', 'json')).stdout) as { changes: number; targets: { action: string; reason?: string; data: { key: string; change: string }[] }[] };
      expect(json.changes).toBe(2);
      expect(json.targets.map((t) => [t.action, t.reason])).toEqual([['update', 'new-content'], ['update', 'new-content']]);
      expect(json.targets[0]?.data.map((d) => `${d.change} ${d.key}`)).toEqual(['changed app.properties', 'added extra', 'removed greeting']);
    });

    it('diff of a Secret: the change by size only; the values appear nowhere in the output', async () => {
      expect((await plugin('suspend', 'creds', '-n', ns)).code).toBe(0);
      await updateSpec(ns, 'creds', (spec) => ({ ...spec, data: { username: 'app', password: NEW_SECRET, token: NEW_SECRET } }));
      const outputs: Result[] = [];
      const text = await plugin('diff', 'creds', '-n', ns);
      outputs.push(text, await plugin('diff', 'creds', '-n', ns, '-o', 'json'), await plugin('diff', 'creds', '-n', ns, '-o', 'yaml'), await plugin('status', 'creds', '-n', ns));
      expect(text.code).toBe(1);
      const bytes = (value: string) => Buffer.byteLength(value);
      expect(text.stdout).toContain(
        `Secret ${ns}/creds: update (new content)\n` +
          `  operation key: 1-`,
      );
      expect(text.stdout).toContain(
        `  data (values hidden):\n    ~ password: (changed, ${bytes(SECRET)} bytes -> ${bytes(NEW_SECRET)} bytes)\n    + token: (added, ${bytes(NEW_SECRET)} bytes)\n`,
      );
      for (const { stdout, stderr } of outputs) {
        for (const form of [...secretForms(SECRET), ...secretForms(NEW_SECRET)]) {
          expect(stdout).not.toContain(form);
          expect(stderr).not.toContain(form);
        }
      }
      // The Secret still holds the old value: diff wrote nothing.
      expect(Buffer.from((await readSecret(ns, 'creds'))?.data?.password ?? '', 'base64').toString()).toBe(SECRET);
    });

    it('resume sets spec.suspend false, waits, prints Ready; the change is applied once; diff then exits 0', async () => {
      const before = readAudit();
      const result = await plugin('resume', 'web', '-n', ns);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe(`configpush ${ns}/web resumed\n`);
      expect(result.stdout).toMatch(/^Ready=True \(Applied\): operation 4-[0-9a-f]{10} applied to 2 targets\n$/);
      const push = await getPush(ns, 'web');
      expect(push.spec.suspend).toBe(false);
      expect(condition(push, 'Ready')?.observedGeneration).toBe(push.metadata.generation);
      expect((await readConfigMap(other, 'web'))?.data).toEqual({ 'app.properties': 'color=green\nsize=10\nmode=fast\n', extra: 'x' });
      await settled(operator);
      const after = readAudit().slice(before.length);
      expect(writes({ resource: 'configmaps', userAgent: 'configpush-operator' }, after).map((w) => `${w.verb} ${w.objectRef?.namespace}`).sort()).toEqual(
        [`update ${ns}`, `update ${other}`].sort(),
      );
      const diff = await plugin('diff', 'web', '-n', ns);
      expect(diff.code).toBe(0);
      expect(lines(diff.stdout).at(-1)).toBe('2 unchanged.');
    });
  });

  describe('diff with spec.sources (read as the user, merged as the operator merges them)', () => {
    let home: string;
    let dest: string;
    const SOURCE_SECRET = `Src-S3cr3t-${suffix}`;
    const NEW_SOURCE_SECRET = `N3w-Src-S3cr3t-${suffix}`;
    const setSource = async (password: string) => {
      const body = { metadata: { name: 'upstream', namespace: home }, type: 'Opaque', data: { password: Buffer.from(password).toString('base64'), user: Buffer.from('app').toString('base64') } };
      if (await readSecret(home, 'upstream')) await core.replaceNamespacedSecret({ name: 'upstream', namespace: home, body });
      else await core.createNamespacedSecret({ namespace: home, body });
    };
    let appliedKey = '';
    const noSecretIn = (results: Result[]) => {
      for (const { stdout, stderr } of results) {
        for (const form of [...secretForms(SOURCE_SECRET), ...secretForms(NEW_SOURCE_SECRET)]) {
          expect(stdout).not.toContain(form);
          expect(stderr).not.toContain(form);
        }
      }
    };

    beforeAll(async () => {
      home = await newNamespace('plugin-src');
      dest = await newNamespace('plugin-src-b', acceptingPushesFrom(home));
      await setSource(SOURCE_SECRET);
      await createPush(home, 'copied', {
        targets: [
          { kind: 'Secret', name: 'copied' },
          { kind: 'Secret', name: 'copied', namespace: dest },
        ],
        sources: [{ secretRef: { name: 'upstream' } }],
        data: { mode: 'prod' },
      });
      await waitReady(home, 'copied');
      expect((await plugin('suspend', 'copied', '-n', home)).code).toBe(0);
    });

    it('no source change: every target unchanged, exit 0, under the operator\'s own operation key', async () => {
      const push = await getPush(home, 'copied');
      const result = await plugin('diff', 'copied', '-n', home);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(lines(result.stdout)[0]).toBe(`ConfigPush ${home}/copied, generation ${push.metadata.generation}, operation ${push.status?.operationKey}`);
      // The sources line wraps with the (random) namespace's length: joined again here.
      expect(result.stdout.replace(/\n/g, ' ')).toContain(`sources, read as you: Secret ${home}/upstream (revision ${push.status?.sources?.[0]?.revision})`);
      expect(lines(result.stdout).at(-1)).toBe('2 unchanged.');
      const json = JSON.parse((await plugin('diff', 'copied', '-n', home, '-o', 'json')).stdout) as { operationKey: string; contentDigest: string; sources: unknown };
      expect(json.operationKey).toBe(push.status?.operationKey);
      appliedKey = json.operationKey;
      expect(json.contentDigest).toBe(push.status?.contentDigest);
      expect(json.sources).toEqual(push.status?.sources);
      noSecretIn([result]);
    });

    it('a source change: an update of every target, exit 1; the source\'s values (and their base64) appear in no output', async () => {
      const before = readAudit();
      await setSource(NEW_SOURCE_SECRET);
      const text = await plugin('diff', 'copied', '-n', home);
      expect(text.stderr).toBe('');
      expect(text.code).toBe(1);
      const bytes = (value: string) => Buffer.byteLength(value);
      expect(text.stdout).toContain(`Secret ${home}/copied: update (new content)\n  operation key: `);
      expect(text.stdout).toContain(`  data (values hidden):\n    ~ password: (changed, ${bytes(SOURCE_SECRET)} bytes -> ${bytes(NEW_SOURCE_SECRET)} bytes)\n`);
      expect(text.stdout).toContain(`Secret ${dest}/copied: update (new content)\n  the same changes as Secret ${home}/copied\n`);
      expect(lines(text.stdout).at(-1)).toBe('2 to update.');
      const json = await plugin('diff', 'copied', '-n', home, '-o', 'json');
      const yaml = await plugin('diff', 'copied', '-n', home, '-o', 'yaml');
      expect([json.code, yaml.code]).toEqual([1, 1]);
      const plan = JSON.parse(json.stdout) as { operationKey: string; targets: { action: string; operationKey: { from: string; to: string } }[] };
      const push = await getPush(home, 'copied');
      // The same generation, a new operation: the sources revision is in the key.
      expect(plan.operationKey).not.toBe(appliedKey);
      expect(plan.operationKey.split('-')[0]).toBe(String(push.metadata.generation));
      // From the key the operator stamped before the suspend (generation 1) to this one.
      const written = (await readSecret(dest, 'copied'))?.metadata?.annotations?.[ANNOTATION.operationKey];
      expect(written).toMatch(/^1-[0-9a-f]{10}$/);
      expect(plan.targets.map((t) => [t.action, t.operationKey.from, t.operationKey.to])).toEqual([
        ['update', written, plan.operationKey],
        ['update', written, plan.operationKey],
      ]);
      expect(yaml.stdout).toContain(`operationKey: ${plan.operationKey}`);
      noSecretIn([text, json, yaml, await plugin('status', 'copied', '-n', home)]);
      // Suspended: the targets still hold the old value, and diff wrote nothing.
      expect(Buffer.from((await readSecret(dest, 'copied'))?.data?.password ?? '', 'base64').toString()).toBe(SOURCE_SECRET);
      expect(writes({ resource: 'secrets', userAgent: 'kubectl-configpush' }, readAudit().slice(before.length))).toEqual([]);
    });

    it('after resume the operator writes the new revision and diff exits 0 with the key it stamped', async () => {
      expect((await plugin('resume', 'copied', '-n', home)).code).toBe(0);
      const push = await waitReason(home, 'copied', 'Applied');
      expect(Buffer.from((await readSecret(dest, 'copied'))?.data?.password ?? '', 'base64').toString()).toBe(NEW_SOURCE_SECRET);
      const diff = await plugin('diff', 'copied', '-n', home);
      expect(diff.code).toBe(0);
      expect(lines(diff.stdout)[0]).toBe(`ConfigPush ${home}/copied, generation ${push.metadata.generation}, operation ${push.status?.operationKey}`);
      expect(lines(diff.stdout).at(-1)).toBe('2 unchanged.');
      noSecretIn([diff]);
    });

    it('a source the operator refuses: the operator\'s reason on stderr, exit 3', async () => {
      await createPush(home, 'orphan', { targets: [{ kind: 'ConfigMap', name: 'orphan' }], sources: [{ configMapRef: { name: 'nowhere' } }] });
      await waitReason(home, 'orphan', 'SourceNotFound');
      const result = await plugin('diff', 'orphan', '-n', home);
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `error: configpush ${home}/orphan cannot be planned: SourceNotFound: ConfigMap ${home}/nowhere (spec.sources[0]) does not exist; ` +
          `the operator refuses it with the same reason (see: kubectl configpush status orphan -n ${home})\n`,
      );
    });
  });

  describe('reconcile', () => {
    const operatorWrites = (events: ReturnType<typeof readAudit>) => ({
      status: writes({ resource: 'configpushes', namespace: ns, name: 'web', userAgent: 'configpush-operator' }, events),
      targets: [...writes({ resource: 'configmaps', userAgent: 'configpush-operator' }, events), ...writes({ resource: 'secrets', userAgent: 'configpush-operator' }, events)],
    });

    it('sets the annotation, waits for status.lastHandledReconcileAt to echo it: one status write, no target write', async () => {
      await settled(operator);
      const before = readAudit();
      const result = await plugin('reconcile', 'web', '-n', ns);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Ready=True \(Applied\): operation 4-[0-9a-f]{10} applied to 2 targets\n$/);
      const requested = /reconcile-requested-at=(\S+)\)/.exec(result.stderr)?.[1];
      expect(requested).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const push = await getPush(ns, 'web');
      expect(push.metadata.annotations?.[RECONCILE_REQUESTED_ANNOTATION]).toBe(requested);
      expect(push.status?.lastHandledReconcileAt).toBe(requested);

      await settled(operator);
      await sleep(300);
      const after = readAudit().slice(before.length);
      const written = operatorWrites(after);
      expect(written.status.map((w) => `${w.verb} ${w.objectRef?.subresource}`)).toEqual(['update status']);
      expect(written.targets).toEqual([]);
      expect(writes({ resource: 'configpushes', namespace: ns, name: 'web', userAgent: 'kubectl-configpush' }, after).map((w) => w.verb)).toEqual(['patch']);
    });

    it('another reconcile with the same annotation value writes nothing', async () => {
      await settled(operator);
      const reconcilesBefore = operator.reconciles.get(`${ns}/web`) ?? 0;
      const before = readAudit();
      // A label change is a new resourceVersion: the watch queues the push, as it does for the annotation.
      await custom.patchNamespacedCustomObject(
        { group: 'configpush.io', version: 'v1alpha1', plural: 'configpushes', namespace: ns, name: 'web', body: { metadata: { labels: { touched: 'yes' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await eventually(async () => (operator.reconciles.get(`${ns}/web`) ?? 0) > reconcilesBefore, 'a reconcile of the relabelled push');
      await settled(operator);
      await sleep(300);
      const written = operatorWrites(readAudit().slice(before.length));
      expect(written.status).toEqual([]);
      expect(written.targets).toEqual([]);
    });

    it('--no-wait only sets the annotation', async () => {
      const result = await plugin('reconcile', 'web', '-n', ns, '--no-wait');
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('');
      const requested = /reconcile-requested-at=(\S+)\)/.exec(result.stderr)?.[1];
      expect((await getPush(ns, 'web')).metadata.annotations?.[RECONCILE_REQUESTED_ANNOTATION]).toBe(requested);
      await eventually(async () => (await getPush(ns, 'web')).status?.lastHandledReconcileAt === requested, 'the operator to handle it anyway');
    });

    it('a Stalled push: reconcile exits 1 with the Ready condition; status shows the conflict; diff reports it and exits 0', async () => {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'taken' }, data: { mine: 'yes' } } });
      await createPush(ns, 'taken', { targets: [{ kind: 'ConfigMap', name: 'taken' }], data: { k: 'v' } });
      await waitReason(ns, 'taken', 'Conflict');

      const reconcile = await plugin('reconcile', 'taken', '-n', ns);
      expect(reconcile.code).toBe(1);
      expect(reconcile.stdout).toBe(`Ready=False (Conflict): ConfigMap ${ns}/taken is owned by unmanaged (set spec.adopt to take it over)\n`);
      expect(reconcile.stderr).toContain(`configpush ${ns}/taken is Stalled`);

      const status = await plugin('status', 'taken', '-n', ns);
      expect(status.stdout).toContain(`└─ wave 1/1: halted\n   └─ ConfigMap ${ns}/taken: Conflict\n         ConfigMap ${ns}/taken is owned by unmanaged`);
      expect(widest(status.stdout)).toBeLessThanOrEqual(80);

      const diff = await plugin('diff', 'taken', '-n', ns);
      expect(diff.code).toBe(0);
      expect(diff.stdout).toContain(`ConfigMap ${ns}/taken: conflict\n  owned by unmanaged (set spec.adopt to take it over)\n`);
      expect(lines(diff.stdout).at(-1)).toBe('1 in conflict.');
    });
  });
});
