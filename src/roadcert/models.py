"""Every table of every domain, imported once so that the metadata is complete."""

from roadcert.accounts import models as accounts_models
from roadcert.audit import models as audit_models
from roadcert.certificates import models as certificates_models
from roadcert.crypto import models as crypto_models
from roadcert.db import Base
from roadcert.registry import models as registry_models
from roadcert.sharing import models as sharing_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "audit_models",
    "certificates_models",
    "crypto_models",
    "metadata",
    "registry_models",
    "sharing_models",
]
