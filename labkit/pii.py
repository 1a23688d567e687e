"""A small, rule-based PII detector that answers in Amazon Comprehend's response shape.

Chapter 18's lab uses it where a real account would call ``comprehend.detect_pii_entities``
(moto's Comprehend returns the same canned entities for any text, so it cannot stand in).
It is deliberately simple and honest about it:

* **Pattern + validator** entities are found by a regular expression and then checked the
  way a card network or bank would: ``CREDIT_DEBIT_NUMBER`` (Luhn checksum),
  ``INTERNATIONAL_BANK_ACCOUNT_NUMBER`` (ISO 13616 mod-97 check digits), ``SSN`` (US format
  rules: area not 000/666/900-999, group not 00, serial not 0000), ``EMAIL``, ``PHONE``
  (North-American and Spanish formats, ``+CC`` international) and ``DATE_TIME``.
* **Context** entities — ``NAME`` and ``ADDRESS`` — come from a small gazetteer of first
  names, titles and cue phrases ("my name is", "me llamo"), and from street-suffix patterns.
  Comprehend uses a trained model here; a gazetteer misses every name it does not list and
  fires on product names that happen to be first names.

``Score`` is not a probability from a model: it encodes how much evidence the rule had
(a checksum and a cue word score higher than a bare pattern), so a confidence threshold has
something real to trade. Offsets are Python string indices (Unicode code points), with
``EndOffset`` one past the last character, so ``text[BeginOffset:EndOffset]`` is the value.

Also here: :func:`redact` (Comprehend's two mask modes), :func:`contains_pii_entities`,
:func:`evaluate` (precision and recall per entity type against labelled spans),
:func:`load_messages` for the course's synthetic data set, and :func:`validate_request`,
which checks a request against botocore's service model without sending it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.errors import LabKitError
from labkit.paths import DATA_DIR
from labkit.requests import validate_request

__all__ = ["validate_request"]  # re-exported: labs call pii.validate_request

MESSAGES_JSONL: Path = DATA_DIR / "support-messages" / "messages.jsonl"
"""The course's synthetic support messages with labelled PII spans."""

LANGUAGES = ("en", "es")
"""Languages Comprehend's PII operations accept (and this detector's cue words cover)."""

MASK_MODES = ("MASK", "REPLACE_WITH_PII_ENTITY_TYPE")
"""``RedactionConfig.MaskMode`` values."""

MASK_CHARACTERS = "!@#$%&*"
"""Characters ``RedactionConfig.MaskCharacter`` allows (pattern ``[!@#$%&*]``)."""

DETECTED_TYPES = (
    "NAME", "ADDRESS", "EMAIL", "PHONE", "CREDIT_DEBIT_NUMBER", "SSN",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "DATE_TIME",
)
"""The Comprehend entity types this detector can return (Comprehend knows 36)."""

Entity = dict[str, Any]
"""One entity: ``{"Score": float, "Type": str, "BeginOffset": int, "EndOffset": int}``."""


# ---------------------------------------------------------------------------------- validators
def luhn_valid(number: str) -> bool:
    """True when the digits of ``number`` (spaces and hyphens ignored) pass the Luhn check."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2 or any(not (c.isdigit() or c in " -") for c in number):
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """True when ``iban`` has valid ISO 13616 check digits (mod 97 == 1); spaces ignored."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        return False
    moved = compact[4:] + compact[:4]
    as_digits = "".join(str(int(c, 36)) for c in moved)
    return int(as_digits) % 97 == 1


def ssn_format_valid(ssn: str) -> bool:
    """True when ``ssn`` is ``AAA-GG-SSSS`` and obeys the US issuing rules.

    Area 000, 666 and 900–999, group 00 and serial 0000 are never issued. A valid format
    says nothing about whether the number was issued, or to whom.
    """
    m = re.fullmatch(r"(\d{3})-(\d{2})-(\d{4})", ssn)
    if not m:
        return False
    area, group, serial = (int(g) for g in m.groups())
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


# ---------------------------------------------------------------------------------- gazetteer
_FIRST_NAMES_TEXT = """
James Mary Robert Linda Michael Sarah David Emily Daniel Laura Thomas Karen Kevin Rachel
Brian Megan John Jennifer William Elizabeth Richard Susan Joseph Jessica Charles Anna Jordan
Madison Harper Austin Lucía Lucia Javier Carmen Alejandro Elena Pablo Marta Sergio María
Maria José Jose Juan Ana Carlos Isabel Miguel Sofía Sofia Diego Paula
"""
FIRST_NAMES = frozenset(_FIRST_NAMES_TEXT.split())
"""First names the detector knows (English and Spanish). Names outside it are missed."""

TITLES = ("Mr.", "Mrs.", "Ms.", "Dr.", "Sr.", "Sra.", "Srta.", "Dña.", "D.")
CUES = (r"my name is", r"this is", r"me llamo", r"soy", r"a nombre de", r"ask for",
        r"account holder", r"regards,", r"thanks,", r"gracias,")

_CAP = r"[A-ZÁÉÍÓÚÑ][a-záéíóúñü]+"
_DIGIT_CONTEXT = {
    "CREDIT_DEBIT_NUMBER": r"card|tarjeta|visa|mastercard|amex",
    "SSN": r"ssn|social security|seguridad social",
    "PHONE": r"phone|call|tel|teléfono|telefono|llám|móvil|movil",
}


@dataclass(frozen=True)
class _Rule:
    type: str
    pattern: re.Pattern[str]


_RULES = (
    _Rule("EMAIL", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    _Rule("INTERNATIONAL_BANK_ACCOUNT_NUMBER",
          re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")),
    _Rule("CREDIT_DEBIT_NUMBER",
          re.compile(r"(?<![\d-])(?:\d{4}[ -]?\d{6}[ -]?\d{5}|\d{4}(?:[ -]?\d{4}){3}"
                     r"|\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,3})(?![\d-])")),
    _Rule("SSN", re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")),
    _Rule("PHONE", re.compile(
        r"(?<![\w+])(?:\+1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)"
        r"|\+34 ?[6789]\d{2}(?: ?\d{3}){2}(?!\d)|\+34 ?[89]\d(?: ?\d{2}){3}(?!\d)")),
    _Rule("DATE_TIME", re.compile(
        r"\b(?:January|February|March|April|May|June|July|August|September|October"
        r"|November|December) \d{1,2}, \d{4}\b|\b\d{4}-\d{2}-\d{2}\b"
        r"|\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{1,2} de (?:enero|febrero|marzo|abril|mayo|junio"
        r"|julio|agosto|septiembre|octubre|noviembre|diciembre) de \d{4}\b")),
    _Rule("ADDRESS", re.compile(
        rf"\b\d{{1,5}} (?:{_CAP} ){{1,3}}(?:Street|St\.|Avenue|Ave\.|Road|Rd\.|Lane|Drive"
        rf"|Boulevard|Blvd\.)(?:, {_CAP}(?: {_CAP})?, [A-Z]{{2}} \d{{5}})?"
        rf"|\b(?:Calle|Avenida|Paseo|Plaza)(?: (?:de|del|la|las|los|{_CAP}))+ \d{{1,4}}"
        rf"(?:, \d{{5}} {_CAP})?")),
)


def _context(text: str, start: int, width: int = 30) -> str:
    return text[max(0, start - width):start].lower()


def _score(etype: str, value: str, text: str, start: int) -> float | None:
    """The rule's confidence for one candidate, or None to drop it."""
    ctx = _context(text, start)
    cue = etype in _DIGIT_CONTEXT and re.search(_DIGIT_CONTEXT[etype], ctx) is not None
    if etype == "EMAIL":
        return 0.99
    if etype == "INTERNATIONAL_BANK_ACCOUNT_NUMBER":
        return 0.97 if iban_valid(value) else None
    if etype == "CREDIT_DEBIT_NUMBER":
        if luhn_valid(value):
            return 0.95 if cue else 0.8
        return 0.4 if cue else None  # a mistyped card next to "card" is still a card
    if etype == "SSN":
        if ssn_format_valid(value):
            return 0.95 if cue else 0.6
        return 0.35 if cue else None
    if etype == "PHONE":
        return 0.95 if cue else 0.75
    if etype == "DATE_TIME":
        return 0.6 if "/" in value else 0.9  # 03/04/2025: March 4 or 3 April?
    if etype == "ADDRESS":
        return 0.9 if "," in value else 0.7
    raise LabKitError(f"No scoring rule for {etype!r}.", "report this as a labkit bug.")


def _names(text: str) -> list[Entity]:
    """NAME candidates from titles, cue phrases and the first-name gazetteer."""
    found: list[Entity] = []
    end_of_last = 0
    # Every capitalised word is a possible start ("Soy Lucía García": the name starts at
    # the second word), so scan with a lookahead instead of consuming runs of words.
    for m in re.finditer(rf"(?<![\w.])(?=({_CAP})((?: {_CAP}){{0,2}}))", text):
        first, rest = m.group(1), m.group(2)
        start, end = m.start(), m.start() + len(first) + len(rest)
        if start < end_of_last:
            continue
        before = text[max(0, start - 20):start]
        titled = any(before.rstrip().endswith(t) for t in TITLES)
        cued = re.search(rf"(?:{'|'.join(CUES)})\s*$", before, re.IGNORECASE) is not None
        known = first in FIRST_NAMES
        if not (known or titled or cued):
            continue
        if known and rest:
            score = 0.9 if (titled or cued) else 0.85
        elif known:
            score = 0.7 if cued else 0.55  # a lone first name ("Jordan") is weak evidence
        else:
            score = 0.65  # unknown word, but a cue says a name follows
        found.append({"Score": score, "Type": "NAME", "BeginOffset": start, "EndOffset": end})
        end_of_last = end
    return found


def detect_pii_entities(
    text: str, language_code: str = "en", *, min_score: float = 0.0,
) -> dict[str, list[Entity]]:
    """Find PII in ``text``; the answer has the shape of Comprehend's DetectPiiEntities.

    Returns ``{"Entities": [{"Score", "Type", "BeginOffset", "EndOffset"}, ...]}`` sorted by
    ``BeginOffset``. Overlapping candidates are resolved in favour of the higher score (then
    the longer span). ``min_score`` drops entities below a confidence threshold — Comprehend
    has no such parameter; callers filter its ``Score`` the same way.
    """
    _check_text(text, language_code)
    candidates: list[Entity] = _names(text)
    for rule in _RULES:
        for m in rule.pattern.finditer(text):
            score = _score(rule.type, m.group(0), text, m.start())
            if score is not None:
                candidates.append({"Score": score, "Type": rule.type,
                                   "BeginOffset": m.start(), "EndOffset": m.end()})
    candidates.sort(key=lambda e: (-e["Score"], -(e["EndOffset"] - e["BeginOffset"])))
    kept: list[Entity] = []
    for cand in candidates:
        if all(cand["EndOffset"] <= k["BeginOffset"] or cand["BeginOffset"] >= k["EndOffset"]
               for k in kept):
            kept.append(cand)
    kept = [e for e in kept if e["Score"] >= min_score]
    return {"Entities": sorted(kept, key=lambda e: e["BeginOffset"])}


def contains_pii_entities(text: str, language_code: str = "en") -> dict[str, list[dict[str, Any]]]:
    """The shape of Comprehend's ContainsPiiEntities: ``{"Labels": [{"Name", "Score"}]}``.

    One label per entity type present, with the highest score seen for it; no offsets.
    Like the real operation, it accepts English only (DetectPiiEntities also takes Spanish).
    """
    if language_code != "en":
        raise LabKitError(
            f"ContainsPiiEntities accepts LanguageCode 'en' only, not {language_code!r}.",
            "use detect_pii_entities (English or Spanish) and look at the types it returns.",
        )
    best: dict[str, float] = {}
    for e in detect_pii_entities(text, language_code)["Entities"]:
        best[e["Type"]] = max(best.get(e["Type"], 0.0), e["Score"])
    return {"Labels": [{"Name": k, "Score": v} for k, v in sorted(best.items())]}


def _check_text(text: str, language_code: str) -> None:
    if language_code not in LANGUAGES:
        raise LabKitError(
            f"Language {language_code!r} is not supported for PII detection.",
            "Comprehend's PII operations accept 'en' (English) and 'es' (Spanish); detect "
            "the language first (DetectDominantLanguage) and route other text elsewhere.",
        )
    if not isinstance(text, str) or not text:
        raise LabKitError(
            "The text is empty (Comprehend requires at least 1 character).",
            "skip empty documents before calling the detector.",
        )
    if len(text.encode("utf-8")) > 100_000:
        raise LabKitError(
            f"The text is {len(text.encode('utf-8')):,} bytes; DetectPiiEntities takes at "
            "most 100 KB of UTF-8.",
            "split the document, or use an asynchronous PII job for large documents.",
        )


# ---------------------------------------------------------------------------------- redaction
def redact(
    text: str,
    entities: Iterable[Entity],
    *,
    mask_mode: str = "REPLACE_WITH_PII_ENTITY_TYPE",
    mask_character: str = "*",
    entity_types: Sequence[str] = ("ALL",),
) -> str:
    """Redact ``entities`` from ``text`` the way a Comprehend PII job's RedactionConfig does.

    ``REPLACE_WITH_PII_ENTITY_TYPE`` turns "Jane Doe" into "[NAME]"; ``MASK`` replaces each
    character with ``mask_character`` and keeps spaces ("**** ***"). ``entity_types`` limits
    redaction to some types (``["ALL"]`` = every type).
    """
    if mask_mode not in MASK_MODES:
        raise LabKitError(
            f"MaskMode {mask_mode!r} does not exist.", f"use one of {list(MASK_MODES)}."
        )
    if len(mask_character) != 1 or mask_character not in MASK_CHARACTERS:
        raise LabKitError(
            f"MaskCharacter {mask_character!r} is not allowed.",
            f"use one character of {MASK_CHARACTERS!r}.",
        )
    wanted = set(entity_types)
    chosen = [e for e in entities if "ALL" in wanted or e["Type"] in wanted]
    out, pos = [], 0
    for e in sorted(chosen, key=lambda e: e["BeginOffset"]):
        b, end = e["BeginOffset"], e["EndOffset"]
        if b < pos or end > len(text) or b >= end:
            raise LabKitError(
                f"Entity {e} overlaps another or lies outside the text "
                f"({len(text)} characters).",
                "pass the entities detected in this very text, without overlaps.",
            )
        out.append(text[pos:b])
        if mask_mode == "MASK":
            out.append("".join(c if c.isspace() else mask_character for c in text[b:end]))
        else:
            out.append(f"[{e['Type']}]")
        pos = end
    return "".join(out) + text[pos:]


# ---------------------------------------------------------------------------------- evaluation
@dataclass
class Counts:
    """True positives, false positives and false negatives for one entity type."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted (no false alarms)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _overlap(a: Entity, b: Entity) -> int:
    return max(0, min(a["EndOffset"], b["EndOffset"]) - max(a["BeginOffset"], b["BeginOffset"]))


def match(predicted: Sequence[Entity], gold: Sequence[Entity]) -> list[tuple[str, Entity]]:
    """Label each predicted and gold entity ``"tp"``, ``"fp"`` or ``"fn"``.

    A prediction matches a gold entity of the same ``Type`` when they overlap by at least
    half of the gold span; each gold entity matches at most one prediction. Returns
    ``[(outcome, entity), ...]``: matched and unmatched predictions, then missed gold ones.
    """
    used: set[int] = set()
    out: list[tuple[str, Entity]] = []
    for p in sorted(predicted, key=lambda e: -e.get("Score", 1.0)):
        hit = None
        for i, g in enumerate(gold):
            need = (g["EndOffset"] - g["BeginOffset"]) / 2
            if i not in used and g["Type"] == p["Type"] and _overlap(p, g) >= need:
                hit = i
                break
        if hit is None:
            out.append(("fp", p))
        else:
            used.add(hit)
            out.append(("tp", p))
    out += [("fn", g) for i, g in enumerate(gold) if i not in used]
    return out


def evaluate(
    predictions: Sequence[Sequence[Entity]], gold: Sequence[Sequence[Entity]],
) -> dict[str, Counts]:
    """Counts per entity type over many documents (``predictions[i]`` against ``gold[i]``)."""
    if len(predictions) != len(gold):
        raise LabKitError(
            f"{len(predictions)} prediction lists for {len(gold)} labelled documents.",
            "pass one list of entities per document, in the same order as the labels.",
        )
    counts: dict[str, Counts] = {}
    for pred, labels in zip(predictions, gold):
        for outcome, entity in match(pred, labels):
            c = counts.setdefault(entity["Type"], Counts())
            setattr(c, outcome, getattr(c, outcome) + 1)
    return dict(sorted(counts.items()))


def micro_average(counts: dict[str, Counts]) -> Counts:
    """All types pooled into one :class:`Counts`."""
    total = Counts()
    for c in counts.values():
        total.tp, total.fp, total.fn = total.tp + c.tp, total.fp + c.fp, total.fn + c.fn
    return total


# ---------------------------------------------------------------------------------- data, requests
def load_messages(path: Path = MESSAGES_JSONL) -> list[dict[str, Any]]:
    """The synthetic support messages: ``[{"id", "language", "text", "entities"}, ...]``."""
    if not path.is_file():
        raise LabKitError(
            f"The support-messages data set is missing: {path} does not exist.",
            "restore it with 'git checkout -- data/support-messages', or rebuild it with "
            "data/support-messages/make_messages.py.",
        )
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for row in rows:
        for e in row["entities"]:
            if not 0 <= e["BeginOffset"] < e["EndOffset"] <= len(row["text"]):
                raise LabKitError(
                    f"Message {row['id']} has a label outside its text: {e}.",
                    "rebuild the data set with make_messages.py.",
                )
    return rows
