// Pure BCB/DICT rules: no I/O, no node: imports, safe inside Temporal workflows.
export * from './types.js';
export * from './taxid.js';
export * from './ids.js';
export * from './dates.js';
export * from './keys.js';
export * from './names.js';
export * from './reasons.js';
export * from './limits.js';
export * from './claims.js';
export * from './errors.js';
export * from './validation.js';
