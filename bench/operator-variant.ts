/**
 * The operator exactly as src/main.ts runs it, plus one client middleware
 * (reuseConnections) passed through startOperator's public `middleware`
 * option. The bench runs it beside the shipped program to measure the fix it
 * proposes for src/kube/clients.ts without editing src/.
 */
import { ConfigError, parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startOperator } from '../src/operator.js';
import { reuseConnections } from './kube.js';

async function main(): Promise<void> {
  const log = createLogger();
  let config;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const operator = await startOperator(config, log, { defaultMetrics: true, middleware: [reuseConnections()] });
  const shutdown = () => {
    operator
      .stop()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`operator-variant: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
