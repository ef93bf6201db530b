// Dev PKI shared by tests: ours (12345678) and two other participants, under PKI_DIR.
import { ensureDevPki, type DevPki } from '../../scripts/pki.js';

export const OUR_ISPB = '12345678';
export const OTHER_ISPBS = ['87654321', '11223344'] as const;

export function testPki(): DevPki {
  return ensureDevPki(process.env.PKI_DIR ?? '.data/test/pki', [OUR_ISPB, ...OTHER_ISPBS]);
}
