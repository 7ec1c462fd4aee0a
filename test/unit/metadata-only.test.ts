import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { metadataOnlyList, metadataOnlyWatches, PARTIAL_OBJECT_METADATA, PARTIAL_OBJECT_METADATA_LIST } from '../../src/kube/metadata-only.js';

function kubeConfig(token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('metadata-only watches', () => {
  it('ask for PartialObjectMetadata, with the kubeconfig\'s own authentication, and leave the kubeconfig as it was', async () => {
    const kc = kubeConfig('token-1');
    const view = metadataOnlyWatches(kc);
    const context = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces/a/secrets?watch=true', HttpMethod.GET);
    context.setHeaderParam('Accept', 'application/json');
    await view.applySecurityAuthentication(context);
    expect(context.getHeaders().Accept).toBe(PARTIAL_OBJECT_METADATA);
    expect(context.getHeaders().Authorization).toBe('Bearer token-1');
    expect(view.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');

    const plain = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces/a/secrets/s', HttpMethod.GET);
    await kc.applySecurityAuthentication(plain);
    expect(plain.getHeaders().Accept).toBeUndefined();
  });

  it('follow the kubeconfig: a credential changed on it is the view\'s too', async () => {
    const kc = kubeConfig('token-1');
    const view = metadataOnlyWatches(kc);
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6444', skipTLSVerify: false }],
      users: [{ name: 'u', token: 'token-2' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const context = new RequestContext('https://127.0.0.1:6444/api/v1/namespaces/a/secrets?watch=true', HttpMethod.GET);
    await view.applySecurityAuthentication(context);
    expect(context.getHeaders().Authorization).toBe('Bearer token-2');
    expect(view.getCurrentCluster()?.server).toBe('https://127.0.0.1:6444');
  });

  it('a LIST asks for the List form, after the generated code has set its own Accept', async () => {
    const context = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces/a/secrets', HttpMethod.GET);
    context.setHeaderParam('Accept', 'application/json, application/yaml');
    // client-node's header middleware sets the header on the request in place (and answers an Observable of it).
    const middlewares = metadataOnlyList.middleware ?? [];
    expect(middlewares).toHaveLength(1);
    for (const middleware of middlewares) middleware.pre(context);
    expect(context.getHeaders().Accept).toBe(PARTIAL_OBJECT_METADATA_LIST);
    expect(metadataOnlyList.middlewareMergeStrategy).toBe('append');
  });
});
