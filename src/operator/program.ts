import { ConfigError, HelpRequested, parseConfig } from './config.js';
import { createLogger } from './log.js';
import { ListenError } from './http-server.js';
import { startOperator } from './operator.js';

/** The program (after src/main.ts set up source maps): the same runs locally (`npm start`), in the container and in-cluster. */
async function main(): Promise<void> {
  const log = createLogger();
  let config;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${err.message}\n`);
      process.exit(0);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const operator = await startOperator(config, log, { defaultMetrics: true });
  // The program, not the library, holds the event loop: with both HTTP
  // endpoints disabled and every watch down (an apiserver outage), Node would
  // otherwise find nothing to wait for and exit 0 in the middle of the work.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight reconciles');
    clearInterval(keepAlive);
    operator
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

export function run(): void {
  main().catch((err: unknown) => {
    // An endpoint that cannot be served is the user's to fix (its message names
    // the flag), not a bug: no stack trace. Exit 1, not 2: the flags parsed.
    const detail = err instanceof ListenError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`configpush-operator: ${detail}\n`);
    process.exit(1);
  });
}
