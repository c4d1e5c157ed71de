"""What the configuration calls the ids the call book stores, for the exports.

The call book keeps structure ids, motive keys and who answered (a referent's
or a technician's id); a manager reads their names. Motive labels are
written to be spoken with their article ("Pour un incident technique,
tapez 1."): a spreadsheet cell shows the motive's title ("Incident
technique"), and every name starts with a capital.
"""

from __future__ import annotations

from callbook.reports.history import Names
from ivr.config.document import ConfigDocument


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def export_names(doc: ConfigDocument) -> Names:
    """The names of `doc`'s motives, structures, referents and technicians, by id."""
    people = {referent.id: referent.name for referent in doc.referents}
    people.update((tech.id, tech.name) for tech in doc.technicians)
    return Names(
        motives={motive.key: motive.title for motive in doc.motives},
        structures={s.id: _capitalised(s.name) for s in doc.structures},
        people=people,
    )
