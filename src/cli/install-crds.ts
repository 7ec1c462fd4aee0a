#!/usr/bin/env node
import { resolve } from 'node:path';
import { loadKubeConfig } from '../kube/clients.js';
import { installCrds } from '../kube/install-crds.js';

/** `node dist/src/cli/install-crds.js [DIR]`: installs crds/ into the cluster in $KUBECONFIG (used by `npm start`). */
const dir = resolve(process.argv[2] ?? 'crds');
installCrds(loadKubeConfig(process.env.KUBECONFIG), dir)
  .then((names) => process.stderr.write(`installed ${names.join(', ')}\n`))
  .catch((err: unknown) => {
    process.stderr.write(`install-crds: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
