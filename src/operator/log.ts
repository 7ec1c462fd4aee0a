import { pino, type Logger } from 'pino';

/**
 * The one root logger. Reconciles log through a child carrying configpush,
 * namespace, key, generation and attempt, so every line of one operation can
 * be found with one filter.
 */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: 'configpush-operator',
    level,
    base: { pid: process.pid },
    serializers: { err: pino.stdSerializers.err },
  });
}
