import { KubeConfig } from '@kubernetes/client-node';

/** A KubeConfig for a plain-HTTP test server on 127.0.0.1 playing the apiserver (no credentials). */
export function localKubeConfig(port: number): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'local', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'nobody' }],
    contexts: [{ name: 'local', cluster: 'local', user: 'nobody' }],
    currentContext: 'local',
  });
  return kubeConfig;
}
