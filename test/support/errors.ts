import assert from 'node:assert/strict';
import { Code, ConnectError } from '@connectrpc/connect';
import { BadRequestSchema, ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';

/** Run fn, expect a ConnectError, return it with its decoded details. */
export async function rpcError(fn: () => Promise<unknown>) {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ConnectError, `expected ConnectError, got ${String(err)}`);
    const info = err.findDetails(ErrorInfoSchema)[0];
    const badRequest = err.findDetails(BadRequestSchema)[0];
    return {
      err,
      code: err.code,
      codeName: Code[err.code],
      bcbError: info?.reason,
      metadata: info?.metadata ?? {},
      fields: badRequest?.fieldViolations.map((v) => v.field) ?? [],
      violations: badRequest?.fieldViolations ?? [],
    };
  }
  assert.fail('expected the call to fail');
}
