import { z } from 'zod';
import { ValidationError, type FieldError } from '../errors';

/** Turns zod issues into field errors that name every offending field. */
export function fieldErrors(error: z.ZodError, root: string): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const base = issue.path.length ? issue.path.join('.') : root;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ field: issue.path.length ? `${base}.${key}` : key, message: 'is not a known field' });
      }
    } else {
      out.push({ field: base, message: issue.message });
    }
  }
  return out;
}

/** Parses input with a strict schema; throws ValidationError naming every bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, root = 'body'): z.output<S> {
  if (root === 'body' && (input === undefined || input === null || typeof input !== 'object' || Array.isArray(input))) {
    throw new ValidationError('the request body must be a JSON object (Content-Type: application/json)', [
      { field: 'body', message: 'must be a JSON object' },
    ]);
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const errors = fieldErrors(result.error, root);
    throw new ValidationError(`invalid ${root}: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
  }
  return result.data;
}

/** `?limit=` of every paginated list: 1 to 100. */
export const pageLimit = z
  .string()
  .regex(/^\d+$/, 'must be a whole number')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100'))
  .optional()
  .meta({ description: 'page size: a whole number from 1 to 100' });
