import type { CommandInvocation } from './args.js';
import type { PluginApi } from './api.js';
import type { Session } from './session.js';

/** Where a command writes, and what it may wait on: the process in production, buffers in tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Columns to fit human-readable output in. */
  width: number;
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface CommandContext {
  invocation: CommandInvocation;
  session: Session;
  api: PluginApi;
  io: Io;
}

/** A command returns its exit code (errors.ts EXIT); failures throw CliError. */
export type Command = (context: CommandContext) => Promise<number>;

/** Lines as one block of output. */
export function block(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
