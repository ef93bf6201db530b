// The Temporal Web UI shows operators decoded workflow data: headless Chromium (Debian chromium,
// playwright-core) opens a CreateKey workflow in the dev server's UI, which decodes its
// encrypted payloads through the API's codec endpoint (--ui-codec-endpoint, scripts/lib.sh), and
// must see the owner's name; the screenshot is saved as .data/codec-ui.png. Not in the default
// suite (it needs the UI): TEST_TEMPORAL_UI=1 bash scripts/test.sh dist/test/ui/codec-ui.js
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { codecAuthorizer } from '../../api/codec-server.js';
import { KeyType } from '../../gen/dict/core/v1/types_pb.js';
import { createKeyRequest, naturalPerson } from '../support/fixtures.js';
import { OUR_ISPB, env, startStack, testPki, testVerifier, type Stack } from '../support/stack.js';

const root = join(__dirname, '..', '..', '..');
const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? process.env.TEST_TEMPORAL_UI_PORT ?? 28233);
const apiPort = Number(process.env.API_PORT ?? process.env.TEST_API_PORT ?? 28080);
const uiOrigins = [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`];
const chromiumBin = [process.env.CHROMIUM_BIN, '/usr/bin/chromium'].find((p) => p && existsSync(p));
const screenshot = join(root, '.data', 'codec-ui.png');

let s: Stack;
before(async () => {
  // As the dev stack runs it: the codec server on API_PORT (the UI's --ui-codec-endpoint), the
  // UI's origin allowed, loopback callers without a token (the dev UI has no login).
  s = await startStack({
    api: { httpPort: apiPort },
    codec: { corsOrigins: uiOrigins, authorize: codecAuthorizer({ verifyBearer: testVerifier(testPki(), OUR_ISPB), allowLoopback: true }) },
  });
});
after(async () => {
  await s?.stop();
});

test('the Web UI decodes a workflow’s encrypted input through the codec server', { skip: chromiumBin ? false : 'no chromium (APT_TEST_PACKAGES)', timeout: 90_000 }, async () => {
  const name = `Lucia ${Array.from({ length: 8 }, () => String.fromCharCode(97 + randomInt(26))).join('')} Decodificada`;
  const owner = naturalPerson(undefined, name);
  const created = await s.client.createKey(createKeyRequest({ keyType: KeyType.CPF, key: owner.taxIdNumber, owner }));
  const workflowId = created.operation!.workflowId;
  const { runId } = await s.temporal.workflow.getHandle(workflowId).describe();
  const browser = await chromium.launch({ executablePath: chromiumBin, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1600 } });
    const codecCalls: number[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/codec/decode')) codecCalls.push(r.status());
    });
    await page.goto(`${uiOrigins[0]}/namespaces/${env.namespace}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`);
    await page.waitForFunction((n) => document.body.innerText.includes(n), name, { timeout: 45_000 });
    mkdirSync(join(root, '.data'), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    assert.ok(codecCalls.length > 0 && codecCalls.every((c) => c === 200), `codec calls: ${codecCalls.join(', ')}`);
    console.log(`# screenshot: ${screenshot}`);
  } finally {
    await browser.close();
  }
});
