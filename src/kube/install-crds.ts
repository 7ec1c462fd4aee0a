import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubeConfig, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { ApiextensionsV1Api, loadAllYaml } from './client-node.js';
import { createOrReplace } from './install-objects.js';

/**
 * Installs or updates the CRDs in `dir` (the same files `kubectl apply -f
 * crds/` uses) with conditional writes, and waits until each is Established.
 * Used by `npm start` on the embedded control plane and by the e2e setup.
 */
export async function installCrds(kubeConfig: KubeConfig, dir: string, timeoutMs = 30_000): Promise<string[]> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const names: string[] = [];
  for (const file of files) {
    // loadAllYaml maps the YAML onto client-node's typed models. Plain parsed
    // YAML would not do: the typed serializer silently drops keys it does not
    // know under their wire names, such as x-kubernetes-validations.
    for (const doc of loadAllYaml(await readFile(join(dir, file), 'utf8')) as (V1CustomResourceDefinition | null)[]) {
      const crd = doc;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const name = crd.metadata?.name;
      if (!name) throw new Error(`${file}: CustomResourceDefinition without metadata.name`);
      await applyCrd(api, crd, name);
      names.push(name);
    }
  }
  for (const name of names) await waitEstablished(api, name, timeoutMs);
  return names;
}

function applyCrd(api: ApiextensionsV1Api, crd: V1CustomResourceDefinition, name: string): Promise<void> {
  return createOrReplace(`CRD ${name}`, {
    read: () => api.readCustomResourceDefinition({ name }),
    create: () => api.createCustomResourceDefinition({ body: crd }),
    replace: (resourceVersion) => api.replaceCustomResourceDefinition({ name, body: { ...crd, metadata: { ...crd.metadata, resourceVersion } } }),
  });
}

async function waitEstablished(api: ApiextensionsV1Api, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const crd = await api.readCustomResourceDefinition({ name });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`CRD ${name} not Established within ${timeoutMs} ms`);
}
