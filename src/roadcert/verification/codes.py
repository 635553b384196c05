"""The 2D code of an e-cert version: a COSE_Sign1 signed on demand by its authority's key."""

from __future__ import annotations

from roadcert.certificates.models import Ecert
from roadcert.crypto import x509
from roadcert.registry.models import Authority
from roadcert.runtime import Services
from roadcert.verification import payload


def code_for(svc: Services, ecert: Ecert) -> bytes:
    """Sign the code of ``ecert`` with its authority's current signing key.

    Codes are made when a face is rendered or shown, not at issuance, so bulk issuance signs
    once per e-cert. The kid names whichever trusted key signed, and a verifier finds it in
    the trust list; the status-list index is the version's own.
    """
    authority = svc.ledger.get(Authority, ecert.authority_id)
    key = svc.keys.signing_key(authority)
    kid = x509.load(key.certificate).key_id
    claims = payload.claims_for(ecert, ecert.status_index)
    return payload.sign(claims, kid, svc.keys.signer(key))


def text_for(svc: Services, ecert: Ecert, host: str) -> str:
    """The text of the QR code: ``HTTPS://<HOST>/R/<BASE32>``."""
    return payload.to_text(code_for(svc, ecert), host)
