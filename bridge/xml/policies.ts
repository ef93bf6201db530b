// XML codec of DICT's rate-limit policies resource (API v2 "Policies"): listBucketStates
// (GET /policies/ → ListPoliciesResponse) and getBucketState (GET /policies/{policy} →
// GetPolicyResponse). Each Policy is the participant's bucket state at the time of the query;
// Category is the participant's anti-scanning category (A–H).
import type { PoliciesResponse, PolicyResponse, PolicyState } from '../types.js';

export type { PoliciesResponse, PolicyResponse, PolicyState };
import { child, children, doc, metaXml, optText, readMeta, reqEl, reqInt, reqText, rootOf, tag } from './common.js';

function policyXml(p: PolicyState): string {
  return `<Policy>${tag('AvailableTokens', String(p.availableTokens))}${tag('Capacity', String(p.capacity))}${tag('RefillTokens', String(p.refillTokens))}${tag('RefillPeriodSec', String(p.refillPeriodSec))}${tag('Name', p.name)}</Policy>`;
}

function readPolicy(el: Element): PolicyState {
  return {
    name: reqText(el, 'Name').trim(),
    availableTokens: reqInt(el, 'AvailableTokens'),
    capacity: reqInt(el, 'Capacity'),
    refillTokens: reqInt(el, 'RefillTokens'),
    refillPeriodSec: reqInt(el, 'RefillPeriodSec'),
  };
}

export function encodeListPoliciesResponse(r: PoliciesResponse): string {
  return doc('ListPoliciesResponse', metaXml(r) + tag('Category', r.category) + `<Policies>${r.policies.map(policyXml).join('')}</Policies>`);
}

export function decodeListPoliciesResponse(xml: string): PoliciesResponse {
  const el = rootOf(xml, 'ListPoliciesResponse');
  const list = child(el, 'Policies');
  const category = optText(el, 'Category')?.trim();
  return { ...readMeta(el), ...(category ? { category } : {}), policies: list ? children(list, 'Policy').map(readPolicy) : [] };
}

export function encodeGetPolicyResponse(r: PolicyResponse): string {
  return doc('GetPolicyResponse', metaXml(r) + tag('Category', r.category) + policyXml(r.policy));
}

export function decodeGetPolicyResponse(xml: string): PolicyResponse {
  const el = rootOf(xml, 'GetPolicyResponse');
  const category = optText(el, 'Category')?.trim();
  return { ...readMeta(el), ...(category ? { category } : {}), policy: readPolicy(reqEl(el, 'Policy')) };
}
