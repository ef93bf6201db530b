// The XML machinery every DICT resource codec shares: safe parsing (xmldom, no DOCTYPE), element
// readers that name what is missing, writers with escaping, the signature placeholder, response
// metadata, and BCB's BrazilianAccount and Person structures.
import { DOMParser } from '@xmldom/xmldom';
import { ACCOUNT_TYPES, PERSON_TYPES, type BrazilianAccount, type Person } from '../../domain/types.js';
import type { ResponseMeta } from '../types.js';

/** Malformed XML, wrong root, or a missing/invalid element. `element` names the culprit. */
export class XmlCodecError extends Error {
  override readonly name = 'XmlCodecError';
  constructor(
    message: string,
    readonly element?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses XML with xmldom, throwing XmlCodecError on anything not well-formed. xmldom 0.8 only
 * *warns* about unclosed or mismatched tags, so warnings count as errors here. DOCTYPEs are
 * refused outright: DICT never sends one, and entity declarations are an attack surface.
 */
export function parseXmlDocument(xml: string): Document {
  if (typeof xml !== 'string' || xml.trim() === '') throw new XmlCodecError('empty XML document');
  if (/<!DOCTYPE/i.test(xml)) throw new XmlCodecError('DOCTYPE is not allowed in DICT XML');
  const errors: string[] = [];
  const doc = new DOMParser({
    errorHandler: {
      warning: (m: unknown) => errors.push(String(m)),
      error: (m: unknown) => errors.push(String(m)),
      fatalError: (m: unknown) => errors.push(String(m)),
    },
  }).parseFromString(xml, 'text/xml');
  if (errors.length > 0) throw new XmlCodecError(`malformed XML: ${errors[0]!.split('\n')[0]!.replace(/^\[xmldom \w+\]\s*/, '')}`);
  if (!doc || !doc.documentElement) throw new XmlCodecError('malformed XML: no root element');
  return doc;
}

export function rootOf(xml: string, name: string): Element {
  const root = parseXmlDocument(xml).documentElement;
  if (root.localName !== name) {
    throw new XmlCodecError(`expected root <${name}>, got <${root.localName}>`, name);
  }
  return root;
}

export function children(el: Element, name: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === name) out.push(n as Element);
  }
  return out;
}

export function child(el: Element, name: string): Element | undefined {
  return children(el, name)[0];
}

export function path(el: Element, name: string): string {
  const parts: string[] = [name];
  for (let n: Node | null = el; n && n.nodeType === 1; n = n.parentNode) parts.unshift((n as Element).localName);
  return parts.join('/');
}

export function reqEl(el: Element, name: string): Element {
  const c = child(el, name);
  if (!c) throw new XmlCodecError(`missing required element <${path(el, name)}>`, name);
  return c;
}

export function optText(el: Element, name: string): string | undefined {
  const c = child(el, name);
  if (!c) return undefined;
  const t = c.textContent ?? '';
  return t.trim() === '' ? undefined : t;
}

export function reqText(el: Element, name: string): string {
  const t = optText(el, name);
  if (t === undefined) throw new XmlCodecError(`missing required element <${path(el, name)}>`, name);
  return t;
}

export function reqEnum<T extends string>(el: Element, name: string, allowed: readonly T[]): T {
  const t = reqText(el, name).trim();
  if (!(allowed as readonly string[]).includes(t)) {
    throw new XmlCodecError(`invalid value "${t}" in <${path(el, name)}>; expected one of ${allowed.join(', ')}`, name);
  }
  return t as T;
}

export function reqInt(el: Element, name: string): number {
  const t = reqText(el, name).trim();
  if (!/^-?\d+$/.test(t)) throw new XmlCodecError(`invalid integer "${t}" in <${path(el, name)}>`, name);
  return Number(t);
}

// ---------------------------------------------------------------------------------------------
// Writing

export function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\r/g, '&#xD;');
}

export function tag(name: string, value: string | undefined): string {
  return value === undefined ? '' : `<${name}>${esc(value)}</${name}>`;
}

export const DECL = '<?xml version="1.0" encoding="UTF-8"?>';
/** Empty placeholder that signXml replaces with <ds:Signature>, as in BCB's examples. */
export const SIGNATURE_PLACEHOLDER = '<Signature></Signature>';

export function doc(root: string, body: string, signed = true): string {
  return `${DECL}<${root}>${signed ? SIGNATURE_PLACEHOLDER : ''}${body}</${root}>`;
}

export function metaXml(m: ResponseMeta): string {
  return tag('ResponseTime', m.responseTime) + tag('CorrelationId', m.correlationId);
}

export function readMeta(root: Element): ResponseMeta {
  const out: ResponseMeta = {};
  const rt = optText(root, 'ResponseTime');
  const ci = optText(root, 'CorrelationId');
  if (rt !== undefined) out.responseTime = rt;
  if (ci !== undefined) out.correlationId = ci;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shared structures

export function accountXml(a: BrazilianAccount, name = 'Account'): string {
  return (
    `<${name}>` +
    tag('Participant', a.participant) +
    tag('Branch', a.branch) +
    tag('AccountNumber', a.accountNumber) +
    tag('AccountType', a.accountType) +
    tag('OpeningDate', a.openingDate) +
    `</${name}>`
  );
}

export function readAccount(el: Element): BrazilianAccount {
  const a: BrazilianAccount = {
    participant: reqText(el, 'Participant'),
    accountNumber: reqText(el, 'AccountNumber'),
    accountType: reqEnum(el, 'AccountType', ACCOUNT_TYPES),
    openingDate: reqText(el, 'OpeningDate'),
  };
  const branch = optText(el, 'Branch');
  if (branch !== undefined) a.branch = branch;
  return a;
}

export function ownerXml(p: Person, name = 'Owner'): string {
  return (
    `<${name}>` + tag('Type', p.type) + tag('TaxIdNumber', p.taxIdNumber) + tag('Name', p.name) + tag('TradeName', p.tradeName) + `</${name}>`
  );
}

export function readOwner(el: Element): Person {
  const p: Person = {
    type: reqEnum(el, 'Type', PERSON_TYPES),
    taxIdNumber: reqText(el, 'TaxIdNumber'),
    name: reqText(el, 'Name'),
  };
  const trade = optText(el, 'TradeName');
  if (trade !== undefined) p.tradeName = trade;
  return p;
}


/** xs:boolean: true/false (and 1/0). */
export function reqBool(el: Element, name: string): boolean {
  const t = reqText(el, name).trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw new XmlCodecError(`invalid boolean "${t}" in <${path(el, name)}>`, name);
}
