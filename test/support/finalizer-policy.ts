import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CustomObjectsApi, KubernetesObjectApi, loadAllYaml, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { FINALIZER, GROUP, PLURAL, VERSION } from '../../src/api/constants.js';
import { isNotFound } from '../../src/kube/api-errors.js';

/**
 * manifests/finalizer-policy.yaml on and off a control plane, for the tests
 * and the bench. The apiserver's admission plugin learns of a new or deleted
 * policy from a watch of its own, a moment after the write: both wait until
 * a server-side dry run of a ConfigPush create shows the change.
 */
export async function finalizerPolicyObjects(repoRoot: string): Promise<KubernetesObject[]> {
  return (loadAllYaml(await readFile(join(repoRoot, 'manifests/finalizer-policy.yaml'), 'utf8')) as KubernetesObject[]).filter(Boolean);
}

/** Creates the policy and its binding (left as they are if present) and waits until the apiserver applies them. */
export async function installFinalizerPolicy(kubeConfig: KubeConfig, repoRoot: string, timeoutMs = 30_000): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const object of await finalizerPolicyObjects(repoRoot)) {
    try {
      await api.create(object);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  await waitForAdmission(kubeConfig, true, timeoutMs);
}

/** Deletes the policy and its binding (if present) and waits until the apiserver no longer applies them. */
export async function removeFinalizerPolicy(kubeConfig: KubeConfig, repoRoot: string, timeoutMs = 30_000): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const object of (await finalizerPolicyObjects(repoRoot)).reverse()) {
    try {
      await api.delete(object as KubernetesObject & { metadata: { name: string } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  await waitForAdmission(kubeConfig, false, timeoutMs);
}

/** Whether a ConfigPush created now would get the operator's finalizer from admission (a dry run: nothing is stored). */
export async function admissionSetsFinalizer(kubeConfig: KubeConfig, namespace = 'default'): Promise<boolean> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const probe = (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    dryRun: 'All',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'ConfigPush',
      metadata: { name: 'finalizer-policy-probe' },
      spec: { targets: [{ kind: 'ConfigMap', name: 'finalizer-policy-probe' }], data: { probe: 'x' } },
    },
  })) as KubernetesObject;
  return probe.metadata?.finalizers?.includes(FINALIZER) ?? false;
}

async function waitForAdmission(kubeConfig: KubeConfig, sets: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await admissionSetsFinalizerYet(kubeConfig)) !== sets) {
    if (Date.now() > deadline) throw new Error(`manifests/finalizer-policy.yaml: admission ${sets ? 'still does not set' : 'still sets'} the finalizer after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * admissionSetsFinalizer, with "not yet" for an apiserver still settling: on
 * a control plane started seconds ago a create can answer 503 "Resource kind
 * ... not found. There can be a delay ..." after a LIST of the kind already
 * succeeded (the bench once stopped on it), or 429 while the storage
 * initialises.
 */
async function admissionSetsFinalizerYet(kubeConfig: KubeConfig): Promise<boolean | undefined> {
  try {
    return await admissionSetsFinalizer(kubeConfig);
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 503 || code === 429) return undefined;
    throw err;
  }
}
