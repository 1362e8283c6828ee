const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/** Parses one duration with a unit: `500ms`, `1s`, `2m`, `1h`, `1d`. */
export function parseDuration(raw: string): number {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)\s*$/.exec(raw);
  if (!m) throw new Error(`"${raw.trim()}" is not a duration such as 500ms, 1s, 2m or 1h`);
  const value = Number(m[1]) * UNITS[m[2]];
  if (value <= 0) throw new Error(`"${raw.trim()}" must be longer than zero`);
  return value;
}

/** Parses a comma-separated list of durations (PROPAGATION_SCHEDULE). */
export function parseDurationList(raw: string): number[] {
  const parts = raw.split(',').filter((p) => p.trim() !== '');
  if (parts.length === 0) throw new Error('needs at least one duration');
  return parts.map(parseDuration);
}
