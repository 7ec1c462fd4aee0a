#!/usr/bin/env node
import { resolve } from 'node:path';
import { loadKubeConfig } from '../kube/clients.js';
import { installObjects } from '../kube/install-objects.js';

/**
 * `node dist/src/cli/install-objects.js FILE...`: installs the objects of the
 * manifest files into the cluster in $KUBECONFIG (used by `npm start` for
 * the admission policies of manifests/).
 */
const files = process.argv.slice(2).map((file) => resolve(file));
if (files.length === 0) {
  process.stderr.write('usage: install-objects FILE...\n');
  process.exit(2);
}
installObjects(loadKubeConfig(process.env.KUBECONFIG), files)
  .then((names) => process.stderr.write(`installed ${names.join(', ')}\n`))
  .catch((err: unknown) => {
    process.stderr.write(`install-objects: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
