// Helpers for claim tests: shrunk BCB periods shared by the simulator and our workflows, polling
// waits, and the claim fixtures both sides need.
import { randomInt, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client as TemporalClient } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { decode } from '@temporalio/common/lib/internal-non-workflow/codec-helpers';
import { mapPayloads } from '../../config/payload-codec.js';
import { create } from '@bufbuild/protobuf';
import { DurationSchema } from '@bufbuild/protobuf/wkt';
import type { ClaimPeriods } from '../../domain/claims.js';
import type { Claim as DictClaim } from '../../domain/types.js';
import { StartClaimRequestSchema, StartPortabilityRequestSchema } from '../../gen/dict/core/v1/service_pb.js';
import { ClaimStatus, KeyType, type BrazilianAccount, type Claim, type Person } from '../../gen/dict/core/v1/types_pb.js';
import { accountFromProto, personFromProto } from '../../api/mapping.js';

/**
 * Seconds instead of days: 7 → 6 s resolution (time for a test's user to answer under load),
 * 7 → 3 s closing, 30 → 15 s claimer deadline.
 */
export const SHORT_PERIODS: ClaimPeriods = { resolutionMs: 6_000, closingMs: 3_000, claimerDeadlineMs: 15_000 };

/** A fresh account number (BCB's limit is 5 keys per natural person's account). */
export const newAccountNumber = (): string => String(randomInt(1_000_000, 9_999_999_999));

export const wait = (seconds: number) => create(DurationSchema, { seconds: BigInt(seconds) });

/** Poll `fn` until it returns a value (not undefined) or the time is up. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Wait for a claim (via a getter) to reach a status. */
export const untilStatus = (what: string, get: () => Promise<Claim | undefined>, status: ClaimStatus, timeoutMs = 20_000) =>
  waitFor(`${what} ${ClaimStatus[status]}`, async () => {
    const c = await get();
    return c?.status === status ? c : undefined;
  }, timeoutMs);

export const startClaimRequest = (key: string, claimerAccount: BrazilianAccount, claimer: Person) =>
  create(StartClaimRequestSchema, { requestId: randomUUID(), key, keyType: KeyType.PHONE, claimerAccount, claimer, waitTimeout: wait(10) });

export const startPortabilityRequest = (key: string, keyType: KeyType, claimerAccount: BrazilianAccount, claimer: Person) =>
  create(StartPortabilityRequestSchema, { requestId: randomUUID(), key, keyType, claimerAccount, claimer, waitTimeout: wait(10) });

/** The same claim as BCB's Claim, for another participant's bridge. */
export function dictClaim(type: DictClaim['type'], key: string, keyType: DictClaim['keyType'], claimerAccount: BrazilianAccount, claimer: Person): DictClaim {
  return { type, key, keyType, claimerAccount: accountFromProto(claimerAccount) as DictClaim['claimerAccount'], claimer: personFromProto(claimer) as DictClaim['claimer'] };
}

/**
 * Replay fixtures: with CAPTURE_HISTORIES=1 (bash scripts/test.sh with it exported), save the
 * workflow's history as test/histories/<name>.json for test/unit/workflow-replay.test.ts. A no-op
 * otherwise. Capture only paths not yet guarded; existing fixtures are the compatibility contract.
 */
export async function captureHistory(temporal: TemporalClient, workflowId: string, name: string): Promise<void> {
  if (process.env.CAPTURE_HISTORIES !== '1') return;
  // Fixtures are kept decoded (readable, and replayable without this run's keys).
  const codecs = temporal.options.loadedDataConverter.payloadCodecs;
  const history = await mapPayloads(await temporal.workflow.getHandle(workflowId).fetchHistory(), async (p) => (await decode(codecs, [p]))[0]!);
  // dist/test/support -> repository root
  writeFileSync(join(__dirname, '..', '..', '..', 'test', 'histories', `${name}.json`), historyToJSON(history));
}
