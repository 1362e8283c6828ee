import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ForbiddenError, UnauthorizedError } from '../errors';

/** Who is calling: the operator (admin key) or one account. */
export type Principal = { kind: 'admin' } | { kind: 'account'; account: { id: string } };

/** Resolves a bearer key to its principal (the accounts service in production). */
export interface Authenticator {
  authenticate(apiKey: string): Promise<Principal | null>;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Bearer authentication: a missing or unknown key is 401. */
export function authenticate(accounts: Authenticator): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new UnauthorizedError('send Authorization: Bearer <api key>');
    const principal = await accounts.authenticate(m[1]);
    if (!principal) throw new UnauthorizedError('the API key is not valid');
    req.principal = principal;
    next();
  };
}

/** Admin-only routes: an account key is 403. */
export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (req.principal?.kind !== 'admin') throw new ForbiddenError('this route needs the admin key');
  next();
};

/** The calling account's id; the admin key owns no domains. */
export function accountIdOf(req: Request): string {
  const p = req.principal;
  if (p?.kind !== 'account') throw new ForbiddenError('this route needs an account API key, not the admin key');
  return p.account.id;
}
