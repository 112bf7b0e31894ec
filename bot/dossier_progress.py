"""Where a dossier stands against its product set's checklist ("5/8 documents, 1 sent back")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.rules import Requirement, rules
from storage.models import Dossier, DossierDocument
from storage.states import SENT_BACK

__all__ = ["DocumentLine", "Progress", "progress"]


@dataclass(frozen=True)
class DocumentLine:
    """One checklist line with the document uploaded for it, if any."""

    requirement: Requirement
    document: DossierDocument | None

    @property
    def code(self) -> str:
        return self.requirement.document.code

    @property
    def uploaded(self) -> bool:
        return self.document is not None

    @property
    def sent_back(self) -> bool:
        return self.document is not None and self.document.status in SENT_BACK

    @property
    def done(self) -> bool:
        return self.uploaded and not self.sent_back


@dataclass(frozen=True)
class Progress:
    """A dossier's checklist and its counts."""

    lines: list[DocumentLine]

    @property
    def required(self) -> list[DocumentLine]:
        return [line for line in self.lines if line.requirement.required]

    @property
    def required_done(self) -> int:
        return sum(line.done for line in self.required)

    @property
    def sent_back(self) -> int:
        return sum(line.sent_back for line in self.lines)

    @property
    def missing_required(self) -> list[DocumentLine]:
        return [line for line in self.required if not line.done]

    @property
    def complete(self) -> bool:
        """Every required document is in and nothing is waiting to be re-uploaded."""
        return not self.missing_required and not self.sent_back


def progress(
    dossier: Dossier, product_set: int, documents: Mapping[str, DossierDocument]
) -> Progress:
    """The checklist of ``product_set`` under the dossier's own rule-set version."""
    checklist = rules(dossier.rules_version).checklist(product_set)
    return Progress([DocumentLine(req, documents.get(req.document.code)) for req in checklist])
