import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { imageNodeFlags } from '../support/image.js';
import { createPush, eventually, newNamespace, testKubeConfig, waitReady } from '../support/kube.js';
import { OPERATOR_NAMESPACE } from '../support/operator-identity.js';
import { operatorKubeconfigPath, repoRoot } from '../support/paths.js';

const coordination = testKubeConfig().makeApiClient(CoordinationV1Api);

/** The real program (dist/src/main.js, what the image runs), stopped the way Kubernetes stops a pod. */
describe('the operator process', () => {
  it('on SIGTERM finishes its work, releases the Lease and exits 0', async () => {
    const lease = `graceful-${Date.now().toString(36)}`;
    const child = spawn(
      process.execPath,
      [
        ...imageNodeFlags(repoRoot),
        join(repoRoot, 'dist/src/main.js'),
        '--kubeconfig', operatorKubeconfigPath,
        '--leader-elect', '--leader-election-namespace', OPERATOR_NAMESPACE, '--leader-election-id', lease,
        '--metrics-address', '', '--health-address', '',
      ],
      { env: { ...process.env, POD_NAME: 'graceful-pod', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually(async () => {
        const held = await coordination.readNamespacedLease({ namespace: OPERATOR_NAMESPACE, name: lease });
        return held.spec?.holderIdentity === 'graceful-pod';
      }, 'the process to take the lease');
      const ns = await newNamespace('sigterm');
      await createPush(ns, 'push', { targets: [{ kind: 'ConfigMap', name: 'cfg' }], data: { k: 'v' } });
      await waitReady(ns, 'push');

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const released = await coordination.readNamespacedLease({ namespace: OPERATOR_NAMESPACE, name: lease });
      expect(released.spec?.holderIdentity).toBe('');
      const lines = output.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { msg: string });
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['became leader', 'shutting down: finishing in-flight reconciles', 'leader lease released', 'controller stopped']));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('--help prints the usage on stdout and exits 0; a bad flag prints it on stderr and exits 2', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [...imageNodeFlags(repoRoot), join(repoRoot, 'dist/src/main.js'), ...args], { encoding: 'utf8', timeout: 30_000 });
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: configpush-operator \[flags\]/);
    expect(help.stderr).toBe('');
    const bad = run('--no-such-flag');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/no-such-flag[\s\S]*usage: configpush-operator/);
    expect(bad.stdout).toBe('');
  });

  it('a startup failure names the TypeScript source of our frames, not the compiled JavaScript', async () => {
    // src/main.ts turns source maps on for our modules only (not node_modules'): guard that it still works.
    const child = spawn(process.execPath, [...imageNodeFlags(repoRoot), join(repoRoot, 'dist/src/main.js'), '--kubeconfig', join(repoRoot, 'no-such-kubeconfig'), '--metrics-address', '', '--health-address', ''], {
      env: { ...process.env, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toMatch(/no-such-kubeconfig/);
    expect(stderr).toMatch(/src\/kube\/clients\.ts:\d+:\d+/);
  });
});
