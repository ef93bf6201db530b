// Problems (RFC 7807, application/problem+xml) as DICT sends them: BCB's error name is the last
// path segment of `type`.
import type { Violation } from '../types.js';
import { DECL, SIGNATURE_PLACEHOLDER, child, children, optText, reqInt, reqText, rootOf, tag } from './common.js';

/** BCB's problem `type` URIs: https://dict.pi.rsfn.net.br/api/v2/error/<Name>. */
export const PROBLEM_TYPE_BASE = 'https://dict.pi.rsfn.net.br/api/v2/error/';
/** RFC 7807 XML namespace BCB uses on <problem>. */
export const PROBLEM_NAMESPACE = 'urn:ietf:rfc:7807';

export interface Problem {
  /** Full type URI; encodeProblem derives it from bcbError when absent. */
  type?: string;
  /** BCB error name: last path segment of `type`. */
  bcbError: string;
  title: string;
  status: number;
  detail?: string;
  correlationId?: string;
  violations?: Violation[];
}

export function problemType(bcbError: string): string {
  return PROBLEM_TYPE_BASE + bcbError;
}

/** BCB error name from a problem type URI: its last path segment. */
export function bcbErrorFromType(type: string): string {
  const seg = type.replace(/[?#].*$/, '').replace(/\/+$/, '').split('/').pop() ?? '';
  return seg === '' ? type : seg;
}

export function encodeProblem(p: Problem): string {
  const violations =
    p.violations && p.violations.length > 0
      ? '<violations>' +
        p.violations.map((v) => '<violation>' + tag('reason', v.reason) + tag('value', v.value) + tag('property', v.property) + '</violation>').join('') +
        '</violations>'
      : '';
  return (
    `${DECL}<problem xmlns="${PROBLEM_NAMESPACE}">${SIGNATURE_PLACEHOLDER}` +
    tag('type', p.type ?? problemType(p.bcbError)) +
    tag('title', p.title) +
    tag('status', String(p.status)) +
    tag('detail', p.detail) +
    tag('correlationId', p.correlationId) +
    violations +
    '</problem>'
  );
}

export function decodeProblem(xml: string): Problem & { type: string } {
  const el = rootOf(xml, 'problem');
  const type = reqText(el, 'type').trim();
  const p: Problem & { type: string } = { type, bcbError: bcbErrorFromType(type), title: reqText(el, 'title'), status: reqInt(el, 'status') };
  const detail = optText(el, 'detail');
  const correlationId = optText(el, 'correlationId');
  if (detail !== undefined) p.detail = detail;
  if (correlationId !== undefined) p.correlationId = correlationId;
  const vs = child(el, 'violations');
  if (vs) {
    p.violations = children(vs, 'violation').map((v) => {
      const out: Violation = { reason: reqText(v, 'reason') };
      const value = optText(v, 'value');
      const property = optText(v, 'property');
      if (value !== undefined) out.value = value;
      if (property !== undefined) out.property = property;
      return out;
    });
  }
  return p;
}
