import { AppsV1Api, type V1Deployment } from '@kubernetes/client-node';
import { testKubeConfig } from './kube.js';

const apps = testKubeConfig().makeApiClient(AppsV1Api);

/** A Deployment in `namespace` with one container, for the operator to roll. */
export async function createDeployment(namespace: string, name = 'web', replicas = 2): Promise<void> {
  const labels = { app: name };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] } },
      },
    },
  });
}

export interface FakeDeploymentController {
  /** Namespaces whose Deployments never finish rolling out. */
  stuck: Set<string>;
  stop(): Promise<void>;
}

/**
 * The test control plane runs no kube-controller-manager and no pods, so the
 * tests play the Deployment controller: when a Deployment's generation moves,
 * report it rolled out (observedGeneration = generation, all replicas updated
 * and available), except in `stuck` namespaces. Status writes are conditional
 * (PUT at the resourceVersion read), like the real controller's.
 */
export function playDeploymentController(namespaces: () => string[], pollMs = 100): FakeDeploymentController {
  const stuck = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const namespace of namespaces()) {
        if (stuck.has(namespace)) continue;
        const list = await apps.listNamespacedDeployment({ namespace }).catch(() => ({ items: [] as V1Deployment[] }));
        for (const d of list.items) {
          const generation = d.metadata?.generation ?? 0;
          const replicas = d.spec?.replicas ?? 1;
          if ((d.status?.observedGeneration ?? 0) >= generation && d.status?.updatedReplicas === replicas) continue;
          d.status = { observedGeneration: generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas };
          await apps.replaceNamespacedDeploymentStatus({ namespace, name: d.metadata?.name ?? '', body: d }).catch(() => undefined);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  })();
  return {
    stuck,
    async stop() {
      running = false;
      await loop;
    },
  };
}
