// The failure converter of every Temporal client and worker of Core DICT (bundled into the
// workflow sandbox through DataConverter.failureConverterPath, so it imports only
// @temporalio/common): failures' messages and stack traces move into an encoded payload, which
// the payload codec (payload-codec.ts) encrypts like any other payload — a BCB error's detail
// may name a key or a tax id.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
