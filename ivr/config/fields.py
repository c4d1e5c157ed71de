"""Field types of the configuration document: phone numbers, codes, ids."""

from __future__ import annotations

import functools
import re
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, BeforeValidator

from callbook.i18n import N_

# National notations are tried against the overseas departments first: their
# prefixes (0262, 0596, 0692…) are theirs alone, while libphonenumber also
# accepts some of them as mainland numbers. Mainland numbers (04 73…) are not
# valid in any overseas plan, so they fall through to FR.
_REGIONS = ("RE", "GP", "MQ", "GF", "YT", "PM", "FR")


def to_e164(value: object) -> str:
    """'04 73 25 83 39' -> '+33473258339'; refuses what is not a valid number."""
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(N_("un numéro de téléphone est obligatoire"))
    for region in _REGIONS:
        try:
            parsed = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"« {value} » n'est pas un numéro de téléphone") from exc
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if value.strip().startswith("+"):
            break  # an international number means the same in every region
    raise ValueError(
        f"« {value} » n'est pas un numéro de téléphone valable "
        "(par exemple 04 73 25 83 39 ou +33473258339)"
    )


@functools.lru_cache(maxsize=4096)
def try_e164(value: str) -> str | None:
    """Normalise a caller number for lookups; None when it is not a phone number.

    Cached: callers call again, and libphonenumber takes tens of microseconds.
    """
    try:
        return to_e164(value)
    except ValueError:
        return None


PhoneNumber = Annotated[str, BeforeValidator(to_e164)]

_DEPARTMENT = re.compile(r"^(?:\d{2,3}|2[AB])$")


def _department(code: str) -> str:
    code = code.strip().upper()
    if not _DEPARTMENT.match(code) or code in {"00", "20"}:
        raise ValueError(f"« {code} » n'est pas un numéro de département (par exemple 63, 2A, 974)")
    return code


DepartmentCode = Annotated[str, BeforeValidator(lambda v: str(v)), AfterValidator(_department)]

_IDENT = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def _identifier(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(
            f"« {value} » n'est pas un identifiant (minuscules, chiffres, « - », « _ », « . »)"
        )
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def _email(value: str) -> str:
    value = value.strip()
    if value and (len(value) > 254 or not _EMAIL.match(value)):
        raise ValueError(f"'{value}' is not an e-mail address")
    return value


EmailAddress = Annotated[str, AfterValidator(_email)]
"""An e-mail address (one mailbox, no display name), or empty."""
