// A JDK-based DICT signer and verifier (JSR 105, javax.xml.crypto), built the way BCB's reference
// signer is: enveloped ds:Signature as the root's first child, exclusive c14n, RSA-SHA256,
// SHA-256 references to "#key-info-id" and "" (enveloped + exc-c14n), KeyInfo Id="key-info-id"
// with X509IssuerSerial (issuer as X500Principal.toString()). Used by the interoperability test
// (test/unit/bridge-jsr105.test.ts), compiled there with javac.
//   sign <key.pem (PKCS#8)> <cert.pem> <in.xml>   signed document on stdout
//   verify <pinned-cert.pem>... -- <in.xml>       exit 0 when valid; the signer is chosen among
//                                                 the pinned certificates by X509IssuerSerial
//   issuer <cert.pem>                             X500Principal.toString() of the issuer
import java.io.*;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.security.*;
import java.security.cert.*;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.*;
import javax.security.auth.x500.X500Principal;
import javax.xml.crypto.*;
import javax.xml.crypto.dsig.*;
import javax.xml.crypto.dsig.dom.*;
import javax.xml.crypto.dsig.keyinfo.*;
import javax.xml.crypto.dsig.spec.*;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.*;

public class DictSigner {
  static final String DS = XMLSignature.XMLNS;

  public static void main(String[] a) throws Exception {
    switch (a[0]) {
      case "sign": sign(a[1], a[2], a[3]); break;
      case "verify": {
        List<X509Certificate> pinned = new ArrayList<>();
        int i = 1;
        for (; !a[i].equals("--"); i++) pinned.add(cert(a[i]));
        System.exit(verify(pinned, a[i + 1]) ? 0 : 1);
      }
      case "issuer": System.out.print(cert(a[1]).getIssuerX500Principal().toString()); break;
      default: throw new IllegalArgumentException(a[0]);
    }
  }

  static byte[] pem(String file) throws IOException {
    String s = Files.readString(Path.of(file), StandardCharsets.US_ASCII);
    return Base64.getMimeDecoder().decode(s.replaceAll("-----[A-Z ]+-----", ""));
  }

  static X509Certificate cert(String file) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(pem(file)));
  }

  static Document parse(String file) throws Exception {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    return f.newDocumentBuilder().parse(new File(file));
  }

  static void sign(String keyFile, String certFile, String xmlFile) throws Exception {
    PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pem(keyFile)));
    X509Certificate cert = cert(certFile);
    Document doc = parse(xmlFile);
    Element root = doc.getDocumentElement();
    // The empty <Signature/> placeholder of BCB's messages gives way to the signature.
    for (Node n = root.getFirstChild(); n != null; ) {
      Node next = n.getNextSibling();
      if (n.getNodeType() == Node.ELEMENT_NODE && "Signature".equals(n.getLocalName())) root.removeChild(n);
      n = next;
    }
    XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
    DigestMethod sha256 = fac.newDigestMethod(DigestMethod.SHA256, null);
    Transform exc = fac.newTransform(CanonicalizationMethod.EXCLUSIVE, (TransformParameterSpec) null);
    Transform env = fac.newTransform(Transform.ENVELOPED, (TransformParameterSpec) null);
    Reference keyInfoRef = fac.newReference("#key-info-id", sha256, List.of(exc), null, null);
    Reference docRef = fac.newReference("", sha256, List.of(env, exc), null, null);
    SignedInfo si = fac.newSignedInfo(
        fac.newCanonicalizationMethod(CanonicalizationMethod.EXCLUSIVE, (C14NMethodParameterSpec) null),
        fac.newSignatureMethod(SignatureMethod.RSA_SHA256, null),
        List.of(keyInfoRef, docRef));
    KeyInfoFactory kif = fac.getKeyInfoFactory();
    X509IssuerSerial issuerSerial = kif.newX509IssuerSerial(cert.getIssuerX500Principal().toString(), cert.getSerialNumber());
    KeyInfo ki = kif.newKeyInfo(List.of(kif.newX509Data(List.of(issuerSerial))), "key-info-id");
    DOMSignContext ctx = new DOMSignContext(key, root, root.getFirstChild());
    ctx.setDefaultNamespacePrefix("ds");
    fac.newXMLSignature(si, ki).sign(ctx);
    var t = TransformerFactory.newInstance().newTransformer();
    // The declaration as it came in (BCB's messages carry one), without standalone="no".
    doc.setXmlStandalone(true);
    t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, doc.getXmlEncoding() == null ? "yes" : "no");
    t.transform(new DOMSource(doc), new StreamResult(System.out));
  }

  static boolean verify(List<X509Certificate> pinned, String xmlFile) throws Exception {
    Document doc = parse(xmlFile);
    NodeList sigs = doc.getElementsByTagNameNS(DS, "Signature");
    if (sigs.getLength() != 1) throw new IllegalStateException("expected one ds:Signature");
    Element sig = (Element) sigs.item(0);
    KeySelector selector = new KeySelector() {
      public KeySelectorResult select(KeyInfo ki, Purpose p, AlgorithmMethod m, XMLCryptoContext c) throws KeySelectorException {
        for (Object o : ki.getContent()) {
          if (!(o instanceof X509Data)) continue;
          for (Object d : ((X509Data) o).getContent()) {
            if (!(d instanceof X509IssuerSerial)) continue;
            X509IssuerSerial is = (X509IssuerSerial) d;
            // By serial among the pinned certificates; the name only breaks ties (the JDK's own
            // X500Principal.equals fails on OID.n attributes re-encoded as another string type).
            List<X509Certificate> bySerial = new ArrayList<>();
            for (X509Certificate cert : pinned) if (cert.getSerialNumber().equals(is.getSerialNumber())) bySerial.add(cert);
            X509Certificate chosen = bySerial.size() == 1 ? bySerial.get(0) : null;
            if (chosen == null) {
              X500Principal issuer = new X500Principal(is.getIssuerName());
              for (X509Certificate cert : bySerial) if (cert.getIssuerX500Principal().equals(issuer)) chosen = cert;
            }
            if (chosen != null) {
              PublicKey k = chosen.getPublicKey();
              return () -> k;
            }
          }
        }
        throw new KeySelectorException("no pinned certificate matches the KeyInfo");
      }
    };
    DOMValidateContext ctx = new DOMValidateContext(selector, sig);
    NodeList kis = sig.getElementsByTagNameNS(DS, "KeyInfo");
    if (kis.getLength() == 1) ctx.setIdAttributeNS((Element) kis.item(0), null, "Id");
    boolean ok = XMLSignatureFactory.getInstance("DOM").unmarshalXMLSignature(ctx).validate(ctx);
    if (!ok) System.err.println("signature did not validate");
    return ok;
  }
}
