// Claims codec (createClaim, getClaim, listClaims, acknowledgeClaim, confirmClaim, cancelClaim,
// completeClaim), both directions, after the v2 schemas Claim/ExtendedClaim and BCB's examples.
// ExtendedClaim is written in schema order; decoding does not depend on order (BCB's own
// CreateClaimResponse example puts CompletionPeriodEnd before ResolutionPeriodEnd).
import {
  CLAIM_OPERATION_REASONS,
  CLAIM_ROLES,
  CLAIM_STATUSES,
  CLAIM_TYPES,
  KEY_TYPES,
  type Claim,
  type ExtendedClaim,
} from '../../domain/types.js';
import type {
  ClaimActionInput,
  ClaimDecisionInput,
  ClaimResult,
  CompleteClaimInput,
  CompleteClaimResult,
  ListClaimsResult,
} from '../types.js';
import {
  accountXml,
  children,
  doc,
  metaXml,
  optText,
  ownerXml,
  readAccount,
  readMeta,
  readOwner,
  reqBool,
  reqEl,
  reqEnum,
  reqText,
  rootOf,
  tag,
  child,
} from './common.js';

export type CreateClaimRequest = { claim: Claim };

// ---------------------------------------------------------------------------------------------
// Claim and ExtendedClaim

function claimFields(c: Claim): string {
  return tag('Type', c.type) + tag('Key', c.key) + tag('KeyType', c.keyType) + accountXml(c.claimerAccount, 'ClaimerAccount') + ownerXml(c.claimer, 'Claimer');
}

function claimXml(c: Claim): string {
  return `<Claim>${claimFields(c)}</Claim>`;
}

function readClaim(el: Element): Claim {
  return {
    type: reqEnum(el, 'Type', CLAIM_TYPES),
    key: reqText(el, 'Key'),
    keyType: reqEnum(el, 'KeyType', KEY_TYPES),
    claimerAccount: readAccount(reqEl(el, 'ClaimerAccount')),
    claimer: readOwner(reqEl(el, 'Claimer')),
  };
}

function extendedClaimXml(c: ExtendedClaim): string {
  return (
    '<Claim>' +
    claimFields(c) +
    tag('DonorParticipant', c.donorParticipant) +
    tag('Id', c.id) +
    tag('Status', c.status) +
    tag('ResolutionPeriodEnd', c.resolutionPeriodEnd) +
    tag('CompletionPeriodEnd', c.completionPeriodEnd) +
    tag('LastModified', c.lastModified) +
    tag('ConfirmReason', c.confirmReason) +
    tag('CancelReason', c.cancelReason) +
    tag('CancelledBy', c.cancelledBy) +
    '</Claim>'
  );
}

function optEnum<T extends string>(el: Element, name: string, allowed: readonly T[]): T | undefined {
  return optText(el, name) === undefined ? undefined : reqEnum(el, name, allowed);
}

function readExtendedClaim(el: Element): ExtendedClaim {
  const c: ExtendedClaim = {
    ...readClaim(el),
    donorParticipant: reqText(el, 'DonorParticipant'),
    id: reqText(el, 'Id'),
    status: reqEnum(el, 'Status', CLAIM_STATUSES),
    resolutionPeriodEnd: reqText(el, 'ResolutionPeriodEnd'),
    lastModified: reqText(el, 'LastModified'),
  };
  const completion = optText(el, 'CompletionPeriodEnd');
  const confirmReason = optEnum(el, 'ConfirmReason', CLAIM_OPERATION_REASONS);
  const cancelReason = optEnum(el, 'CancelReason', CLAIM_OPERATION_REASONS);
  const cancelledBy = optEnum(el, 'CancelledBy', CLAIM_ROLES);
  if (completion !== undefined) c.completionPeriodEnd = completion;
  if (confirmReason !== undefined) c.confirmReason = confirmReason;
  if (cancelReason !== undefined) c.cancelReason = cancelReason;
  if (cancelledBy !== undefined) c.cancelledBy = cancelledBy;
  return c;
}

function encodeClaimResponse(root: string, r: ClaimResult): string {
  return doc(root, metaXml(r) + extendedClaimXml(r.claim));
}

function decodeClaimResponse(root: string, xml: string): ClaimResult {
  const el = rootOf(xml, root);
  return { ...readMeta(el), claim: readExtendedClaim(reqEl(el, 'Claim')) };
}

// ---------------------------------------------------------------------------------------------
// createClaim: POST /claims/

export function encodeCreateClaimRequest(r: CreateClaimRequest): string {
  return doc('CreateClaimRequest', claimXml(r.claim));
}

export function decodeCreateClaimRequest(xml: string): CreateClaimRequest {
  const el = rootOf(xml, 'CreateClaimRequest');
  return { claim: readClaim(reqEl(el, 'Claim')) };
}

export const encodeCreateClaimResponse = (r: ClaimResult): string => encodeClaimResponse('CreateClaimResponse', r);
export const decodeCreateClaimResponse = (xml: string): ClaimResult => decodeClaimResponse('CreateClaimResponse', xml);

// ---------------------------------------------------------------------------------------------
// getClaim: GET /claims/{ClaimId}

export const encodeGetClaimResponse = (r: ClaimResult): string => encodeClaimResponse('GetClaimResponse', r);
export const decodeGetClaimResponse = (xml: string): ClaimResult => decodeClaimResponse('GetClaimResponse', xml);

// ---------------------------------------------------------------------------------------------
// listClaims: GET /claims/?Participant=...

export function encodeListClaimsResponse(r: ListClaimsResult): string {
  return doc(
    'ListClaimsResponse',
    metaXml(r) + tag('HasMoreElements', r.hasMoreElements ? 'true' : 'false') + '<Claims>' + r.claims.map(extendedClaimXml).join('') + '</Claims>',
  );
}

export function decodeListClaimsResponse(xml: string): ListClaimsResult {
  const el = rootOf(xml, 'ListClaimsResponse');
  const list = child(el, 'Claims');
  return {
    ...readMeta(el),
    hasMoreElements: reqBool(el, 'HasMoreElements'),
    claims: list ? children(list, 'Claim').map(readExtendedClaim) : [],
  };
}

// ---------------------------------------------------------------------------------------------
// acknowledgeClaim: POST /claims/{ClaimId}/acknowledge

export function encodeAcknowledgeClaimRequest(i: ClaimActionInput): string {
  return doc('AcknowledgeClaimRequest', tag('ClaimId', i.claimId) + tag('Participant', i.participant));
}

export function decodeAcknowledgeClaimRequest(xml: string): ClaimActionInput {
  const el = rootOf(xml, 'AcknowledgeClaimRequest');
  return { claimId: reqText(el, 'ClaimId'), participant: reqText(el, 'Participant') };
}

export const encodeAcknowledgeClaimResponse = (r: ClaimResult): string => encodeClaimResponse('AcknowledgeClaimResponse', r);
export const decodeAcknowledgeClaimResponse = (xml: string): ClaimResult => decodeClaimResponse('AcknowledgeClaimResponse', xml);

// ---------------------------------------------------------------------------------------------
// confirmClaim / cancelClaim: POST /claims/{ClaimId}/confirm|cancel

function encodeDecision(root: string, i: ClaimDecisionInput): string {
  return doc(root, tag('ClaimId', i.claimId) + tag('Participant', i.participant) + tag('Reason', i.reason));
}

function decodeDecision(root: string, xml: string): ClaimDecisionInput {
  const el = rootOf(xml, root);
  return { claimId: reqText(el, 'ClaimId'), participant: reqText(el, 'Participant'), reason: reqEnum(el, 'Reason', CLAIM_OPERATION_REASONS) };
}

export const encodeConfirmClaimRequest = (i: ClaimDecisionInput): string => encodeDecision('ConfirmClaimRequest', i);
export const decodeConfirmClaimRequest = (xml: string): ClaimDecisionInput => decodeDecision('ConfirmClaimRequest', xml);
export const encodeConfirmClaimResponse = (r: ClaimResult): string => encodeClaimResponse('ConfirmClaimResponse', r);
export const decodeConfirmClaimResponse = (xml: string): ClaimResult => decodeClaimResponse('ConfirmClaimResponse', xml);

export const encodeCancelClaimRequest = (i: ClaimDecisionInput): string => encodeDecision('CancelClaimRequest', i);
export const decodeCancelClaimRequest = (xml: string): ClaimDecisionInput => decodeDecision('CancelClaimRequest', xml);
export const encodeCancelClaimResponse = (r: ClaimResult): string => encodeClaimResponse('CancelClaimResponse', r);
export const decodeCancelClaimResponse = (xml: string): ClaimResult => decodeClaimResponse('CancelClaimResponse', xml);

// ---------------------------------------------------------------------------------------------
// completeClaim: POST /claims/{ClaimId}/complete

export function encodeCompleteClaimRequest(i: CompleteClaimInput): string {
  return doc('CompleteClaimRequest', tag('ClaimId', i.claimId) + tag('Participant', i.participant) + tag('RequestId', i.requestId));
}

export function decodeCompleteClaimRequest(xml: string): CompleteClaimInput {
  const el = rootOf(xml, 'CompleteClaimRequest');
  return { claimId: reqText(el, 'ClaimId'), participant: reqText(el, 'Participant'), requestId: reqText(el, 'RequestId') };
}

export function encodeCompleteClaimResponse(r: CompleteClaimResult): string {
  return doc(
    'CompleteClaimResponse',
    metaXml(r) + extendedClaimXml(r.claim) + tag('EntryCreationDate', r.entryCreationDate) + tag('KeyOwnershipDate', r.keyOwnershipDate),
  );
}

export function decodeCompleteClaimResponse(xml: string): CompleteClaimResult {
  const el = rootOf(xml, 'CompleteClaimResponse');
  return {
    ...readMeta(el),
    claim: readExtendedClaim(reqEl(el, 'Claim')),
    entryCreationDate: reqText(el, 'EntryCreationDate'),
    keyOwnershipDate: reqText(el, 'KeyOwnershipDate'),
  };
}
