/** Where the CLI writes; a test or the process. */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** True when stdout is a terminal (the watch redraws in place then). */
  stdoutIsTTY?: boolean;
}

export type Cell = string | number | boolean | null | undefined;

/** A plain text table: a header row, then one row per entry, columns padded to their widest cell. */
export function table(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => r.map(cellText));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...text.map(line)].join('\n') + '\n';
}

/** `key  value` lines, keys padded. */
export function fields(entries: Array<[string, Cell]>): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${k.padEnd(width)}  ${cellText(v)}`).join('\n') + '\n';
}

function cellText(v: Cell): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

/** JSON for --json: indented, one document. */
export const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
