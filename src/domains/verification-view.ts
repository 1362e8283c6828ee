import { z } from 'zod';

/** The dates of a verification window, as the domain and its return path both have them. */
export interface VerificationDates {
  startedAt: Date;
  deadlineAt: Date;
  lastCheckedAt: Date | null;
  nextCheckAt: Date | null;
  verifiedAt: Date | null;
  suspendedAt: Date | null;
}

/** The same dates as ISO strings. */
export interface VerificationView {
  startedAt: string;
  deadlineAt: string;
  lastCheckedAt: string | null;
  nextCheckAt: string | null;
  verifiedAt: string | null;
  suspendedAt: string | null;
}

const isoDate = z.iso.datetime();
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export const verificationSchema = z.strictObject({
  startedAt: isoDate,
  deadlineAt: isoDate,
  lastCheckedAt: isoDate.nullable(),
  nextCheckAt: isoDate.nullable(),
  verifiedAt: isoDate.nullable(),
  suspendedAt: isoDate.nullable(),
});

/** The verification window and dates of a domain or of its return path, as ISO strings. */
export function verificationView(x: VerificationDates): VerificationView {
  return {
    startedAt: iso(x.startedAt)!,
    deadlineAt: iso(x.deadlineAt)!,
    lastCheckedAt: iso(x.lastCheckedAt),
    nextCheckAt: iso(x.nextCheckAt),
    verifiedAt: iso(x.verifiedAt),
    suspendedAt: iso(x.suspendedAt),
  };
}
