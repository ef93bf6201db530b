// The `Authorization: Bearer <token>` interceptor of our test and bench clients (integration
// stacks, the fuzzer, the browser page, the lookup bench). Only a type import, so it bundles for
// the browser and loads without the test stack.
import type { Interceptor } from '@connectrpc/connect';

/** Sends `Authorization: Bearer <token>` on every call unless the call names its own; no token, no header. */
export const bearer = (token: string | undefined): Interceptor => (next) => (req) => {
  if (token && !req.header.has('authorization')) req.header.set('authorization', `Bearer ${token}`);
  return next(req);
};
