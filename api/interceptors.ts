// The one place where cross-cutting concerns wrap every RPC, in order: principal first (so
// later interceptors may use it), then logging of outcome and latency.
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import type { Logger } from 'pino';
import { principalKey, staticPrincipalInterceptor } from './principal.js';

export function loggingInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const rpc = `${req.service.typeName}/${req.method.name}`;
    try {
      const res = await next(req);
      log.info({ rpc, ms: Math.round(performance.now() - started), principal: req.contextValues.get(principalKey)?.participant }, 'rpc ok');
      return res;
    } catch (err) {
      const ce = ConnectError.from(err);
      const level = ce.code === Code.Internal || ce.code === Code.Unknown ? 'error' : 'info';
      log[level]({ rpc, ms: Math.round(performance.now() - started), code: Code[ce.code], msg: ce.rawMessage, ...(level === 'error' ? { err } : {}) }, 'rpc failed');
      throw ce;
    }
  };
}

export function interceptors(o: { participant: string; log: Logger }): Interceptor[] {
  return [staticPrincipalInterceptor(o.participant), loggingInterceptor(o.log)];
}
