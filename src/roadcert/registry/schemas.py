"""Input and output shapes of the ledger, shared by the JSON API and the CLI.

Structural rules (types, required fields, dates) are enforced here and refuse the request;
identifier and code-table rules are data quality (quality.py): the record is kept and listed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, max_length=30)]
Number = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
# Ids stay within PostgreSQL's integer, so an absurd id is a 422 and not a database error.
MAX_ID = 2_147_483_647
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthorityIn(_In):
    """A new issuing authority (核发机关)."""

    name: Text
    uscc: Annotated[str, StringConstraints(strip_whitespace=True, min_length=18, max_length=18)]
    region_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
    number_prefix: Annotated[str, StringConstraints(min_length=1, max_length=4)]
    ecert_enabled: bool = False


class OperatorIn(_In):
    """A new operator (经营业户)."""

    authority_id: RecordId
    name: Text
    uscc: Code | None = None
    address: str = Field(default="", max_length=300)
    region_code: Code
    economic_type: Code | None = None
    status: Code = "1"


class OperatorChange(_In):
    """A 变更 of an operator: only the fields given change."""

    name: Text | None = None
    uscc: Code | None = None
    address: str | None = Field(default=None, max_length=300)
    region_code: Code | None = None
    economic_type: Code | None = None
    status: Code | None = None


class LicenceIn(_In):
    """A new operating licence (经营许可证, 新增)."""

    operator_id: RecordId
    authority_id: RecordId
    type_code: Annotated[str, StringConstraints(min_length=21, max_length=21)]
    number: Number
    business_scopes: list[Code] = Field(min_length=1)
    valid_from: date
    valid_until: date
    issue_date: date


class LicenceChange(_In):
    """A 变更 of a licence."""

    business_scopes: list[Code] | None = Field(default=None, min_length=1)


class Renewal(_In):
    """A 换证 or 审验: the new validity (and for vehicles the new review date and grade)."""

    valid_from: date | None = None
    valid_until: date | None = None
    review_valid_until: date | None = None
    technical_grade: Code | None = None


class VehicleIn(_In):
    """A new vehicle and its 道路运输证 (新增)."""

    operator_id: RecordId
    authority_id: RecordId
    licence_id: RecordId | None = None
    plate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=12)]
    plate_color: Code
    vehicle_type: Code
    brand_model: str = Field(default="", max_length=100)
    seats: int | None = Field(default=None, ge=0, le=200)
    tonnage_kg: int | None = Field(default=None, ge=0, le=200_000)
    length_mm: int = Field(gt=0, le=30_000)
    width_mm: int = Field(gt=0, le=5_000)
    height_mm: int = Field(gt=0, le=5_000)
    business_scopes: list[Code] = Field(default_factory=list)
    technical_grade: Code = "1"
    status: Code = "10"
    ride_hailing: bool = False
    transport_number: Number
    issue_date: date
    valid_from: date
    valid_until: date
    review_valid_until: date | None = None


class VehicleChange(_In):
    """A 变更 of a vehicle."""

    plate: str | None = Field(default=None, max_length=12)
    plate_color: Code | None = None
    vehicle_type: Code | None = None
    brand_model: str | None = Field(default=None, max_length=100)
    seats: int | None = Field(default=None, ge=0, le=200)
    tonnage_kg: int | None = Field(default=None, ge=0, le=200_000)
    length_mm: int | None = Field(default=None, gt=0, le=30_000)
    width_mm: int | None = Field(default=None, gt=0, le=5_000)
    height_mm: int | None = Field(default=None, gt=0, le=5_000)
    business_scopes: list[Code] | None = None
    status: Code | None = None


class QualificationIn(_In):
    """One 从业资格类别 with its validity."""

    category: Code
    first_issued: date | None = None
    valid_from: date
    valid_until: date


class PractitionerIn(_In):
    """A new practitioner with their qualification categories (新增)."""

    authority_id: RecordId
    name: PersonName
    id_number: Code
    id_type: Code = "111"
    sex: Code
    birth_date: date
    nationality: str = Field(default="中华人民共和国", max_length=50)
    address: str = Field(default="", max_length=300)
    driving_class: Code | None = None
    certificate_number: Code | None = None
    qualifications: list[QualificationIn] = Field(min_length=1)


class PractitionerChange(_In):
    """A 变更 of a practitioner's personal data."""

    name: PersonName | None = None
    address: str | None = Field(default=None, max_length=300)
    nationality: str | None = Field(default=None, max_length=50)
    driving_class: Code | None = None


class EntryIn(_In):
    """A continuing-education or integrity-assessment entry (继续教育 / 诚信考核签注)."""

    entry_date: date
    text: Text


class FindingOut(BaseModel):
    """A data-quality finding as the API shows it."""

    field: str
    rule: str
    message: str
    value: str | None = None
    severity: str
