import { describe, expect, it } from 'vitest';
import { writes } from '../support/audit.js';
import { core, newNamespace } from '../support/kube.js';

describe('local control plane', () => {
  it('is a real apiserver whose audit log records each write exactly once', async () => {
    const namespace = await newNamespace('smoke');
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'hello' }, data: { greeting: 'hi' } } });
    await core.readNamespacedConfigMap({ namespace, name: 'hello' });
    await core.listNamespacedConfigMap({ namespace });

    const events = writes({ resource: 'configmaps', namespace, name: 'hello' });
    expect(events.map((e) => e.verb)).toEqual(['create']);
    expect(events[0]?.user.username).toBe('admin');
  });
});
