"""Patient identifiers are kept only as a keyed hash: enough to group a patient's studies."""

from __future__ import annotations

import hashlib
import hmac


def patient_key(secret: bytes, site: str, patient_id: str) -> str:
    """HMAC-SHA256 of site + patient id; PatientID is per trust, so the site is part of the key."""
    message = f"{site}\x1f{patient_id.strip()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]
