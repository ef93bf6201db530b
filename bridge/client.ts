// HTTP client for BCB's DICT API v2 (XML over HTTPS with mTLS). Signs every write body,
// verifies every response body (problems too) against pinned DICT certificates, and maps
// failures onto DictProblemError (DICT answered) / DictTransportError (no trustworthy answer).
// Connections are pooled (keep-alive): BCB recommends reuse because mTLS handshakes are costly.
import http from 'node:http';
import https from 'node:https';
import { gunzipSync } from 'node:zlib';
import {
  decodeAcknowledgeClaimResponse,
  decodeCancelClaimResponse,
  decodeCompleteClaimResponse,
  decodeConfirmClaimResponse,
  decodeCreateClaimResponse,
  decodeGetClaimResponse,
  decodeListClaimsResponse,
  encodeAcknowledgeClaimRequest,
  encodeCancelClaimRequest,
  encodeCompleteClaimRequest,
  encodeConfirmClaimRequest,
  encodeCreateClaimRequest,
  decodeCheckKeysResponse,
  decodeCreateEntryResponse,
  decodeDeleteEntryResponse,
  decodeGetEntryResponse,
  decodeProblem,
  decodeUpdateEntryResponse,
  encodeCheckKeysRequest,
  encodeCreateEntryRequest,
  encodeDeleteEntryRequest,
  encodeUpdateEntryRequest,
} from './xml.js';
import { signXml, verifyXml, type SigningKey } from './xmldsig.js';
import { decodeGetPolicyResponse, decodeListPoliciesResponse } from './xml/policies.js';
import { maskText } from '../domain/mask.js';
import { bridgeDuration } from '../config/metrics.js';
import * as otel from '@opentelemetry/api';

const bridgeTracer = otel.trace.getTracer('core-dict-bridge');

/** DICT API operation of a request (BCB's operation names), for metrics and spans. */
export function dictOperation(method: string, url: string): string {
  const path = url.replace(/^https?:\/\/[^/]+/, '').split('?')[0]!;
  if (/\/keys\/check$/.test(path)) return 'checkKeys';
  const claim = /\/claims\/([^/]*)(?:\/(\w+))?$/.exec(path);
  if (claim) {
    if (claim[2]) return `${claim[2]}Claim`;
    if (!claim[1]) return method === 'POST' ? 'createClaim' : 'listClaims';
    return 'getClaim';
  }
  const entry = /\/entries\/([^/]*)(?:\/(\w+))?$/.exec(path);
  if (entry) {
    if (entry[2] === 'delete') return 'deleteEntry';
    if (!entry[1]) return 'createEntry';
    return method === 'PUT' ? 'updateEntry' : 'getEntry';
  }
  const policy = /\/policies\/([^/]*)$/.exec(path);
  if (policy) return policy[1] ? 'getBucketState' : 'listBucketStates';
  return `${method.toLowerCase()}Other`;
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};
import {
  DictProblemError,
  DictTransportError,
  type DictApi,
  type DictClaimsApi,
  type DictPoliciesApi,
  type GetEntryInput,
  type GetEntryResult,
  type ListClaimsInput,
} from './types.js';

export interface DictClientOptions {
  /** DICT API root, e.g. https://dict-h.pi.rsfn.net.br:16522/api/v2 (trailing slash optional). */
  baseUrl: string;
  /** BCB publishes /keys/check on a separate host (api-np); defaults to baseUrl. */
  checkKeysBaseUrl?: string;
  /** Our ISPB, sent as PI-RequestingParticipant. */
  participant: string;
  /** Request-signing key and certificate (registered with BCB). */
  signing: SigningKey;
  /** DICT's response-signing certificates; nothing else is trusted. */
  trustedDictCertsPem: string[];
  /** mTLS material for https URLs: CA to trust for the server, our client cert+key. */
  tls?: { caPem?: string; certPem?: string; keyPem?: string };
  /** Whole-request deadline. Default 10 s. */
  timeoutMs?: number;
  /** Pool size per host. Default 32. */
  maxSockets?: number;
  userAgent?: string;
}

export type DictClient = DictApi & DictClaimsApi & DictPoliciesApi & { close(): void };

/** listClaims' Limit: DICT's maximum (its default is 20). */
export const LIST_CLAIMS_MAX_LIMIT = 200;

/** listClaims query string, in BCB's parameter names; Status repeats once per value. */
export function listClaimsQuery(i: ListClaimsInput): string {
  if (!/^\d{8}$/.test(i.participant)) throw new TypeError(`listClaims: participant must be an 8-digit ISPB, got "${i.participant}"`);
  if (i.limit !== undefined && (!Number.isInteger(i.limit) || i.limit < 1 || i.limit > LIST_CLAIMS_MAX_LIMIT)) {
    throw new TypeError(`listClaims: limit must be an integer in 1..${LIST_CLAIMS_MAX_LIMIT}, got ${i.limit}`);
  }
  const q = new URLSearchParams({ Participant: i.participant });
  if (i.isDonor !== undefined) q.append('IsDonor', String(i.isDonor));
  if (i.isClaimer !== undefined) q.append('IsClaimer', String(i.isClaimer));
  for (const s of i.status ?? []) q.append('Status', s);
  if (i.type !== undefined) q.append('Type', i.type);
  if (i.modifiedAfter !== undefined) q.append('ModifiedAfter', i.modifiedAfter);
  if (i.modifiedBefore !== undefined) q.append('ModifiedBefore', i.modifiedBefore);
  if (i.limit !== undefined) q.append('Limit', String(i.limit));
  return q.toString();
}

const XML = 'application/xml';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Seconds from Retry-After: delta-seconds or an HTTP-date (RFC 7231 7.1.3). */
export function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\s*\d+\s*$/.test(s)) return Number(s.trim());
  const at = Date.parse(s);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/**
 * How long DICT lets us keep an answer, from Cache-Control: max-age in seconds; 0 when it
 * forbids keeping it (no-store, no-cache, private: RFC 9111); undefined when it says nothing.
 */
export function parseCacheMaxAge(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v.join(',') : v;
  if (!s) return undefined;
  if (/(^|,)\s*(no-store|no-cache|private)\s*(=[^,]*)?\s*(,|$)/i.test(s)) return 0;
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?\s*(?:,|$)/i.exec(s);
  return m ? Number(m[1]) : undefined;
}

export function createDictClient(opts: DictClientOptions): DictClient {
  if (!/^\d{8}$/.test(opts.participant)) throw new TypeError(`participant must be an 8-digit ISPB, got "${opts.participant}"`);
  if (opts.trustedDictCertsPem.length === 0) throw new TypeError('trustedDictCertsPem must pin at least one DICT certificate');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const userAgent = opts.userAgent ?? 'core-dict-bridge';
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 32 };
  const httpAgent = new http.Agent(agentOpts);
  const httpsAgent = new https.Agent({
    ...agentOpts,
    ...(opts.tls?.caPem !== undefined ? { ca: opts.tls.caPem } : {}),
    ...(opts.tls?.certPem !== undefined ? { cert: opts.tls.certPem } : {}),
    ...(opts.tls?.keyPem !== undefined ? { key: opts.tls.keyPem } : {}),
  });
  const base = opts.baseUrl.replace(/\/+$/, '');
  const keysBase = (opts.checkKeysBaseUrl ?? opts.baseUrl).replace(/\/+$/, '');

  // Every DICT call is timed and counted by operation and outcome (config/metrics.ts) and is a
  // client span (config/tracing.ts) under the activity or API call that made it.
  async function send(method: string, url: string, body?: string, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<RawResponse> {
    const operation = dictOperation(method, url);
    const end = bridgeDuration.startTimer({ operation });
    return bridgeTracer.startActiveSpan(`DICT ${operation}`, { kind: otel.SpanKind.CLIENT, attributes: { 'http.request.method': method, 'dict.operation': operation } }, async (span) => {
      try {
        const res = await sendRaw(method, url, body, extra, signal);
        end({ status: String(res.status) });
        span.setAttribute('http.response.status_code', res.status);
        if (res.status >= 500) span.setStatus({ code: otel.SpanStatusCode.ERROR });
        return res;
      } catch (e) {
        end({ status: 'error' });
        span.setStatus({ code: otel.SpanStatusCode.ERROR, message: (e as Error).message });
        throw e;
      } finally {
        span.end();
      }
    });
  }

  function sendRaw(method: string, url: string, body?: string, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<RawResponse> {
    let u: URL;
    try {
      u = new URL(url);
    } catch (e) {
      return Promise.reject(new DictTransportError(maskText(`invalid DICT URL ${safeDecode(url)}`), e));
    }
    const isHttps = u.protocol === 'https:';
    const headers: Record<string, string> = {
      Accept: 'application/xml, application/problem+xml',
      'Accept-Encoding': 'gzip',
      'User-Agent': userAgent,
      'PI-RequestingParticipant': opts.participant,
      ...extra,
    };
    const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
    if (payload) {
      headers['Content-Type'] = `${XML}; charset=utf-8`;
      headers['Content-Length'] = String(payload.length);
    }
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const fail = (msg: string, cause?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        // The path holds the key (a CPF, phone, e-mail ...): masked, decoded first so patterns match.
        reject(new DictTransportError(maskText(`${method} ${safeDecode(u.pathname)}: ${msg}`), cause));
      };
      const onAbort = (): void => {
        const why = signal?.reason instanceof Error ? signal.reason.message : 'aborted';
        fail(why, signal?.reason);
        req.destroy();
      };
      const req = (isHttps ? https : http).request(u, { method, headers, agent: isHttps ? httpsAgent : httpAgent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy();
            fail(`response body exceeds ${MAX_BODY_BYTES} bytes`);
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e) => fail(`response error: ${e.message}`, e));
        res.on('aborted', () => fail('response aborted'));
        res.on('end', () => {
          if (settled) return;
          let buf = Buffer.concat(chunks);
          try {
            if (/gzip/i.test(String(res.headers['content-encoding'] ?? ''))) buf = gunzipSync(buf);
          } catch (e) {
            fail('cannot gunzip response body', e);
            return;
          }
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf.toString('utf8') });
        });
      });
      const timer = setTimeout(() => {
        fail(`timeout after ${timeoutMs} ms`);
        req.destroy();
      }, timeoutMs);
      req.on('error', (e) => fail(`request failed: ${e.message}`, e));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      req.end(payload);
    });
  }

  /** Verifies the body's signature, then decodes success or maps a problem. */
  function handle<T>(what: string, res: RawResponse, decode: (xml: string) => T): T {
    const verified = (): void => {
      try {
        verifyXml(res.body, opts.trustedDictCertsPem);
      } catch (e) {
        throw new DictTransportError(`${what}: untrusted DICT response (HTTP ${res.status}): ${(e as Error).message}`, e);
      }
    };
    if (res.status >= 200 && res.status < 300) {
      verified();
      try {
        return decode(res.body);
      } catch (e) {
        throw new DictTransportError(`${what}: undecodable DICT response: ${(e as Error).message}`, e);
      }
    }
    // "Retry later" from a gateway in front of DICT carries no signed body but its Retry-After
    // is still the best hint we have; it only ever delays a retry, so it needs no signature.
    const retryHint = res.status === 429 || res.status === 503;
    const unsignedRetryHint = (): DictProblemError =>
      new DictProblemError(res.status === 429 ? 'RateLimited' : 'ServiceUnavailable', res.status, `HTTP ${res.status} (unsigned)`, undefined, undefined, [], parseRetryAfter(res.headers['retry-after']));
    if (res.body.trim() === '' || !/xml/i.test(String(res.headers['content-type'] ?? ''))) {
      if (retryHint) throw unsignedRetryHint();
      // No problem document: a proxy or gateway answered, not DICT.
      throw new DictTransportError(`${what}: HTTP ${res.status} without a DICT problem body`);
    }
    try {
      verified();
    } catch (e) {
      if (retryHint) throw unsignedRetryHint();
      throw e;
    }
    let p: ReturnType<typeof decodeProblem>;
    try {
      p = decodeProblem(res.body);
    } catch (e) {
      throw new DictTransportError(`${what}: undecodable problem (HTTP ${res.status}): ${(e as Error).message}`, e);
    }
    throw new DictProblemError(
      p.bcbError,
      p.status || res.status,
      p.title,
      p.detail,
      p.correlationId,
      p.violations ?? [],
      parseRetryAfter(res.headers['retry-after']),
    );
  }

  function signed(xml: string): string {
    try {
      return signXml(xml, opts.signing);
    } catch (e) {
      // Our own key is unusable: nothing reached DICT.
      throw new DictTransportError(`cannot sign request: ${(e as Error).message}`, e);
    }
  }

  const keyPath = (key: string): string => `${base}/entries/${encodeURIComponent(key)}`;
  const claimPath = (id: string): string => `${base}/claims/${encodeURIComponent(id)}`;

  return {
    async createEntry(input) {
      const res = await send('POST', `${base}/entries/`, signed(encodeCreateEntryRequest(input)), {}, input.signal);
      return handle('createEntry', res, decodeCreateEntryResponse);
    },

    async getEntry(input: GetEntryInput): Promise<GetEntryResult> {
      // Both headers are mandatory in DICT v2 (rate limiting / anti-scan); fail before spending a token.
      if (!/^(\d{11}|\d{14})$/.test(input.payerId)) throw new TypeError('getEntry: payerId (PI-PayerId) must be a CPF (11) or CNPJ (14) digits');
      if (!input.endToEndId) throw new TypeError('getEntry: endToEndId (PI-EndToEndId) is required by DICT v2');
      const res = await send('GET', keyPath(input.key), undefined, {
        'PI-PayerId': input.payerId,
        'PI-EndToEndId': input.endToEndId,
      }, input.signal);
      const out: GetEntryResult = handle('getEntry', res, decodeGetEntryResponse);
      const maxAge = parseCacheMaxAge(res.headers['cache-control']);
      if (maxAge !== undefined) out.cacheMaxAgeSeconds = maxAge;
      return out;
    },

    async updateEntry(input) {
      const res = await send('PUT', keyPath(input.key), signed(encodeUpdateEntryRequest(input)), {}, input.signal);
      return handle('updateEntry', res, decodeUpdateEntryResponse);
    },

    async deleteEntry(input) {
      const res = await send('POST', `${keyPath(input.key)}/delete`, signed(encodeDeleteEntryRequest(input)), {}, input.signal);
      return handle('deleteEntry', res, decodeDeleteEntryResponse);
    },

    async checkKeys(keys) {
      // A query: BCB's CheckKeysRequest carries no Signature, so it is sent unsigned.
      const res = await send('POST', `${keysBase}/keys/check`, encodeCheckKeysRequest({ keys }));
      return handle('checkKeys', res, decodeCheckKeysResponse);
    },

    async listPolicies() {
      const res = await send('GET', `${base}/policies/`);
      return handle('listPolicies', res, decodeListPoliciesResponse);
    },

    async getPolicy(policy) {
      const res = await send('GET', `${base}/policies/${encodeURIComponent(policy)}`);
      return handle('getPolicy', res, decodeGetPolicyResponse);
    },

    async createClaim(input) {
      const res = await send('POST', `${base}/claims/`, signed(encodeCreateClaimRequest(input)), {}, input.signal);
      return handle('createClaim', res, decodeCreateClaimResponse);
    },

    async getClaim(claimId) {
      const res = await send('GET', claimPath(claimId));
      return handle('getClaim', res, decodeGetClaimResponse);
    },

    async listClaims(input) {
      const res = await send('GET', `${base}/claims/?${listClaimsQuery(input)}`);
      return handle('listClaims', res, decodeListClaimsResponse);
    },

    async acknowledgeClaim(input) {
      const res = await send('POST', `${claimPath(input.claimId)}/acknowledge`, signed(encodeAcknowledgeClaimRequest(input)), {}, input.signal);
      return handle('acknowledgeClaim', res, decodeAcknowledgeClaimResponse);
    },

    async confirmClaim(input) {
      const res = await send('POST', `${claimPath(input.claimId)}/confirm`, signed(encodeConfirmClaimRequest(input)), {}, input.signal);
      return handle('confirmClaim', res, decodeConfirmClaimResponse);
    },

    async cancelClaim(input) {
      const res = await send('POST', `${claimPath(input.claimId)}/cancel`, signed(encodeCancelClaimRequest(input)), {}, input.signal);
      return handle('cancelClaim', res, decodeCancelClaimResponse);
    },

    async completeClaim(input) {
      const res = await send('POST', `${claimPath(input.claimId)}/complete`, signed(encodeCompleteClaimRequest(input)), {}, input.signal);
      return handle('completeClaim', res, decodeCompleteClaimResponse);
    },

    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
