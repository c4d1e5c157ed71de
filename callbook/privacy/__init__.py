"""Personal data in the call book: anonymisation, erasure and access per caller.

Call data is personal data (GDPR). The retention purge
(`callbook.reports.retention`) and the erasure of one caller
(`callbook.privacy.erasure`) clear it the same way (`callbook.privacy.anonymise`):
rows that reports count (calls, motives, tickets, callbacks) stay with their
personal fields blanked, the rest goes, and voicemail recordings are queued
for deletion at Twilio (`callbook.privacy.recordings`). `callbook.privacy.access`
gathers everything held about one number.

A caller is named in the audit log and the deletion queue only by
`subject_hash`: a short SHA-256 of the E.164 number, which says whether two
entries concern the same number without showing it.
"""

from __future__ import annotations

import hashlib

ERASED = "[effacé]"
"""What replaces an erased number inside free text and stored documents."""
HASH_LENGTH = 16


def subject_hash(number: str) -> str:
    """The SHA-256 hex prefix that stands for `number` (E.164) in logs and queues."""
    return hashlib.sha256(number.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def placeholder(row_id: int) -> str:
    """A unique stand-in for a Twilio SID that no longer exists (never a real SID)."""
    return f"erased-{row_id}"
