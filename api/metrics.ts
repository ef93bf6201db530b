// RED metrics per RPC (config/metrics.ts core_dict_rpc_duration_seconds{rpc,code} and the
// in-flight gauge): the last interceptor, so calls refused by authentication or admission are
// counted with their code too. The API serves them on GET /metrics (api/server.ts).
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { rpcDuration, rpcInFlight } from '../config/metrics.js';

export function metricsInterceptor(): Interceptor {
  return (next) => async (req) => {
    const rpc = `${req.service.typeName}/${req.method.name}`;
    const end = rpcDuration.startTimer({ rpc });
    rpcInFlight.inc({ rpc });
    try {
      const res = await next(req);
      end({ code: 'OK' });
      return res;
    } catch (err) {
      end({ code: Code[ConnectError.from(err).code] });
      throw err;
    } finally {
      rpcInFlight.dec({ rpc });
    }
  };
}
