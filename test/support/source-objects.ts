import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { core } from './kube.js';

/** Sources (and Secret targets) as tests make and read them: values in plain text, base64 on the wire. */

export const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

export const decoded = (secret: V1Secret | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

export async function createSecret(namespace: string, name: string, values: Record<string, string>, annotations: Record<string, string> = {}): Promise<void> {
  await core.createNamespacedSecret({ namespace, body: { metadata: { name, annotations }, data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, b64(v)])) } });
}

export async function createConfigMap(namespace: string, name: string, data: Record<string, string>, annotations: Record<string, string> = {}): Promise<void> {
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name, annotations }, data } });
}

/** Read, change, replace at the version read (a conditional update, as a user's kubectl edit). */
export async function editConfigMap(namespace: string, name: string, mutate: (cm: V1ConfigMap) => void): Promise<void> {
  const cm = await core.readNamespacedConfigMap({ namespace, name });
  mutate(cm);
  await core.replaceNamespacedConfigMap({ namespace, name, body: cm });
}

export async function editSecret(namespace: string, name: string, mutate: (secret: V1Secret) => void): Promise<void> {
  const secret = await core.readNamespacedSecret({ namespace, name });
  mutate(secret);
  await core.replaceNamespacedSecret({ namespace, name, body: secret });
}
