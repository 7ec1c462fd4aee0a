import type { V1ControllerRevision, V1Namespace, V1Secret } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '../../kube/client-node.js';
import { GROUP, PLURAL, VERSION } from '../../api/constants.js';
import type { ConfigPush, TargetKind } from '../../api/types.js';
import type { TargetObject } from '../../core/desired-target.js';
import { REVISION_OF_LABEL } from '../../core/revisions.js';
import { ApiError, isNotFound } from '../../kube/api-errors.js';
import { kubeConfigPushClient } from '../../kube/configpush-client.js';
import { kubeSourceClient, type SourceClient } from '../../kube/source-client.js';
import { kubeTargetClient } from '../../kube/target-client.js';
import { kubeWorkloadClient, type WorkloadClient } from '../../kube/workload-client.js';
import { CliError } from './errors.js';
import { explainApiError } from './explain.js';
import type { Session } from './session.js';

const BASE = { group: GROUP, version: VERSION, plural: PLURAL };

/**
 * The plugin's reads and writes, on the operator's own kube clients; every
 * failure becomes a message that says what to do (errors.ts).
 */
export class PluginApi {
  readonly workloads: WorkloadClient;
  /** spec.sources read as the user running the plugin (a 403 is a SourceForbidden PermanentError, as for the operator). */
  readonly sources: SourceClient;
  private readonly targets;
  private readonly pushes;

  constructor(private readonly session: Session) {
    this.targets = kubeTargetClient(session.clients.core);
    this.pushes = kubeConfigPushClient(session.clients.custom);
    this.workloads = kubeWorkloadClient(session.clients.apps);
    const sources = kubeSourceClient(session.clients.core, "the kubeconfig's user");
    this.sources = {
      read: async (kind, namespace, name) => {
        try {
          return await sources.read(kind, namespace, name);
        } catch (err) {
          throw explainApiError(err, this.session, `reading ${kind} ${namespace}/${name} (a spec.sources entry)`);
        }
      },
    };
  }

  async getPush(namespace: string, name: string): Promise<ConfigPush> {
    try {
      return (await this.session.clients.custom.getNamespacedCustomObject({ ...BASE, namespace, name })) as ConfigPush;
    } catch (err) {
      throw this.notFoundOr(err, namespace, name, `reading configpush ${namespace}/${name}`);
    }
  }

  /** The pushes of `namespace`, or of every namespace. */
  async listPushes(namespace: string | undefined): Promise<ConfigPush[]> {
    try {
      return (await this.pushes.list(namespace)).items;
    } catch (err) {
      throw explainApiError(err, this.session, `listing configpushes${namespace ? ` in ${namespace}` : ''}`);
    }
  }

  /** An RFC 7386 merge patch, as `kubectl patch --type merge` sends it. */
  async mergePatch(namespace: string, name: string, patch: object): Promise<ConfigPush> {
    try {
      return (await this.session.clients.custom.patchNamespacedCustomObject(
        { ...BASE, namespace, name, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as ConfigPush;
    } catch (err) {
      throw this.notFoundOr(err, namespace, name, `patching configpush ${namespace}/${name}`);
    }
  }

  /**
   * An RFC 6902 JSON patch (`kubectl patch --type json`). A failed `test`
   * (the rollback's test of metadata.resourceVersion) and a 409 both mean the
   * push changed since it was read: nothing was written.
   */
  async jsonPatch(namespace: string, name: string, ops: readonly object[], rerun: string): Promise<ConfigPush> {
    try {
      return (await this.session.clients.custom.patchNamespacedCustomObject(
        { ...BASE, namespace, name, body: ops },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )) as ConfigPush;
    } catch (err) {
      if (isChangedSinceRead(err)) {
        throw new CliError(`configpush ${namespace}/${name} changed since it was read: nothing was written; look at it again and re-run: ${rerun}`);
      }
      throw this.notFoundOr(err, namespace, name, `patching configpush ${namespace}/${name}`);
    }
  }

  /** The push's content revisions (ControllerRevisions labelled with its uid), with their data. */
  async listRevisions(namespace: string, pushUid: string): Promise<V1ControllerRevision[]> {
    try {
      return (await this.session.clients.apps.listNamespacedControllerRevision({ namespace, labelSelector: `${REVISION_OF_LABEL}=${pushUid}` })).items;
    } catch (err) {
      throw explainApiError(err, this.session, `listing the revisions (controllerrevisions.apps) in ${namespace}`);
    }
  }

  /**
   * The Secret that holds a Secret-derived revision's payload, or undefined
   * if it is gone. A 403 is the caller's to explain (it knows which revision).
   */
  async readRevisionSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.session.clients.core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async namespaces(): Promise<V1Namespace[]> {
    try {
      return (await this.session.clients.core.listNamespace()).items;
    } catch (err) {
      throw explainApiError(err, this.session, 'listing namespaces');
    }
  }

  /** A live target, or undefined if it does not exist. */
  async readTarget(kind: TargetKind, namespace: string, name: string): Promise<TargetObject | undefined> {
    try {
      return await this.targets.read(kind, namespace, name);
    } catch (err) {
      throw explainApiError(err, this.session, `reading ${kind} ${namespace}/${name}`);
    }
  }

  private notFoundOr(err: unknown, namespace: string, name: string, what: string): unknown {
    if (isNotFound(err) && !/could not find the requested resource/.test((err as Error).message)) {
      return new CliError(`configpush ${namespace}/${name} not found; list them with: kubectl configpush get -n ${namespace}`);
    }
    return explainApiError(err, this.session, what);
  }
}

/**
 * A JSON patch whose `test` failed, or an optimistic-concurrency conflict
 * (409). The apiserver answers any JSON patch it cannot apply with a bare
 * 422 "the server rejected our request due to an error in our request"
 * (reason Invalid, no details; checked against kube-apiserver in the e2e
 * test). The rollback's patch tests the resourceVersion first and removes
 * only fields the push had at that version, so for it that 422 can only mean
 * the push changed. A schema or admission refusal says what is invalid instead.
 */
export function isChangedSinceRead(err: unknown): boolean {
  if (!(err instanceof ApiError)) return false;
  return err.status === 409 || (err.status === 422 && /the server rejected our request due to an error in our request$/.test(err.message));
}
