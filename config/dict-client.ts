import { createDictClient, type DictClient } from '../bridge/client.js';
import { readDictMaterial, type CommonConfig } from './index.js';

/** The bridge as a process configures it: our ISPB, key material from files, pool size. */
export function dictClientFromConfig(c: CommonConfig, timeoutMs: number): DictClient {
  const material = readDictMaterial(c);
  return createDictClient({
    baseUrl: c.DICT_BASE_URL,
    participant: c.PSP_ISPB,
    signing: material.signing,
    trustedDictCertsPem: material.trustedDictCertsPem,
    tls: material.tls,
    timeoutMs,
    maxSockets: c.DICT_MAX_SOCKETS,
  });
}
