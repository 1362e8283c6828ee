import type { ParseArgsConfig } from 'node:util';
import type { ApiClient } from './api-client';
import type { CliIo } from './output';

/** Bad command-line input: the CLI prints the command's usage and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CommandContext {
  api: ApiClient;
  io: CliIo;
  /** --json: print the API's answer as JSON instead of a table. */
  json: boolean;
  /** The positional arguments after `<group> <command>`. */
  args: string[];
  /** The parsed options. */
  values: Record<string, string | boolean | undefined>;
  /** Waits between polls (a test may pass a shorter one). */
  sleep: (ms: number) => Promise<void>;
}

export interface Command {
  /** `<id> [--watch]`: what follows `mailwarden <group> <command>` in the usage line. */
  usage: string;
  summary: string;
  options?: NonNullable<ParseArgsConfig['options']>;
  /** Positional arguments required. */
  positionals?: number;
  /** Returns the exit code (0 when it returns nothing). */
  run(ctx: CommandContext): Promise<number | void>;
}

export type CommandGroup = Record<string, Command>;

/** A string option's value, or a UsageError naming it. */
export function required(ctx: CommandContext, name: string): string {
  const v = ctx.values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** `--domain <id>` or `--account <id>`: exactly one, as the queue routes' scope. */
export function queueScope(ctx: CommandContext, optional = false): { domainId: string } | { accountId: string } | null {
  const domain = ctx.values.domain;
  const account = ctx.values.account;
  if (typeof domain === 'string' && typeof account === 'string') throw new UsageError('give --domain or --account, not both');
  if (typeof domain === 'string') return { domainId: domain };
  if (typeof account === 'string') return { accountId: account };
  if (optional) return null;
  throw new UsageError('--domain <id> or --account <id> is required');
}

/** A path segment, encoded. */
export const seg = (s: string) => encodeURIComponent(s);
