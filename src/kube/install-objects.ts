import { readFile } from 'node:fs/promises';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { isNotFound } from './api-errors.js';
import { KubernetesObjectApi, loadAllYaml } from './client-node.js';

type NamedObject = KubernetesObject & { metadata: { name: string } };

/**
 * Installs or updates the objects of manifest files (the admission policies
 * of manifests/) with conditional writes, as `kubectl apply` would leave
 * them: create (AlreadyExists: read again), or replace at the
 * resourceVersion read (409: read again). An object the apiserver already
 * holds as written is stored again unchanged (the apiserver skips the write
 * to etcd). Used by `npm start` on the embedded control plane, so that it
 * runs with what `kubectl apply -k manifests/` installs. Returns
 * "Kind/name" of each object.
 */
export async function installObjects(kubeConfig: KubeConfig, files: readonly string[]): Promise<string[]> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const installed: string[] = [];
  for (const file of files) {
    // loadAllYaml maps the YAML onto client-node's typed models, whose serializer then writes every field.
    for (const object of loadAllYaml(await readFile(file, 'utf8')) as (KubernetesObject | null)[]) {
      if (!object) continue;
      const name = object.metadata?.name;
      if (!object.apiVersion || !object.kind || !name) throw new Error(`${file}: an object without apiVersion, kind or metadata.name`);
      await installOne(api, object as NamedObject);
      installed.push(`${object.kind}/${name}`);
    }
  }
  return installed;
}

function installOne(api: KubernetesObjectApi, object: NamedObject): Promise<void> {
  return createOrReplace(`${object.kind} ${object.metadata.name}`, {
    read: () => api.read(object),
    create: () => api.create(object),
    replace: (resourceVersion) => api.replace({ ...object, metadata: { ...object.metadata, resourceVersion } }),
  });
}

/**
 * One object to what is written, conditionally: created if the read finds
 * none, else replaced at the resourceVersion read; a 409 (created or changed
 * meanwhile) reads again, up to 5 rounds.
 */
export async function createOrReplace(
  what: string,
  ops: { read(): Promise<KubernetesObject>; create(): Promise<unknown>; replace(resourceVersion: string): Promise<unknown> },
): Promise<void> {
  for (let round = 0; round < 5; round++) {
    let live: KubernetesObject | undefined;
    try {
      live = await ops.read();
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      if (!live) await ops.create();
      else await ops.replace(live.metadata?.resourceVersion ?? '');
      return;
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  throw new Error(`${what} kept changing while being installed`);
}
