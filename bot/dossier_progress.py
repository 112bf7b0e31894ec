"""Where a dossier stands against its product set's checklist, tier by tier ("needed to file
2/2, for 3★ 1/2, 1 sent back") and what to do next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.rules import Requirement, Tier, rules
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
    """A dossier's checklist (in checklist order: by tier) and its counts."""

    lines: list[DocumentLine]

    def in_tier(self, tier: Tier) -> list[DocumentLine]:
        return [line for line in self.lines if line.requirement.tier is tier]

    def done_in(self, tier: Tier) -> int:
        return sum(line.done for line in self.in_tier(tier))

    @property
    def required(self) -> list[DocumentLine]:
        """The documents needed to file."""
        return self.in_tier(Tier.TO_FILE)

    @property
    def required_done(self) -> int:
        return self.done_in(Tier.TO_FILE)

    @property
    def needed(self) -> list[DocumentLine]:
        """The documents needed to file and those needed for 3★."""
        return self.required + self.in_tier(Tier.FOR_3_STARS)

    @property
    def missing_for_3_stars(self) -> list[DocumentLine]:
        return [line for line in self.in_tier(Tier.FOR_3_STARS) if not line.done]

    @property
    def next_line(self) -> DocumentLine | None:
        """What to do next: a document sent back, else the first missing one needed to file,
        else the first missing one needed for 3★; None when none is left."""
        for wanted in (
            lambda line: line.sent_back,
            lambda line: not line.done and line.requirement.tier is Tier.TO_FILE,
            lambda line: not line.done and line.requirement.tier is Tier.FOR_3_STARS,
        ):
            found = [line for line in self.lines if wanted(line)]
            if found:
                return found[0]
        return None

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
