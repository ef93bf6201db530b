// The payload codec (config/payload-codec.ts) and the codec server's authorization seam
// (api/codec-server.ts codecAuthorizer): round trip, key rotation, tampering, pass-through of
// plain payloads, the keys file, and who may call the codec.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ConnectError, Code } from '@connectrpc/connect';
import { AesGcmPayloadCodec, PayloadCodecError, mapPayloads, newPayloadKey, payloadFromJson, payloadToJson, readPayloadKeys } from '../../config/payload-codec.js';
import { CodecRefusal, codecAuthorizer, type AuthorizeCodec } from '../../api/codec-server.js';
import type { Principal } from '../../api/principal.js';

const key = () => new Uint8Array(Buffer.from(newPayloadKey(), 'base64'));
const k1 = key();
const k2 = key();
const codecWith = (current: string, keys: Record<string, Uint8Array>) => new AesGcmPayloadCodec({ currentKeyId: current, keys: new Map(Object.entries(keys)) });
const secret = { taxIdNumber: '11144477735', name: 'Maria Sigilosa', key: 'maria.sigilosa@example.com.br' };
const plain = (): Payload => defaultPayloadConverter.toPayload(secret);
const text = (p: Payload) => Buffer.from(p.data!).toString('latin1') + Object.values(p.metadata ?? {}).map((v) => Buffer.from(v).toString('latin1')).join('');

test('encode seals the whole payload under the current key id; decode restores it', async () => {
  const codec = codecWith('k1', { k1 });
  const [sealed] = await codec.encode([plain()]);
  assert.equal(Buffer.from(sealed!.metadata!.encoding!).toString(), 'binary/encrypted');
  assert.equal(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString(), 'k1');
  for (const s of Object.values(secret)) assert.ok(!text(sealed!).includes(s), `${s} visible in the sealed payload`);
  assert.ok(!text(sealed!).includes('json/plain'), 'inner encoding visible');
  const [opened] = await codec.decode([sealed!]);
  assert.deepEqual(defaultPayloadConverter.fromPayload(opened!), secret);
  assert.equal(Buffer.from(opened!.metadata!.encoding!).toString(), 'json/plain');
  // A fresh IV each time: equal inputs, different ciphertexts.
  const [again] = await codec.encode([plain()]);
  assert.notDeepEqual(Buffer.from(again!.data!), Buffer.from(sealed!.data!));
});

test('rotation: the new key encodes, the old key still decodes; a codec without a key refuses its payloads', async () => {
  const before = codecWith('k1', { k1 });
  const after = codecWith('k2', { k1, k2 });
  const [old] = await before.encode([plain()]);
  assert.deepEqual(defaultPayloadConverter.fromPayload((await after.decode([old!]))[0]!), secret);
  const [fresh] = await after.encode([plain()]);
  assert.equal(Buffer.from(fresh!.metadata!['encryption-key-id']!).toString(), 'k2');
  await assert.rejects(before.decode([fresh!]), (e: unknown) => e instanceof PayloadCodecError && /unknown key id "k2"/.test(e.message));
});

test('tampered ciphertext, tag or key id is refused', async () => {
  const codec = codecWith('k1', { k1, k2 });
  const [sealed] = await codec.encode([plain()]);
  const flip = (i: number): Payload => {
    const data = new Uint8Array(sealed!.data!);
    data[i] = data[i]! ^ 0x01;
    return { metadata: sealed!.metadata, data };
  };
  for (const at of [0, 20, sealed!.data!.length - 1]) {
    await assert.rejects(codec.decode([flip(at)]), PayloadCodecError, `byte ${at}`);
  }
  // The key id is bound as additional data: relabelling to another known key fails too.
  const relabelled: Payload = { metadata: { ...sealed!.metadata, 'encryption-key-id': Buffer.from('k2') }, data: sealed!.data };
  await assert.rejects(codec.decode([relabelled]), PayloadCodecError);
  await assert.rejects(codec.decode([{ metadata: sealed!.metadata, data: sealed!.data!.subarray(0, 20) }]), PayloadCodecError);
});

test('plain payloads (histories from before encryption) pass through decode', async () => {
  const codec = codecWith('k1', { k1 });
  const p = plain();
  assert.deepEqual(await codec.decode([p]), [p]);
});

test('keys file: id → base64 32-byte keys; current key from PAYLOAD_KEY_ID or the only key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'payload-keys-'));
  const one = join(dir, 'one.json');
  writeFileSync(one, JSON.stringify({ a: Buffer.from(k1).toString('base64') }));
  assert.equal(readPayloadKeys(one).currentKeyId, 'a');
  const two = join(dir, 'two.json');
  writeFileSync(two, JSON.stringify({ a: Buffer.from(k1).toString('base64'), b: Buffer.from(k2).toString('base64') }));
  assert.throws(() => readPayloadKeys(two), /PAYLOAD_KEY_ID must name/);
  assert.equal(new AesGcmPayloadCodec(readPayloadKeys(two, 'b')).currentKeyId, 'b');
  assert.throws(() => new AesGcmPayloadCodec(readPayloadKeys(two, 'c')), /not among the known keys/);
  const short = join(dir, 'short.json');
  writeFileSync(short, JSON.stringify({ a: Buffer.alloc(16).toString('base64') }));
  assert.throws(() => new AesGcmPayloadCodec(readPayloadKeys(short)), /must be 32 bytes/);
  assert.throws(() => readPayloadKeys(join(dir, 'missing.json')), /cannot read/);
});

test('remote codec JSON form round-trips; mapPayloads leaves search attributes alone', async () => {
  const p = plain();
  assert.deepEqual(payloadFromJson(payloadToJson(p)), { metadata: { ...p.metadata }, data: new Uint8Array(p.data!) });
  const codec = codecWith('k1', { k1 });
  const event = { input: { payloads: [plain()] }, searchAttributes: { indexedFields: { DictKeyType: defaultPayloadConverter.toPayload('EMAIL') } } };
  await mapPayloads(event, async (x) => (await codec.encode([x]))[0]!);
  assert.equal(Buffer.from(event.input.payloads[0]!.metadata!.encoding!).toString(), 'binary/encrypted');
  assert.equal(Buffer.from(event.searchAttributes.indexedFields.DictKeyType.metadata!.encoding!).toString(), 'json/plain');
});

test('codecAuthorizer: operators’ tokens; customers refused; loopback only when allowed, not proxied and named by a loopback Host', async () => {
  const verifyBearer = async (h: string | null | undefined): Promise<Principal> => {
    if (h === 'Bearer op') return { role: 'operator' } as Principal;
    if (h === 'Bearer cust') return { role: 'customer' } as Principal;
    throw new ConnectError('bad token', Code.Unauthenticated);
  };
  const req = (headers: Record<string, string>, remoteAddress = '10.0.0.9') => ({ headers, socket: { remoteAddress } }) as unknown as Parameters<AuthorizeCodec>[0];
  const status = (a: AuthorizeCodec, r: Parameters<AuthorizeCodec>[0]) => a(r).then(() => 200, (e: unknown) => (e instanceof CodecRefusal ? e.status : 500));
  const strict = codecAuthorizer({ verifyBearer });
  const dev = codecAuthorizer({ verifyBearer, allowLoopback: true });
  assert.equal(await status(strict, req({ authorization: 'Bearer op' })), 200);
  assert.equal(await status(strict, req({ authorization: 'Bearer cust' })), 403);
  assert.equal(await status(strict, req({ authorization: 'Bearer forged' })), 401);
  assert.equal(await status(strict, req({}, '127.0.0.1')), 401);
  const local = { host: '127.0.0.1:8080' };
  assert.equal(await status(dev, req(local, '127.0.0.1')), 200);
  assert.equal(await status(dev, req({ host: 'localhost:8080' }, '127.0.0.1')), 200);
  assert.equal(await status(dev, req({ host: '[::1]:8080' }, '::1')), 200);
  assert.equal(await status(dev, req(local, '10.0.0.9')), 401);
  // DNS rebinding: a page whose name now resolves to 127.0.0.1 calls with its own name as Host.
  assert.equal(await status(dev, req({ host: 'evil.example:8080' }, '127.0.0.1')), 401);
  assert.equal(await status(dev, req({}, '127.0.0.1')), 401);
  assert.equal(await status(dev, req({ ...local, 'x-forwarded-for': '203.0.113.7' }, '127.0.0.1')), 401);
  for (const h of ['forwarded', 'x-real-ip', 'via']) assert.equal(await status(dev, req({ ...local, [h]: '203.0.113.7' }, '127.0.0.1')), 401, h);
  // A token, when sent, is always checked (loopback does not excuse a customer's).
  assert.equal(await status(dev, req({ authorization: 'Bearer cust' }, '127.0.0.1')), 403);
});
