"""Reading TwiML in tests: parse the XML, never compare strings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


@dataclass
class TwiML:
    root: ET.Element

    @classmethod
    def parse(cls, text: str | bytes) -> TwiML:
        root = ET.fromstring(text)
        assert root.tag == "Response", root.tag
        return cls(root)

    @property
    def verbs(self) -> list[str]:
        return [child.tag for child in self.root]

    @property
    def says(self) -> list[str]:
        return [el.text or "" for el in self.root.iter("Say")]

    @property
    def spoken(self) -> str:
        return " ".join(self.says)

    def find(self, tag: str) -> ET.Element | None:
        return self.root.find(f".//{tag}")

    def first(self, tag: str) -> ET.Element:
        found = self.find(tag)
        assert found is not None, f"no <{tag}> in {self.verbs}"
        return found

    @property
    def dialed(self) -> list[str]:
        return [(n.text or "").strip() for n in self.root.iter("Number")]

    @property
    def hangs_up(self) -> bool:
        return bool(self.verbs) and self.verbs[-1] == "Hangup"
