import { parseArgs } from 'node:util';
import { ApiClient, ApiError, UnreachableError } from './api-client';
import { UsageError, type Command } from './command';
import { COMMANDS } from './commands';
import type { CliIo } from './output';

/** The API the CLI talks to when MAILWARDEN_URL is unset. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Exit codes: 0 done, 1 the API refused or could not be reached, 2 bad command line. */
export const EXIT = { ok: 0, api: 1, usage: 2 } as const;

/** True when `mailwarden <word>` names an operator command rather than a role. */
export function isCliCommand(word: string | undefined): boolean {
  return word !== undefined && (word in COMMANDS || word === 'help' || word === '--help' || word === '-h');
}

export function usage(): string {
  const lines = ['usage: mailwarden <api|worker|relay|bounce|all>   run a role', '       mailwarden <group> <command> [options] [--json]', ''];
  for (const [group, commands] of Object.entries(COMMANDS)) {
    for (const [name, c] of Object.entries(commands)) lines.push(`  ${`${group} ${name} ${c.usage}`.trimEnd()}\n      ${c.summary}`);
  }
  lines.push('', 'environment: MAILWARDEN_URL (default http://127.0.0.1:8080), MAILWARDEN_API_KEY (an account key, or the admin key)');
  lines.push('exit codes: 0 done, 1 the API refused or could not be reached, 2 bad command line');
  return `${lines.join('\n')}\n`;
}

const commandUsage = (group: string, name: string, c: Command) => `usage: mailwarden ${`${group} ${name} ${c.usage}`.trimEnd()} [--json]\n`;

/**
 * Runs one operator command against the HTTP API (`mailwarden domains list`, ...); returns
 * the exit code. Problems from the API (problem+json) are printed with their field errors.
 */
export async function runCli(argv: string[], env: Record<string, string | undefined>, io: CliIo, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<number> {
  const [group, name, ...rest] = argv;
  if (group === 'help' || group === '--help' || group === '-h') {
    io.stdout(usage());
    return EXIT.ok;
  }
  const commands = COMMANDS[group];
  const command = name !== undefined ? commands?.[name] : undefined;
  if (!command) {
    io.stderr(`mailwarden: ${name === undefined ? `${group}: which command?` : `unknown command: ${group} ${name}`}\n${usage()}`);
    return EXIT.usage;
  }
  let values: Record<string, string | boolean | undefined>;
  let args: string[];
  try {
    const parsed = parseArgs({ args: rest, options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    values = parsed.values as Record<string, string | boolean | undefined>;
    args = parsed.positionals;
    if (values.help) {
      io.stdout(`${commandUsage(group, name!, command)}${command.summary}\n`);
      return EXIT.ok;
    }
    const want = command.positionals ?? 0;
    if (args.length !== want) throw new UsageError(want === 0 ? `unexpected argument: ${args[0]}` : `expected ${want} argument${want === 1 ? '' : 's'}, got ${args.length}`);
  } catch (err) {
    io.stderr(`mailwarden: ${(err as Error).message}\n${commandUsage(group, name!, command)}`);
    return EXIT.usage;
  }
  const apiKey = env.MAILWARDEN_API_KEY;
  if (!apiKey) {
    io.stderr('mailwarden: set MAILWARDEN_API_KEY to an account API key (or the admin key for accounts and queue commands)\n');
    return EXIT.usage;
  }
  const api = new ApiClient(env.MAILWARDEN_URL || DEFAULT_URL, apiKey);
  try {
    return (await command.run({ api, io, json: values.json === true, args, values, sleep })) ?? EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`mailwarden: ${err.message}\n${commandUsage(group, name!, command)}`);
      return EXIT.usage;
    }
    if (err instanceof ApiError) {
      const details = err.errors.map((e) => `  ${e.field}: ${e.message}\n`).join('');
      io.stderr(`mailwarden: ${err.status} ${err.title}: ${err.detail}\n${details}`);
      return EXIT.api;
    }
    if (err instanceof UnreachableError) {
      io.stderr(`mailwarden: ${err.message} (is MAILWARDEN_URL right?)\n`);
      return EXIT.api;
    }
    throw err;
  }
}
