// Talks to the DICT (the simulator locally) as ANOTHER participant, signing with that
// participant's dev certificate: register, read or delete its keys, check keys. For trying
// lookups, duplicates (KeyInUseByOtherParticipant → StartPortability) and claims by hand:
//   node dist/scripts/dict-as.js ISPB create-entry '<Entry JSON>'
//   node dist/scripts/dict-as.js ISPB get-entry KEY PAYER_TAX_ID [END_TO_END_ID]  (one is made up)
//   node dist/scripts/dict-as.js ISPB delete-entry KEY
//   node dist/scripts/dict-as.js ISPB check-keys KEY...
// (scripts/dict-as.sh runs it with the dev stack's PKI_DIR and DICT_BASE_URL.) Prints DICT's
// answer as JSON; a DICT refusal prints its BCB error name and exits 1.
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDictClient } from '../bridge/client.js';
import { DictProblemError } from '../bridge/types.js';
import { newEndToEndId } from '../domain/ids.js';
import type { Entry } from '../domain/types.js';

const USAGE = 'usage: dict-as ISPB create-entry ENTRY_JSON | get-entry KEY PAYER_TAX_ID [E2E_ID] | delete-entry KEY | check-keys KEY...';

async function main(argv: string[]): Promise<number> {
  const [ispb, op, ...args] = argv;
  if (!ispb || !/^[0-9]{8}$/.test(ispb) || !op) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const pki = process.env.PKI_DIR ?? '.data/dev/pki';
  const dict = createDictClient({
    baseUrl: process.env.DICT_BASE_URL ?? 'http://127.0.0.1:8090/api/v2',
    participant: ispb,
    signing: { keyPem: readFileSync(join(pki, `psp-${ispb}.key`), 'utf8'), certPem: readFileSync(join(pki, `psp-${ispb}.crt`), 'utf8') },
    trustedDictCertsPem: [readFileSync(join(pki, 'dict.crt'), 'utf8')],
  });
  try {
    let out: unknown;
    switch (op) {
      case 'create-entry': {
        const entry = JSON.parse(args[0] ?? '') as Entry;
        out = await dict.createEntry({ entry, reason: 'USER_REQUESTED', requestId: randomUUID() });
        break;
      }
      case 'get-entry':
        out = await dict.getEntry({ key: args[0] ?? '', payerId: args[1] ?? '', endToEndId: args[2] ?? newEndToEndId(ispb, new Date(), randomInt) });
        break;
      case 'delete-entry':
        out = await dict.deleteEntry({ key: args[0] ?? '', participant: ispb, reason: 'USER_REQUESTED' });
        break;
      case 'check-keys':
        out = await dict.checkKeys(args);
        break;
      default:
        process.stderr.write(`${USAGE}\n`);
        return 2;
    }
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof DictProblemError) {
      process.stderr.write(`DICT refused: ${err.bcbError} (${err.message})\n`);
      return 1;
    }
    throw err;
  } finally {
    dict.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`dict-as: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
