// Who is calling: the mTLS client certificate (CN = ISPB) when TLS is on, else the certificate
// that signed the body, else (queries only) the PI-RequestingParticipant header.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { verifyXml, XmlSignatureError } from '../bridge/xmldsig.js';
import { SimProblem } from './problems.js';

export class ParticipantRegistry {
  private readonly byIspb: Map<string, string>;
  private readonly trusted: string[];

  constructor(
    participants: Record<string, string>,
    /** TLS with requestCert: callers are identified by their client certificate. */
    readonly mtls = false,
  ) {
    this.byIspb = new Map(Object.entries(participants));
    this.trusted = [...this.byIspb.values()];
  }

  has(ispb: string): boolean {
    return this.byIspb.has(ispb);
  }

  /** ISPB of the participant whose pinned certificate signed `xml`; RequestSignatureInvalid otherwise. */
  signerOf(xml: string): string {
    let signerPem: string;
    try {
      signerPem = verifyXml(xml, this.trusted).signerCertPem;
    } catch (e) {
      const why = e instanceof XmlSignatureError ? e.message : String(e);
      throw new SimProblem('RequestSignatureInvalid', `Request signature is invalid: ${why}`);
    }
    for (const [ispb, pem] of this.byIspb) if (pem === signerPem) return ispb;
    throw new SimProblem('RequestSignatureInvalid', 'Request signed by an unknown participant');
  }
}

/**
 * ISPB from the verified mTLS client certificate, undefined on plain HTTP. With TLS on, a
 * request without an authorized certificate, or whose CN is not a participant, is Forbidden.
 */
export function tlsIdentity(req: IncomingMessage, registry: ParticipantRegistry): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (!registry.mtls || typeof socket.getPeerCertificate !== 'function') return undefined;
  if (!socket.authorized) throw new SimProblem('Forbidden', 'A valid client certificate is required');
  const cn = socket.getPeerCertificate().subject?.CN;
  const ispb = Array.isArray(cn) ? cn[0] : cn;
  if (!ispb || !registry.has(ispb)) throw new SimProblem('Forbidden', 'Client certificate does not identify a participant');
  return ispb;
}

/** Caller of a signed write: the signer, which must be the mTLS peer when TLS is on. */
export function writeCaller(req: IncomingMessage, body: string, registry: ParticipantRegistry): string {
  const tlsIspb = tlsIdentity(req, registry);
  const signer = registry.signerOf(body);
  if (tlsIspb !== undefined && tlsIspb !== signer) {
    throw new SimProblem('Forbidden', 'Request body was signed by a participant other than the TLS client');
  }
  return signer;
}

/** Caller of a query: PI-RequestingParticipant, else the mTLS peer; must be a known participant. */
export function queryCaller(req: IncomingMessage, registry: ParticipantRegistry): string {
  const tlsIspb = tlsIdentity(req, registry);
  const header = req.headers['pi-requestingparticipant'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') {
    if (tlsIspb !== undefined) return tlsIspb;
    throw new SimProblem('BadRequest', 'Header PI-RequestingParticipant is required', [
      { reason: 'Header is required', property: 'PI-RequestingParticipant' },
    ]);
  }
  if (!/^[0-9]{8}$/.test(value)) {
    throw new SimProblem('BadRequest', 'Header PI-RequestingParticipant must be 8 digits', [
      { reason: "Value does not match regex '^[0-9]{8}$'", value, property: 'PI-RequestingParticipant' },
    ]);
  }
  if (!registry.has(value)) throw new SimProblem('Forbidden', 'Participant is not allowed to access this resource');
  return value;
}
