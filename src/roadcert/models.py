"""Every table of every domain, imported once so that the metadata is complete."""

from roadcert.certificates import models as certificates_models
from roadcert.crypto import models as crypto_models
from roadcert.db import Base
from roadcert.registry import models as registry_models

metadata = Base.metadata

__all__ = ["certificates_models", "crypto_models", "metadata", "registry_models"]
