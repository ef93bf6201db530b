// Workflow data encrypted at rest in Temporal: a PayloadCodec (AES-256-GCM, node:crypto) that
// every Temporal client and worker of Core DICT installs, so arguments, results, Update and
// signal inputs, memos and (with failure-converter.ts) failure messages reach Temporal's
// database — and its Web UI, unless the UI asks our codec server — as ciphertext.
//
// An encrypted payload is the whole original Payload (protobuf bytes: its metadata and data)
// sealed as iv(12) ‖ ciphertext ‖ tag(16), with metadata
//   encoding          = binary/encrypted
//   encryption-key-id = the id of the key used, also bound as the AEAD's additional data (a
//                       payload cannot be passed off as sealed under another key id).
// Key rotation: payloads are encoded with the current key and decoded with whichever known key
// their key id names, so old keys stay in the file until no running workflow's history needs
// them. Payloads that are not encrypted (histories from before encryption) pass through decode.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A payload could not be decrypted: unknown key id, malformed or tampered ciphertext. */
export class PayloadCodecError extends Error {
  override readonly name = 'PayloadCodecError';
}

export interface PayloadKeys {
  /** The key id new payloads are encrypted with. */
  currentKeyId: string;
  /** Every known key by id (the current one included): 32 bytes each. */
  keys: ReadonlyMap<string, Uint8Array>;
}

const aad = (keyId: string): Uint8Array => utf8.encode(`core-dict/payload/v1/${keyId}`);

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly current: { id: string; key: Uint8Array };
  private readonly keys: ReadonlyMap<string, Uint8Array>;

  constructor(k: PayloadKeys) {
    for (const [id, key] of k.keys) {
      if (!KEY_ID.test(id)) throw new PayloadCodecError(`payload key id "${id}" must match ${KEY_ID}`);
      if (key.length !== KEY_BYTES) throw new PayloadCodecError(`payload key "${id}" must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    const key = k.keys.get(k.currentKeyId);
    if (!key) throw new PayloadCodecError(`current payload key "${k.currentKeyId}" is not among the known keys (${[...k.keys.keys()].join(', ') || 'none'})`);
    this.current = { id: k.currentKeyId, key };
    this.keys = k.keys;
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.seal(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.open(p));
  }

  private seal(p: Payload): Payload {
    const { id, key } = this.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(id));
    const plain = temporal.api.common.v1.Payload.encode({ metadata: p.metadata, data: p.data }).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { metadata: { [METADATA_ENCODING_KEY]: utf8.encode(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: utf8.encode(id) }, data: new Uint8Array(sealed) };
  }

  private open(p: Payload): Payload {
    const encoding = p.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || fromUtf8.decode(encoding) !== ENCODING_ENCRYPTED) return p;
    const idBytes = p.metadata?.[METADATA_KEY_ID];
    if (!idBytes) throw new PayloadCodecError('encrypted payload without a key id');
    const id = fromUtf8.decode(idBytes);
    const key = this.keys.get(id);
    if (!key) throw new PayloadCodecError(`encrypted payload under unknown key id "${id}"`);
    const data = p.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadCodecError('encrypted payload too short');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadCodecError(`encrypted payload under key id "${id}" failed authentication (tampered or wrong key)`);
    }
    const inner = temporal.api.common.v1.Payload.decode(plain);
    return { metadata: inner.metadata ?? {}, data: inner.data ?? new Uint8Array() };
  }
}

/** A new random AES-256 key, base64 (a value of the keys file). */
export const newPayloadKey = (): string => randomBytes(KEY_BYTES).toString('base64');

/**
 * Reads a keys file: a JSON object of key id → base64 key (32 bytes). The current key is
 * `currentKeyId`, or the only key when the file holds one.
 */
export function readPayloadKeys(file: string, currentKeyId?: string): PayloadKeys {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PayloadCodecError(`PAYLOAD_KEYS_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new PayloadCodecError(`PAYLOAD_KEYS_FILE ${file}: expected a JSON object of key id → base64 key`);
  const keys = new Map<string, Uint8Array>();
  for (const [id, value] of Object.entries(doc)) {
    if (typeof value !== 'string') throw new PayloadCodecError(`PAYLOAD_KEYS_FILE ${file}: key "${id}" is not a base64 string`);
    keys.set(id, new Uint8Array(Buffer.from(value, 'base64')));
  }
  const ids = [...keys.keys()];
  const current = currentKeyId || (ids.length === 1 ? ids[0] : undefined);
  if (!current) throw new PayloadCodecError(`PAYLOAD_KEY_ID must name the current key among ${ids.join(', ') || '(no keys)'} in ${file}`);
  return { currentKeyId: current, keys };
}

/** Where the dev/test PKI step writes the keys file, relative to the PKI directory. */
export const PAYLOAD_KEYS_FILE_NAME = 'payload-keys.json';
export const DEFAULT_PAYLOAD_KEYS_FILE = `.data/dev/pki/${PAYLOAD_KEYS_FILE_NAME}`;

/** The codec from PAYLOAD_KEYS_FILE (default: the dev PKI's) and PAYLOAD_KEY_ID. */
export function payloadCodecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmPayloadCodec {
  return new AesGcmPayloadCodec(readPayloadKeys(env.PAYLOAD_KEYS_FILE || DEFAULT_PAYLOAD_KEYS_FILE, env.PAYLOAD_KEY_ID || undefined));
}

/** Path of failure-converter.ts's compiled module (the worker bundles it into the workflow sandbox). */
export const failureConverterPath = resolve(__dirname, 'failure-converter.js');

/** The DataConverter of every client and worker: the payload codec, and failures' messages encoded too. */
export const dataConverter = (codec: PayloadCodec): DataConverter => ({ payloadCodecs: [codec], failureConverterPath });

// ----- the remote codec protocol (Temporal Web UI, `temporal --codec-endpoint`) ------------------
// Payloads travel as proto3 JSON: {"metadata": {"encoding": "<base64>"}, "data": "<base64>"}.

export interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

export const payloadFromJson = (p: JsonPayload): Payload => {
  if (!p || typeof p !== 'object') throw new PayloadCodecError('payload must be an object');
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (typeof v !== 'string') throw new PayloadCodecError(`payload metadata "${k}" must be base64`);
    metadata[k] = new Uint8Array(Buffer.from(v, 'base64'));
  }
  if (p.data !== undefined && p.data !== null && typeof p.data !== 'string') throw new PayloadCodecError('payload data must be base64');
  return { metadata, data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')) };
};

export const payloadToJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

const isPayload = (v: object): v is Payload =>
  'metadata' in v && 'data' in v && (v as { data: unknown }).data instanceof Uint8Array && typeof (v as { metadata: unknown }).metadata === 'object';

// Payloads the SDK never passes through codecs: search attributes (indexed by the server),
// headers, and the `data` of a local activity's marker (Temporal Core's own record).
const NOT_CODED = new Set(['searchAttributes', 'header']);
const notCoded = (parent: string | undefined, key: string) => NOT_CODED.has(key) || (parent === 'details' && key === 'data');

/**
 * Applies `fn` to every Payload inside a Temporal message (a History, an event, a Failure) that
 * codecs apply to (not search attributes, not headers), in place; returns the same object. E.g. a fetched history decoded for a replay fixture:
 * `await mapPayloads(history, async (p) => (await codec.decode([p]))[0]!)`.
 */
export async function mapPayloads<T>(value: T, fn: (p: Payload) => Promise<Payload>): Promise<T> {
  const visit = async (v: unknown, key?: string): Promise<unknown> => {
    if (!v || typeof v !== 'object' || v instanceof Uint8Array) return v;
    if (isPayload(v)) {
      const out = await fn(v);
      v.metadata = out.metadata;
      v.data = out.data;
      return v;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = await visit(v[i], key);
      return v;
    }
    for (const k of Object.keys(v)) if (!notCoded(key, k)) (v as Record<string, unknown>)[k] = await visit((v as Record<string, unknown>)[k], k);
    return v;
  };
  await visit(value);
  return value;
}
