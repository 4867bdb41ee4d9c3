"""XML-DSig enveloped signatures on CAP alerts: check them (`verify`) and make them (`sign`).

`verify` checks each `<ds:Signature>` child of `<alert>` with the key in its own KeyInfo. No trust
chain is checked (that needs the senders' CAs and the network), so a valid signature only means
"unchanged since signed by the holder of this key"; `signer` names the certificate subject for a
person to judge. SHA-1 signatures are accepted: many agencies still sign with RSA-SHA1.

An alert may carry several signatures side by side (Canada's NAAD System adds its own next to
the originator's, each computed over the alert without any signature). Each signature is first
checked as XML-DSig defines it (the enveloped-signature transform removes only itself); if its
digest does not match, it is checked once more with the other signatures removed. Either way
everything in the alert except `<ds:Signature>` elements is covered.

The bytes are parsed once, by `_parser()`, and signxml is handed that tree; the copies signxml
makes of it go through the same parser. (`hub.cap.parse` reads the same bytes with defusedxml:
signxml needs lxml's tree, with its comments and prefixes, which the stdlib's cannot carry.)
"""

from __future__ import annotations

import base64
import copy
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cryptography.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import (
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.algorithms import CanonicalizationMethod
from signxml.exceptions import InvalidDigest, InvalidSignature
from signxml.verifier import VerifyResult

from hub.cap import NS_DSIG

VALID = "valid"
INVALID = "invalid"
ABSENT = "absent"

_SIGNATURE = f"{{{NS_DSIG}}}Signature"
_WEAK = ("SHA1",)
# Every asymmetric algorithm signxml knows, SHA-1 included; HMAC needs a shared secret we lack.
_METHODS = frozenset(m for m in SignatureMethod if not m.name.startswith("HMAC"))
_DIGESTS = frozenset(DigestAlgorithm)


@dataclass(frozen=True)
class SignatureCheck:
    status: str  # "valid", "invalid" or "absent"
    # RFC 4514 certificate subject(s) of the valid signature(s), "; "-joined; when invalid, the
    # subject the bad signature claims. None when no certificate is given (bare KeyValue).
    signer: str | None
    detail: str


def verify(data: bytes) -> SignatureCheck:
    """Check the alert's enveloped signature(s); never raises for a bad signature."""
    try:
        root = etree.fromstring(data, parser=_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        return SignatureCheck(INVALID, None, f"The document is not well-formed XML: {exc}")
    count = len(root.findall(_SIGNATURE))
    if count == 0:
        return SignatureCheck(ABSENT, None, "The alert is not signed.")
    outcomes = [_check_one(root, index, count) for index in range(count)]
    valid = [o for o in outcomes if o.ok]
    sentences = " ".join(o.sentence for o in outcomes)
    if valid:
        signers = [o.subject for o in valid if o.subject]
        return SignatureCheck(VALID, "; ".join(signers) or None, sentences)
    claimed = [o.subject for o in outcomes if o.subject]
    return SignatureCheck(INVALID, "; ".join(claimed) or None, sentences)


def sign(data: bytes, key_pem: bytes, cert_pem: bytes) -> bytes:
    """Append an enveloped signature (RSA- or ECDSA-SHA256, exclusive c14n) as the last child
    of `<alert>`, with the certificate in KeyInfo."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        method = SignatureMethod.RSA_SHA256
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        method = SignatureMethod.ECDSA_SHA256
    else:
        raise ValueError(f"unsupported signing key type: {type(key).__name__}")
    root = etree.fromstring(data, parser=_parser())
    signer = XMLSigner(
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        # Exclusive c14n: its output does not depend on the namespaces around the signature.
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(root, key=key, cert=cert_pem.decode("ascii"))
    out: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return out


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    subject: str | None
    sentence: str


SIGNXML_CHECKED = "5.2.0"  # the signxml whose private hooks SignxmlHooks was checked against


class SignxmlHooks(XMLVerifier):
    """signxml's verifier with the two private methods no public option replaces; the only
    place this module reaches inside signxml (checked against `SIGNXML_CHECKED`, hence the
    `<6` pin; tests/cap/test_signxml_hooks.py fails if either method changes shape).

    `_get_signature` picks the `index`-th `<ds:Signature>` child of the root: the public
    `SignatureConfiguration.location` is only a path prefix to which signxml appends
    `ds:Signature` and takes the first match, so it cannot name the second of two siblings.

    `_c14n` canonicalises with inclusive c14n from a standalone copy of the node: libxml2 2.14
    (2.14.6 as lxml 6.2 bundles it) wrongly writes `xmlns=""` on grandchildren when
    canonicalising a subtree whose default namespace is declared on an ancestor, which breaks
    valid inclusive-c14n signatures. signxml's public `excise_empty_xmlns_declarations` is no
    cure: it strips every `xmlns=""`, the legitimate ones too.
    """

    def __init__(self, index: int) -> None:
        super().__init__()
        self._index = index

    def _get_signature(self, root: Any) -> Any:
        return root.findall(_SIGNATURE)[self._index]

    def _c14n(self, nodes: Any, algorithm: CanonicalizationMethod,
              inclusive_ns_prefixes: Any = None) -> bytes:
        if algorithm.value.startswith("http://www.w3.org/2001/10/xml-exc-c14n#"):
            return bytes(super()._c14n(nodes, algorithm, inclusive_ns_prefixes))
        if not isinstance(nodes, list):
            nodes = [nodes]
        standalone = [etree.fromstring(etree.tostring(node), parser=self.parser)
                      for node in nodes]
        return bytes(super()._c14n(standalone, algorithm, inclusive_ns_prefixes))


def _check_one(root: Any, index: int, count: int) -> _Outcome:
    label = f"Signature {index + 1} of {count}" if count > 1 else "The signature"
    signature = root.findall(_SIGNATURE)[index]
    try:
        certificates = _certificates(signature)
    except ValueError as exc:
        return _Outcome(False, None, f"{label} is invalid: its certificate is unreadable ({exc}).")
    subject = _subject(certificates[0]) if certificates else None
    if not _covers_whole_alert(signature):
        return _Outcome(False, subject, f"{label} is invalid: it must have exactly one "
                                        'Reference, with URI="" (the whole alert).')
    try:
        used, key_pem, alone = _verify(root, index, certificates)
    except Exception as exc:  # signxml, cryptography and lxml raise many kinds; all mean "bad"
        return _Outcome(False, subject, f"{label} is invalid: {_reason(exc)}.")
    algorithms = _algorithms(signature)
    weak = " (SHA-1, weak)" if any(w in algorithms for w in _WEAK) else ""
    if used is not None:
        who = _subject(used) or "(unreadable subject)"
        key = f"certificate {who}, {_validity(used)}, trust chain not checked"
        subject = who
    else:
        key = f"a bare public key (SPKI {_fingerprint(key_pem)}), no certificate"
    scope = " with the other signatures set aside" if alone else ""
    return _Outcome(True, subject,
                    f"{label} is intact{scope}: {algorithms}{weak}, {key}.")


def _verify(root: Any, index: int, certificates: list[x509.Certificate]
            ) -> tuple[x509.Certificate | None, bytes, bool]:
    """The certificate that verified (None: KeyValue), the key used (PEM) and whether the other
    signatures had to be removed."""
    try:
        return *_verify_in(root, index, certificates), False
    except InvalidDigest:
        if len(root.findall(_SIGNATURE)) == 1:
            raise
    alone = copy.deepcopy(root)
    for position, other in enumerate(alone.findall(_SIGNATURE)):
        if position != index:
            _remove_keeping_tail(other)
    return *_verify_in(alone, 0, certificates), True


def _verify_in(root: Any, index: int, certificates: list[x509.Certificate]
               ) -> tuple[x509.Certificate | None, bytes]:
    if not certificates:
        result = SignxmlHooks(index).verify(root, validate_schema=False, parser=_parser(),
                                            expect_config=_config(require_x509=False))
        return None, _key_used(result)
    error: Exception | None = None
    for certificate in certificates:  # a chain may be listed in any order; the leaf verifies
        # Validity dates are reported, not enforced: old alerts carry long-expired certificates.
        config = _config(require_x509=True, verification_time=certificate.not_valid_before_utc)
        try:
            result = SignxmlHooks(index).verify(root, x509_cert=certificate, parser=_parser(),
                                                validate_schema=False, expect_config=config)
            return certificate, _key_used(result)
        except Exception as exc:
            error = exc
    assert error is not None
    raise error


def _subject(certificate: x509.Certificate) -> str | None:
    try:
        return certificate.subject.rfc4514_string()
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, InvalidDigest):
        return "the alert was changed after it was signed (Digest mismatch)"
    if isinstance(exc, (InvalidSignature, cryptography.exceptions.InvalidSignature)):
        return "the signature value does not match the signed information and key"
    return str(exc) or type(exc).__name__


def _config(*, require_x509: bool, verification_time: datetime | None = None
            ) -> SignatureConfiguration:
    return SignatureConfiguration(
        require_x509=require_x509, location="./", expect_references=1,
        signature_methods=_METHODS, digest_algorithms=_DIGESTS,
        verification_time=verification_time)


def _key_used(result: VerifyResult | list[VerifyResult]) -> bytes:
    first = result[0] if isinstance(result, list) else result
    return bytes(first.signature_key)


def _certificates(signature: Any) -> list[x509.Certificate]:
    texts = signature.findall(f"{{{NS_DSIG}}}KeyInfo/{{{NS_DSIG}}}X509Data/"
                              f"{{{NS_DSIG}}}X509Certificate")
    return [x509.load_der_x509_certificate(base64.b64decode("".join((t.text or "").split())))
            for t in texts]


def _covers_whole_alert(signature: Any) -> bool:
    references = signature.findall(f"{{{NS_DSIG}}}SignedInfo/{{{NS_DSIG}}}Reference")
    return len(references) == 1 and references[0].get("URI") == ""


def _algorithms(signature: Any) -> str:
    info = f"{{{NS_DSIG}}}SignedInfo/"
    method = signature.find(f"{info}{{{NS_DSIG}}}SignatureMethod")
    digest = signature.find(f"{info}{{{NS_DSIG}}}Reference/{{{NS_DSIG}}}DigestMethod")
    names = []
    for element, kind in ((method, SignatureMethod), (digest, DigestAlgorithm)):
        uri = element.get("Algorithm") if element is not None else None
        try:
            names.append(kind(uri).name)
        except ValueError:
            names.append(str(uri))
    return f"{names[0]} over a {names[1]} digest"


def _validity(certificate: x509.Certificate) -> str:
    start = certificate.not_valid_before_utc.date().isoformat()
    end = certificate.not_valid_after_utc
    state = "expired" if end < datetime.now(UTC) else "valid"
    return f"valid {start} to {end.date().isoformat()} ({state} now)"


def _fingerprint(key_pem: bytes) -> str:
    """SHA-256 of the public key's DER SubjectPublicKeyInfo, for a person to compare keys by."""
    der = serialization.load_pem_public_key(key_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _remove_keeping_tail(element: Any) -> None:
    parent = element.getparent()
    previous = element.getprevious()
    if element.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _parser() -> Any:
    """The parser of every signature check, hardened as defusedxml hardens expat: no DTD
    loaded, no entity resolved, nothing fetched, no huge trees. signxml serialises and re-parses
    the tree it is handed (`XMLProcessor.get_root`); `parser=` makes it use this one too."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=False)
