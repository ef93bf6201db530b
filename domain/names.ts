// Owner names (DICT API v2, components.schemas.Person): JSON Schema maxLength counts code points.

import type { RuleViolation } from './keys.js';

export const NATURAL_NAME_MAX = 150;
export const LEGAL_NAME_MAX = 150;
export const TRADE_NAME_MAX = 100;

// Letters incl. Latin-1 accents (no × ÷), apostrophe, space and hyphen.
const NATURAL_NAME_RE = /^([A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u00FF' -]+)$/;
// Printable ASCII and Latin-1 (no control characters, no NBSP).
const LEGAL_TEXT_RE = /^[\u0020-\u007E\u00A1-\u00FF]+$/;

function check(value: string, label: string, re: RegExp, max: number): RuleViolation | undefined {
  if (value.trim() === '') return { reason: 'REQUIRED', description: `${label} is required` };
  if ([...value].length > max) return { reason: 'TOO_LONG', description: `${label} must be at most ${max} characters` };
  if (!re.test(value)) return { reason: 'PATTERN', description: `${label} has characters BCB does not accept` };
  return undefined;
}

/** Natural person's full name (nome civil or nome social). */
export function naturalNameViolation(name: string): RuleViolation | undefined {
  return check(name, 'name', NATURAL_NAME_RE, NATURAL_NAME_MAX);
}

/** Legal person's corporate name (razão social). */
export function legalNameViolation(name: string): RuleViolation | undefined {
  return check(name, 'name', LEGAL_TEXT_RE, LEGAL_NAME_MAX);
}

/** Legal person's trade name (nome fantasia). */
export function tradeNameViolation(tradeName: string): RuleViolation | undefined {
  return check(tradeName, 'trade name', LEGAL_TEXT_RE, TRADE_NAME_MAX);
}
