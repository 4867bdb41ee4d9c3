"""hub.cap.signature: enveloped XML-DSig on CAP alerts, made and checked offline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from hub.cap import NS_12, NS_DSIG, CapArea, Info, Message
from hub.cap.signature import sign, verify
from hub.cap.write import dump

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = DATA / "cap-samples"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


def key_and_cert(common_name: str, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                 ) -> tuple[bytes, bytes]:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Vigil Test Agency")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def rsa_signer() -> tuple[bytes, bytes]:
    return key_and_cert("alerts.vigil.test", rsa.generate_private_key(65537, 2048))


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / "CAP-v1.2.xsd")))


def message() -> Message:
    info = Info(("Safety",), "Gas leak", "Immediate", "Severe", "Observed",
                headline="Gas leak at King & Bay", description="Stay indoors. Évitez le secteur.",
                areas=(CapArea("King & Bay", polygons=(((43.64, -79.38), (43.65, -79.38),
                                                        (43.65, -79.37), (43.64, -79.38)),)),))
    return Message("VIGIL-1", "alerts@vigil.test", datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
                   "Actual", "Alert", "Public", infos=(info,))


def test_signed_alert_verifies_with_the_signer_named(rsa_signer: tuple[bytes, bytes]) -> None:
    signed = sign(dump(message()), *rsa_signer)
    check = verify(signed)
    assert check.status == "valid", check.detail
    assert check.signer is not None and "CN=alerts.vigil.test" in check.signer
    assert "O=Vigil Test Agency" in check.signer
    assert "RSA_SHA256" in check.detail


def test_signature_is_the_last_child_and_carries_the_certificate(
        rsa_signer: tuple[bytes, bytes]) -> None:
    root = etree.fromstring(sign(dump(message()), *rsa_signer))
    assert root[-1].tag == f"{{{NS_DSIG}}}Signature"
    assert root[-1].find(f".//{{{NS_DSIG}}}X509Certificate") is not None


def test_ecdsa_key_signs_and_verifies() -> None:
    key_pem, cert_pem = key_and_cert("ec.vigil.test", ec.generate_private_key(ec.SECP256R1()))
    check = verify(sign(dump(message()), key_pem, cert_pem))
    assert check.status == "valid", check.detail
    assert check.signer is not None and "CN=ec.vigil.test" in check.signer
    assert "ECDSA_SHA256" in check.detail


def test_signed_alert_still_validates_against_the_schema(
        rsa_signer: tuple[bytes, bytes], schema: etree.XMLSchema) -> None:
    root = etree.fromstring(sign(dump(message()), *rsa_signer))
    assert schema.validate(root), schema.error_log


def test_one_changed_character_in_the_headline_is_caught(rsa_signer: tuple[bytes, bytes]) -> None:
    signed = sign(dump(message()), *rsa_signer)
    tampered = signed.replace(b"Gas leak at King", b"Gas leak at Kind")
    assert tampered != signed
    check = verify(tampered)
    assert check.status == "invalid"
    assert "Digest mismatch" in check.detail


def test_changed_signature_value_is_caught(rsa_signer: tuple[bytes, bytes]) -> None:
    root = etree.fromstring(sign(dump(message()), *rsa_signer))
    value = root.find(f".//{{{NS_DSIG}}}SignatureValue")
    assert value is not None and value.text is not None
    value.text = ("B" if value.text[0] == "A" else "A") + value.text[1:]
    assert verify(etree.tostring(root)).status == "invalid"


def test_unsigned_alert_is_absent() -> None:
    check = verify(dump(message()))
    assert (check.status, check.signer) == ("absent", None)


@pytest.mark.parametrize("signature", [
    f'<Signature xmlns="{NS_DSIG}">garbage</Signature>',
    f'<ds:Signature xmlns:ds="{NS_DSIG}"><ds:SignedInfo/><ds:SignatureValue>!!</ds:SignatureValue>'
    "</ds:Signature>",
    f'<Signature xmlns="{NS_DSIG}"><SignedInfo><CanonicalizationMethod Algorithm="urn:nope"/>'
    '<SignatureMethod Algorithm="urn:nope"/><Reference URI=""><DigestMethod Algorithm="urn:x"/>'
    "<DigestValue>AA==</DigestValue></Reference></SignedInfo><SignatureValue>AA==</SignatureValue>"
    "<KeyInfo><X509Data><X509Certificate>bm90IGEgY2VydA==</X509Certificate></X509Data></KeyInfo>"
    "</Signature>",
])
def test_garbage_signature_is_invalid_without_raising(signature: str) -> None:
    document = dump(message()).replace(b"</alert>", signature.encode() + b"</alert>")
    check = verify(document)
    assert check.status == "invalid"
    assert check.detail


def test_unsupported_algorithm_is_invalid(rsa_signer: tuple[bytes, bytes]) -> None:
    signed = sign(dump(message()), *rsa_signer)
    changed = signed.replace(b"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                             b"http://example.org/rot13")
    assert changed != signed
    assert verify(changed).status == "invalid"


def test_signature_over_only_part_of_the_alert_is_refused(rsa_signer: tuple[bytes, bytes]) -> None:
    signed = sign(dump(message()), *rsa_signer)
    check = verify(signed.replace(b'URI=""', b'URI="#elsewhere"'))
    assert check.status == "invalid"
    assert 'URI=""' in check.detail


def test_an_entity_is_never_expanded_into_a_signed_alert(rsa_signer: tuple[bytes, bytes]) -> None:
    # Expanded, &place; would give back exactly the signed headline; the hardened parser
    # leaves it unresolved, so the signature cannot hold for it.
    signed = sign(dump(message()), *rsa_signer)
    dtd = b'?>\n<!DOCTYPE alert [<!ENTITY place "King">]>\n'
    entity = signed.replace(b"?>\n", dtd, 1).replace(b"Gas leak at King", b"Gas leak at &place;")
    assert entity.count(b"&place;") == 1
    check = verify(entity)
    assert check.status == "invalid"
    assert "place" in check.detail


def test_not_xml_is_invalid_without_raising() -> None:
    assert verify(b"<alert><unclosed></alert>").status == "invalid"


def test_countersignature_over_an_earlier_signature_verifies(
        rsa_signer: tuple[bytes, bytes]) -> None:
    second = key_and_cert("relay.vigil.test", rsa.generate_private_key(65537, 2048))
    twice = sign(sign(dump(message()), *rsa_signer), *second)
    check = verify(twice)
    assert check.status == "valid", check.detail
    assert check.signer is not None
    assert "CN=alerts.vigil.test" in check.signer and "CN=relay.vigil.test" in check.signer
    # The relay's signature covers the first one, so it holds as XML-DSig defines it: only
    # when the second <ds:Signature> itself is the one checked (SignxmlHooks._get_signature).
    assert "Signature 2 of 2 is intact: RSA_SHA256" in check.detail
    assert "Signature 1 of 2 is intact with the other signatures set aside" in check.detail


def test_canada_naads_sample_both_signatures_hold_when_set_side_by_side() -> None:
    # Two RSA-SHA1 signatures sit side by side: Pelmorex's NAAD System (inclusive c14n) and
    # Environment Canada (exclusive c14n). Both DigestValues are the digest of the alert with
    # *both* signatures removed, so under XML-DSig's own rule (the enveloped-signature transform
    # drops only the signature being checked) neither digest matches. Each does match once the
    # other signature is set aside, and each SignatureValue is correct for its key, so the
    # alert's content is exactly what both signed: verify() reports valid, names both
    # certificates (long expired, trust chain not checked) and flags SHA-1 as weak.
    check = verify((SAMPLES / "canada_signed.cap").read_bytes())
    assert check.status == "valid", check.detail
    assert check.signer is not None
    assert "CN=dss1.pelmorex.com" in check.signer and "O=Pelmorex Media Inc." in check.signer
    assert "CN=meteo.gc.ca" in check.signer and "O=Environment Canada" in check.signer
    assert check.detail.count("with the other signatures set aside") == 2
    assert "SHA-1, weak" in check.detail and "expired now" in check.detail


def test_canada_naads_sample_tampered_is_invalid() -> None:
    data = (SAMPLES / "canada_signed.cap").read_bytes()
    tampered = data.replace(b"<headline>snowfall warning", b"<headline>snowfall warnings")
    assert tampered != data
    check = verify(tampered)
    assert check.status == "invalid"
    assert check.detail.count("Digest mismatch") == 2


def test_usgs_earthquake_sample_is_valid_with_a_bare_key() -> None:
    # RSA-SHA1 with inclusive c14n "#WithComments" and only an RSAKeyValue (no certificate):
    # intact, so valid, but there is no certificate to name a signer by; the detail gives the
    # key's SHA-256 fingerprint instead. (It only verifies because hub.cap.signature canonicalises
    # SignedInfo from a standalone copy: libxml2 2.14 wrongly adds xmlns="" to grandchildren of
    # an inclusive-c14n subtree, which made signxml reject this correct signature.)
    check = verify((SAMPLES / "earthquake_signed.cap").read_bytes())
    assert check.status == "valid", check.detail
    assert check.signer is None
    assert "bare public key" in check.detail and "SHA-1, weak" in check.detail
    assert "sha256:df3fb73b2bf8aed4169e42b2fc0fc2babd5d7989786da6a7e1a5ea06eb16030b" in check.detail


def test_usgs_earthquake_sample_tampered_is_invalid() -> None:
    data = (SAMPLES / "earthquake_signed.cap").read_bytes()
    tampered = data.replace(b"magnitude 1.3", b"magnitude 7.3")
    assert tampered != data
    assert verify(tampered).status == "invalid"


def test_signing_keeps_the_document_a_cap_alert(rsa_signer: tuple[bytes, bytes]) -> None:
    root = etree.fromstring(sign(dump(message()), *rsa_signer))
    assert root.tag == f"{{{NS_12}}}alert"
    assert root.findtext(f"{{{NS_12}}}identifier") == "VIGIL-1"
