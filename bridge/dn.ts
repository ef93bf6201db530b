// Distinguished names as XMLDSig's X509IssuerName carries them, compared by structure, not by
// spelling. Peers write the issuer the way their library prints it: JDK signers (JSR 105) use
// X500Principal.toString() — ", " between RDNs, values with special characters or double
// spaces in double quotes, attributes without a keyword as "OID.2.5.4.97" — others RFC 4514 /
// RFC 2253 (backslash escapes, "#" + hex DER for OIDs), and node:crypto prints one RDN a line.
// parseDn reads all of these into RDNs of (OID, value); sameDn compares two names as multisets
// of attributes; javaDnString writes a name exactly as the JDK prints it (what BCB's JDK-based
// signers write, so our X509IssuerName reads the same on both sides).

export class DnSyntaxError extends Error {
  override readonly name = 'DnSyntaxError';
}

export interface Ava {
  /** Dotted OID when the type is known or given as an OID; else the keyword, upper-cased. */
  type: string;
  value: string;
}
export type Rdn = Ava[];

/** Keywords → OID. Aliases from RFC 4514, RFC 1779, OpenSSL's short/long names and the JDK's. */
const KEYWORDS: Record<string, string> = {
  CN: '2.5.4.3',
  COMMONNAME: '2.5.4.3',
  SURNAME: '2.5.4.4',
  SN: '2.5.4.4',
  SERIALNUMBER: '2.5.4.5',
  C: '2.5.4.6',
  COUNTRYNAME: '2.5.4.6',
  L: '2.5.4.7',
  LOCALITYNAME: '2.5.4.7',
  ST: '2.5.4.8',
  S: '2.5.4.8',
  STATEORPROVINCENAME: '2.5.4.8',
  STREET: '2.5.4.9',
  STREETADDRESS: '2.5.4.9',
  O: '2.5.4.10',
  ORGANIZATIONNAME: '2.5.4.10',
  OU: '2.5.4.11',
  ORGANIZATIONALUNITNAME: '2.5.4.11',
  T: '2.5.4.12',
  TITLE: '2.5.4.12',
  BUSINESSCATEGORY: '2.5.4.15',
  POSTALCODE: '2.5.4.17',
  GIVENNAME: '2.5.4.42',
  GN: '2.5.4.42',
  INITIALS: '2.5.4.43',
  GENERATION: '2.5.4.44',
  GENERATIONQUALIFIER: '2.5.4.44',
  DNQ: '2.5.4.46',
  DNQUALIFIER: '2.5.4.46',
  PSEUDONYM: '2.5.4.65',
  ORGANIZATIONIDENTIFIER: '2.5.4.97',
  DC: '0.9.2342.19200300.100.1.25',
  DOMAINCOMPONENT: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  USERID: '0.9.2342.19200300.100.1.1',
  EMAIL: '1.2.840.113549.1.9.1',
  EMAILADDRESS: '1.2.840.113549.1.9.1',
  E: '1.2.840.113549.1.9.1',
  IP: '1.3.6.1.4.1.42.2.11.2.1',
};

/** The keyword the JDK prints for an OID (sun.security.x509.AVAKeyword, DEFAULT style); others print as OID.<oid>. */
const JAVA_KEYWORDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'T',
  '1.3.6.1.4.1.42.2.11.2.1': 'IP',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '2.5.4.46': 'DNQ',
  '2.5.4.4': 'SURNAME',
  '2.5.4.42': 'GIVENNAME',
  '2.5.4.43': 'INITIALS',
  '2.5.4.44': 'GENERATION',
  '1.2.840.113549.1.9.1': 'EMAILADDRESS',
  '0.9.2342.19200300.100.1.1': 'UID',
  '2.5.4.5': 'SERIALNUMBER',
};

function attributeType(raw: string): string {
  const t = raw.trim();
  if (/^(oid\.)?\d+(\.\d+)+$/i.test(t)) return t.replace(/^oid\./i, '');
  const k = t.toUpperCase();
  if (!/^[A-Z][A-Z0-9-]*$/.test(k)) throw new DnSyntaxError(`bad attribute type "${t}"`);
  return KEYWORDS[k] ?? k;
}

/** A "#" value: hex DER of a string type, decoded to its text. */
function hexValue(hex: string): string {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) throw new DnSyntaxError('bad #hex value');
  const der = Buffer.from(hex, 'hex');
  if (der.length < 2) throw new DnSyntaxError('bad #hex value');
  let len = der[1]!;
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || der.length < 2 + n) throw new DnSyntaxError('bad #hex length');
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | der[2 + i]!;
    off = 2 + n;
  }
  const body = der.subarray(off, off + len);
  if (body.length !== len) throw new DnSyntaxError('truncated #hex value');
  switch (der[0]) {
    case 0x0c: // UTF8String
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x12: // NumericString
    case 0x1a: // VisibleString
      return body.toString('utf8');
    case 0x14: // TeletexString: latin-1 in practice
      return body.toString('latin1');
    case 0x1e: // BMPString: UTF-16BE
      return Buffer.from(body).swap16().toString('utf16le');
    default:
      // Not a string: compare by its encoding.
      return `#${hex.toLowerCase()}`;
  }
}

/**
 * Parses a DN in RFC 4514/2253/1779 or JDK style. RDN separators: "," and ";" (and newline when
 * `lines`, node:crypto's layout); "+" joins the AVAs of one RDN. Values may be quoted (RFC 1779,
 * JDK), backslash-escaped (a special character or two hex digits of UTF-8), or "#" + hex DER.
 * Unquoted values lose their surrounding spaces; quoted ones keep everything inside.
 */
export function parseDn(dn: string, opts: { lines?: boolean } = {}): Rdn[] {
  const rdns: Rdn[] = [];
  let rdn: Rdn = [];
  let i = 0;
  const n = dn.length;
  const isSep = (c: string | undefined): boolean => c === ',' || c === ';' || (opts.lines === true && c === '\n');
  const skipSpaces = (): void => {
    while (i < n && (dn[i] === ' ' || (!opts.lines && dn[i] === '\n'))) i++;
  };
  skipSpaces();
  if (i >= n) return [];
  for (;;) {
    skipSpaces();
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw new DnSyntaxError(`missing "=" after "${dn.slice(i, i + 20)}"`);
    const type = attributeType(dn.slice(i, eq));
    i = eq + 1;
    skipSpaces();
    let value = '';
    if (dn[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new DnSyntaxError('unterminated quoted value');
        const c = dn[i]!;
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          if (i + 1 >= n) throw new DnSyntaxError('dangling escape');
          value += dn[i + 1];
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      skipSpaces();
    } else if (dn[i] === '#') {
      const start = ++i;
      while (i < n && /[0-9a-f]/i.test(dn[i]!)) i++;
      value = hexValue(dn.slice(start, i));
      skipSpaces();
    } else {
      const bytes: number[] = [];
      let trailingSpaces = 0;
      while (i < n && !isSep(dn[i]) && dn[i] !== '+') {
        const c = dn[i]!;
        if (c === '\\') {
          const h = dn.slice(i + 1, i + 3);
          if (/^[0-9a-f]{2}$/i.test(h)) {
            bytes.push(parseInt(h, 16));
            i += 3;
          } else {
            if (i + 1 >= n) throw new DnSyntaxError('dangling escape');
            bytes.push(...Buffer.from(dn[i + 1]!, 'utf8'));
            i += 2;
          }
          trailingSpaces = 0;
          continue;
        }
        bytes.push(...Buffer.from(c, 'utf8'));
        trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
        i++;
      }
      // An unescaped trailing space is not part of the value (RFC 4514 §3: "\ " keeps it).
      value = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString('utf8');
    }
    rdn.push({ type, value });
    if (i >= n) break;
    const c = dn[i];
    i++;
    if (c === '+') continue;
    if (!isSep(c)) throw new DnSyntaxError(`unexpected "${c}" in DN`);
    rdns.push(rdn);
    rdn = [];
  }
  rdns.push(rdn);
  return rdns;
}

/** Same name: the same attributes (type, value), whatever the order, spacing, quoting or aliases. */
export function sameDn(a: Rdn[], b: Rdn[]): boolean {
  const key = (rdns: Rdn[]): string[] => rdns.flat().map((x) => `${x.type}=${x.value.normalize('NFC')}`).sort();
  const ka = key(a);
  const kb = key(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/** Whether two DN strings name the same entity; false when either does not parse. */
export function sameDnString(a: string, b: string): boolean {
  try {
    return sameDn(parseDn(a), parseDn(b));
  } catch {
    return false;
  }
}

/** The JDK's isPrintableStringChar: letters, digits and the PrintableString punctuation. */
function printable(c: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]$/.test(c);
}

const JAVA_ESCAPEES = ',+=\n<>#;\\"';

/** One value as sun.security.x509.AVA prints it (toKeywordValueString). */
function javaValue(v: string): string {
  let quote = false;
  let prevWhite = false;
  let out = '';
  const alreadyQuoted = v.length > 1 && v.startsWith('"') && v.endsWith('"');
  const chars = Array.from(v);
  chars.forEach((c, idx) => {
    if (alreadyQuoted && (idx === 0 || idx === chars.length - 1)) {
      out += c;
      return;
    }
    if (printable(c) || JAVA_ESCAPEES.includes(c)) {
      if (!quote && ((idx === 0 && (c === ' ' || c === '\n')) || JAVA_ESCAPEES.includes(c))) quote = true;
      if (!(c === ' ' || c === '\n')) {
        if (c === '"' || c === '\\') out += '\\';
        prevWhite = false;
      } else {
        if (!quote && prevWhite) quote = true;
        prevWhite = true;
      }
      out += c;
    } else {
      prevWhite = false;
      out += c;
    }
  });
  if (out.endsWith(' ') || out.endsWith('\n')) quote = true;
  return !alreadyQuoted && quote ? `"${out}"` : out;
}

/**
 * A DN as the JDK prints it (X500Principal.toString, what JSR 105 signers put in
 * X509IssuerName): most specific RDN first, ", " between RDNs, " + " inside one.
 * `rdns` are in certificate (DER) order, as parseDn(cert.issuer, { lines: true }) gives them.
 */
export function javaDnString(rdns: Rdn[]): string {
  return [...rdns]
    .reverse()
    .map((rdn) => rdn.map((a) => `${/^\d+(\.\d+)+$/.test(a.type) ? (JAVA_KEYWORDS[a.type] ?? `OID.${a.type}`) : a.type}=${javaValue(a.value)}`).join(' + '))
    .join(', ');
}
