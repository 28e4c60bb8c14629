"""The code systems mhi's FHIR resources use, and the table from mhi's claim reason codes (adjudication.md) to
openIMIS's claim rejection reasons — data, documented in docs/fhir.md, so that a client written for openIMIS reads
mhi's ClaimResponse with the codes it knows.
"""

from __future__ import annotations

FHIR_VERSION = "4.0.1"

#: mhi's own code systems (URNs: they name, they are not fetched).
MEMBER_SYSTEM = "urn:mhi:member-no:{scheme}"  # a member number is unique within its scheme
SCHEME_SYSTEM = "urn:mhi:scheme"
BENEFIT_SYSTEM = "urn:mhi:benefit:{scheme}"
CLAIM_SYSTEM = "urn:mhi:claim-ref:{scheme}"
PROVIDER_SYSTEM = "urn:mhi:provider:{scheme}"
REASON_SYSTEM = "urn:mhi:claim-reason"

#: HL7 terminology.
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
BENEFIT_TYPE = "http://terminology.hl7.org/CodeSystem/benefit-type"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
SUBSCRIBER_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"

#: openIMIS's FHIR R4 implementation guide: claim rejection reasons (ClaimItem/ClaimService.rejection_reason).
OPENIMIS_REJECTION_SYSTEM = "https://openimis.github.io/openimis_fhir_r4_ig/CodeSystem/claim-rejection-reasons"
OPENIMIS_REJECTION_DISPLAY = {
    -1: "REJECTED BY MEDICAL OFFICER",
    0: "ACCEPTED",
    1: "INVALID ITEM OR SERVICE",
    2: "NOT IN PRICE LIST",
    3: "NO PRODUCT FOUND",
    4: "CATEGORY LIMITATION",
    5: "FREQUENCY FAILURE",
    6: "DUPLICATED",
    7: "FAMILY",
    8: "DIAGNOSIS NOT IN LIST",
    9: "TARGET DATE",
    16: "QTY OVER LIMIT",
    17: "WAITING PERIOD FAIL",
}

#: mhi reason code (adjudication.md) → openIMIS rejection reason, or None where openIMIS has no equivalent (the
#: adjudication then carries mhi's code alone). Notes of a REDUCED claim are not rejections: openIMIS's 0.
REASON_TO_OPENIMIS: dict[str, int | None] = {
    "UNKNOWN_MEMBER": 7,  # not a valid insurance number
    "UNKNOWN_BENEFIT": 1,  # the item/service is not one of the product's
    "NOT_FOR_PATIENT": 4,  # limitation on patients (men/women, adults/children)
    "PROVIDER_NOT_CONTRACTED": 2,  # not in the price list of the health facility
    "INVALID_DATES": 9,  # target date of provision of care invalid
    "LATE_SUBMISSION": 9,  # openIMIS judges submission delays on the same dates
    "NOT_ENROLLED": 3,  # no active policy for the person
    "WAITING_PERIOD": 17,
    "NOT_COVERED": 3,  # no active policy (unpaid, lapsed, struck off, exited)
    "DUPLICATE": 6,
    "MAX_CASES": 16,  # quantity over the limit of provisions
    "NOTHING_PAYABLE": None,
    "CEILING_PER_YEAR": None,
    "OVERRIDE": -1,  # a claims officer's decision
}


def openimis_coding(reason: str, *, rejected: bool) -> dict | None:
    """The openIMIS coding of an mhi reason code, or None. The notes of an approved or reduced claim
    (TARIFF_CAPPED, CEILING_PER_CASE, CEILING_PER_YEAR) are openIMIS's 0: accepted, valued lower."""
    code = REASON_TO_OPENIMIS.get(reason) if rejected else 0
    if code is None:
        return None
    return {"system": OPENIMIS_REJECTION_SYSTEM, "code": str(code), "display": OPENIMIS_REJECTION_DISPLAY[code]}
