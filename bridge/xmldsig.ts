// XMLDSig for DICT messages, in the shape BCB's DICT itself produces (Pix security manual):
// an enveloped <ds:Signature> as the first child of the root element, exclusive c14n,
// RSA-SHA256, SHA-256 digests and two references: "#key-info-id" (the KeyInfo, so the signer
// identity is signed too) and "" (the whole document, enveloped-signature + exc-c14n).
// KeyInfo (Id="key-info-id") carries X509Data/X509IssuerSerial: BCB identifies signers by
// issuer + serial of certificates registered beforehand, not by a certificate in the message.
// Verification resolves the signer only among pinned certificates (by issuer+serial, or by an
// exact X509Certificate match when a peer embeds one) and never trusts an embedded key.
import { X509Certificate } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { parseXmlDocument, XmlCodecError } from './xml.js';
import { maskText } from '../domain/mask.js';

export class XmlSignatureError extends Error {
  override readonly name = 'XmlSignatureError';
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

export interface SigningKey {
  keyPem: string;
  certPem: string;
}

export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
/** BCB's KeyInfo Id, referenced from SignedInfo. */
export const KEY_INFO_ID = 'key-info-id';

const ALLOWED_SIGNATURE_METHODS = new Set([RSA_SHA256, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512']);
const ALLOWED_DIGESTS = new Set([SHA256, 'http://www.w3.org/2001/04/xmlenc#sha512']);

/** Issuer DN in RFC 4514 order (most specific RDN first), as BCB writes X509IssuerName. */
function issuerName(cert: X509Certificate): string {
  return cert.issuer.split('\n').reverse().join(', ');
}

function serialDecimal(cert: X509Certificate): string {
  return BigInt(`0x${cert.serialNumber}`).toString(10);
}

/** Order- and spacing-insensitive DN comparison key ("CN=a, O=b" == "O=b,CN=a"). */
function dnKey(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) => {
      const i = rdn.indexOf('=');
      return i < 0 ? rdn.trim() : `${rdn.slice(0, i).trim().toUpperCase()}=${rdn.slice(i + 1).trim()}`;
    })
    .filter((s) => s !== '')
    .sort()
    .join(',');
}

function x509(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw new XmlSignatureError(`${what} is not a valid X.509 certificate`, e);
  }
}

/**
 * Signs a DICT message: replaces the root's empty <Signature/> placeholder (or, when absent,
 * prepends) with an enveloped <ds:Signature>.
 */
export function signXml(xml: string, key: SigningKey): string {
  let doc: Document;
  try {
    doc = parseXmlDocument(xml);
  } catch (e) {
    throw new XmlSignatureError(`cannot sign: ${(e as Error).message}`, e);
  }
  const root = doc.documentElement;
  for (let n = root.firstChild; n; ) {
    const next = n.nextSibling;
    if (n.nodeType === 1 && (n as Element).localName === 'Signature') {
      if ((n as Element).namespaceURI === DSIG_NS && (n as Element).firstChild) {
        throw new XmlSignatureError('document is already signed');
      }
      root.removeChild(n);
    }
    n = next;
  }
  const cert = x509(key.certPem, 'signing certificate');
  const keyInfo =
    `<ds:X509Data><ds:X509IssuerSerial>` +
    `<ds:X509IssuerName>${escapeText(issuerName(cert))}</ds:X509IssuerName>` +
    `<ds:X509SerialNumber>${serialDecimal(cert)}</ds:X509SerialNumber>` +
    `</ds:X509IssuerSerial></ds:X509Data>`;

  const sig = new SignedXml({
    privateKey: key.keyPem,
    publicCert: key.certPem,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
    keyInfoAttributes: { Id: KEY_INFO_ID },
    getKeyInfoContent: () => keyInfo,
  });
  // KeyInfo lives inside the Signature: xml-crypto resolves such targets after inserting it.
  sig.addReference({
    xpath: `//*[local-name(.)='KeyInfo' and namespace-uri(.)='${DSIG_NS}']`,
    transforms: [EXC_C14N],
    digestAlgorithm: SHA256,
  });
  sig.addReference({ xpath: '/*', transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: SHA256, isEmptyUri: true });
  try {
    sig.computeSignature(doc.toString(), { prefix: 'ds', location: { reference: '/*', action: 'prepend' } });
  } catch (e) {
    throw new XmlSignatureError(`signing failed: ${(e as Error).message}`, e);
  }
  return sig.getSignedXml();
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function dsChildren(el: Element, name: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === name && (n as Element).namespaceURI === DSIG_NS) out.push(n as Element);
  }
  return out;
}

function dsDescendant(el: Element, name: string): Element | undefined {
  return (Array.from(el.getElementsByTagNameNS(DSIG_NS, name)) as Element[])[0];
}

/** Picks the pinned certificate the KeyInfo designates; never a certificate taken from the message. */
function resolveSigner(signature: Element, trusted: { pem: string; cert: X509Certificate }[]): { pem: string; cert: X509Certificate } {
  const keyInfo = dsChildren(signature, 'KeyInfo')[0];
  if (!keyInfo) throw new XmlSignatureError('signature has no KeyInfo');
  const candidates: { pem: string; cert: X509Certificate }[][] = [];

  const embedded = dsDescendant(keyInfo, 'X509Certificate');
  if (embedded) {
    const der = Buffer.from((embedded.textContent ?? '').replace(/\s+/g, ''), 'base64');
    candidates.push(trusted.filter((t) => Buffer.compare(t.cert.raw, der) === 0));
  }
  const issuerSerial = dsDescendant(keyInfo, 'X509IssuerSerial');
  if (issuerSerial) {
    const name = dsDescendant(issuerSerial, 'X509IssuerName')?.textContent ?? '';
    const serialText = (dsDescendant(issuerSerial, 'X509SerialNumber')?.textContent ?? '').trim();
    if (!/^\d+$/.test(serialText)) throw new XmlSignatureError('KeyInfo X509SerialNumber is not a decimal integer');
    const serial = BigInt(serialText).toString(10);
    candidates.push(trusted.filter((t) => serialDecimal(t.cert) === serial && dnKey(issuerName(t.cert)) === dnKey(name)));
  }
  if (candidates.length === 0) throw new XmlSignatureError('KeyInfo identifies no certificate (X509IssuerSerial or X509Certificate)');
  // Every identifier present must point at the same pinned certificate.
  const first = candidates[0]!;
  const match = first.find((c) => candidates.every((set) => set.includes(c)));
  if (!match) throw new XmlSignatureError('message signed by a certificate that is not trusted');
  return match;
}

/**
 * Verifies a DICT message's enveloped signature against pinned certificates. Throws
 * XmlSignatureError when unsigned, tampered, not covering the whole document, or signed by a
 * certificate outside `trustedCertsPem`. Returns the pinned PEM that verified it.
 */
export function verifyXml(xml: string, trustedCertsPem: string[]): { signerCertPem: string } {
  let doc: Document;
  try {
    doc = parseXmlDocument(xml);
  } catch (e) {
    throw new XmlSignatureError(maskText(`cannot verify: ${e instanceof XmlCodecError ? e.message : String(e)}`), e);
  }
  const all = Array.from(doc.getElementsByTagNameNS(DSIG_NS, 'Signature')) as Element[];
  if (all.length === 0) throw new XmlSignatureError('message is not signed');
  if (all.length > 1) throw new XmlSignatureError('message carries more than one ds:Signature');
  const signature = all[0]!;
  // Enveloped and at the root, like BCB's: anything else invites signature-wrapping tricks.
  if (signature.parentNode !== doc.documentElement) throw new XmlSignatureError('ds:Signature must be a child of the root element');

  const signedInfo = dsChildren(signature, 'SignedInfo')[0];
  if (!signedInfo) throw new XmlSignatureError('signature has no SignedInfo');
  const method = dsChildren(signedInfo, 'SignatureMethod')[0]?.getAttribute('Algorithm') ?? '';
  if (!ALLOWED_SIGNATURE_METHODS.has(method)) throw new XmlSignatureError(`signature method not accepted: ${method || '(none)'}`);
  const refs = dsChildren(signedInfo, 'Reference');
  for (const r of refs) {
    const digest = dsChildren(r, 'DigestMethod')[0]?.getAttribute('Algorithm') ?? '';
    if (!ALLOWED_DIGESTS.has(digest)) throw new XmlSignatureError(`digest method not accepted: ${digest || '(none)'}`);
  }
  const wholeDoc = refs.some((r) => {
    const uri = r.getAttribute('URI') ?? '';
    const transforms = dsChildren(dsChildren(r, 'Transforms')[0] ?? r, 'Transform').map((t) => t.getAttribute('Algorithm'));
    return uri === '' && transforms.includes(ENVELOPED);
  });
  if (!wholeDoc) throw new XmlSignatureError('signature does not cover the whole document (no enveloped Reference URI="")');

  const trusted = trustedCertsPem.map((pem, i) => ({ pem, cert: x509(pem, `trusted certificate #${i}`) }));
  const signer = resolveSigner(signature, trusted);

  const sig = new SignedXml({ publicCert: signer.pem, getCertFromKeyInfo: () => null });
  try {
    sig.loadSignature(signature);
    if (sig.checkSignature(xml) !== true) throw new Error('one or more references did not validate');
  } catch (e) {
    // xml-crypto's message quotes the digests it compared: never echoed (domain/mask.ts).
    throw new XmlSignatureError(maskText(`invalid signature: ${(e as Error).message}`), e);
  }
  return { signerCertPem: signer.pem };
}
