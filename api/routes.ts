// Routes: which service implementations the handler serves. Kept apart from server.ts so
// tests and the process share them.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import * as pb from '../gen/dict/core/v1/service_pb.js';
import { Health, HealthCheckResponseSchema, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health_pb.js';
import type { ComponentHealth } from './health.js';
import { principalOf } from './principal.js';
import { claimService, type ClaimServiceDeps } from './claims.js';
import { keyService, type KeyServiceDeps } from './keys.js';
import { paymentOrderService } from './antiscan.js';

export interface RouteDeps extends KeyServiceDeps, ClaimServiceDeps {
  health: () => Promise<ComponentHealth[]>;
  version: string;
}

export function routes(d: RouteDeps) {
  return (router: ConnectRouter): void => {
    router.service(pb.CoreDictService, {
      ...keyService(d),
      ...claimService(d),
      ...paymentOrderService(d),
      async healthCheck(_req, ctx) {
        const components = await d.health();
        // Versions and error texts (addresses, host names) only for the PSP's operators.
        const detailed = principalOf(ctx).role === 'operator';
        const status = (ok: boolean) => (ok ? pb.HealthCheckResponse_Status.SERVING : pb.HealthCheckResponse_Status.NOT_SERVING);
        return create(pb.HealthCheckResponseSchema, {
          status: status(components.every((c) => c.ok)),
          version: d.version,
          components: components.map((c) => ({ name: c.name, status: status(c.ok), detail: detailed ? c.detail : '', latencyMs: BigInt(c.latencyMs) })),
        });
      },
    });
    router.service(Health, {
      async check(req) {
        // gRPC health protocol: "" is the server as a whole; unknown services are NOT_FOUND.
        if (req.service !== '' && req.service !== pb.CoreDictService.typeName) {
          throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
        }
        const components = await d.health();
        return create(HealthCheckResponseSchema, {
          status: components.every((c) => c.ok) ? HealthCheckResponse_ServingStatus.SERVING : HealthCheckResponse_ServingStatus.NOT_SERVING,
        });
      },
    });
  };
}
