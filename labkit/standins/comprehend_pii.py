"""A rule-based stand-in for Amazon Comprehend's PII detection, and lab 18's labelled data.

Stands in for ``comprehend.detect_pii_entities`` / ``contains_pii_entities`` on the ``local``
backend (moto's Comprehend returns the same canned entities for any text). It takes the same
keyword arguments and answers in the same shape, so the lab's cells call either one. It is
not Comprehend's model: patterns checked like a card network or bank would check them (Luhn,
IBAN mod 97, SSN issuing rules), and a small first-name list with cue phrases for ``NAME``.
A ``Score`` encodes the rule's evidence (a checksum plus a cue word scores higher than a bare
pattern). Offsets are Python string indices (code points); ``EndOffset`` is exclusive.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from labkit.errors import LabKitError
from labkit.paths import DATA_DIR

MESSAGES_JSONL: Path = DATA_DIR / "support-messages" / "messages.jsonl"
"""Synthetic support messages with labelled PII spans (see the folder's README)."""

FIRST_NAMES = frozenset("""
James Mary Robert Linda Michael Sarah David Emily Daniel Laura Thomas Karen Kevin Rachel
Brian Megan John Jennifer William Elizabeth Richard Susan Joseph Jessica Charles Anna Jordan
Madison Harper Austin Lucía Lucia Javier Carmen Alejandro Elena Pablo Marta Sergio María
Maria José Jose Juan Ana Carlos Isabel Miguel Sofía Sofia Diego Paula
""".split())
"""The only first names the stand-in knows: every other name is missed."""

TITLES = ("Mr.", "Mrs.", "Ms.", "Dr.", "Sr.", "Sra.", "Srta.", "Dña.", "D.")
CUES = ("my name is", "this is", "me llamo", "soy", "a nombre de", "ask for",
        "account holder", "regards,", "thanks,", "gracias,")
_CAP = r"[A-ZÁÉÍÓÚÑ][a-záéíóúñü]+"
_CUE_WORDS = {"CREDIT_DEBIT_NUMBER": r"card|tarjeta|visa|mastercard|amex",
              "SSN": r"ssn|social security|seguridad social",
              "PHONE": r"phone|call|tel|teléfono|telefono|llám|móvil|movil"}
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November"
           "|December")
_MESES = ("enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre"
          "|diciembre")
RULES = {
    "EMAIL": r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER":
        r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
    "CREDIT_DEBIT_NUMBER": r"(?<![\d-])(?:\d{4}[ -]?\d{6}[ -]?\d{5}|\d{4}(?:[ -]?\d{4}){3}"
                           r"|\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,3})(?![\d-])",
    "SSN": r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])",
    "PHONE": r"(?<![\w+])(?:\+1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)"
             r"|\+34 ?[6789]\d{2}(?: ?\d{3}){2}(?!\d)|\+34 ?[89]\d(?: ?\d{2}){3}(?!\d)",
    "DATE_TIME": rf"\b(?:{_MONTHS}) \d{{1,2}}, \d{{4}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b"
                 rf"|\b\d{{1,2}}/\d{{1,2}}/\d{{4}}\b|\b\d{{1,2}} de (?:{_MESES}) de \d{{4}}\b",
    "ADDRESS": rf"\b\d{{1,5}} (?:{_CAP} ){{1,3}}(?:Street|St\.|Avenue|Ave\.|Road|Rd\.|Lane"
               rf"|Drive|Boulevard|Blvd\.)(?:, {_CAP}(?: {_CAP})?, [A-Z]{{2}} \d{{5}})?"
               rf"|\b(?:Calle|Avenida|Paseo|Plaza)(?: (?:de|del|la|las|los|{_CAP}))+ "
               rf"\d{{1,4}}(?:, \d{{5}} {_CAP})?",
}
"""One regular expression per entity type; a candidate is then scored (or dropped)."""


def luhn_valid(number: str) -> bool:
    """True when the digits of ``number`` (spaces and hyphens allowed) pass the Luhn check."""
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2 or any(not (c.isdigit() or c in " -") for c in number):
        return False
    total = sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d)
                for i, d in enumerate(reversed(digits)))
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """True when ``iban`` has valid ISO 13616 check digits (mod 97 == 1); spaces ignored."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        return False
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def ssn_format_valid(ssn: str) -> bool:
    """``AAA-GG-SSSS`` with area not 000, 666 or 900-999, group not 00, serial not 0000."""
    m = re.fullmatch(r"(\d{3})-(\d{2})-(\d{4})", ssn)
    if not m:
        return False
    area, group, serial = (int(g) for g in m.groups())
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


def _score(etype: str, value: str, before: str) -> float | None:
    """The rule's confidence for one candidate, or None to drop it."""
    cue = etype in _CUE_WORDS and re.search(_CUE_WORDS[etype], before) is not None
    if etype == "INTERNATIONAL_BANK_ACCOUNT_NUMBER":
        return 0.97 if iban_valid(value) else None
    if etype == "CREDIT_DEBIT_NUMBER":  # a mistyped card next to "card" is still a card
        return (0.95 if cue else 0.8) if luhn_valid(value) else (0.4 if cue else None)
    if etype == "SSN":
        return (0.95 if cue else 0.6) if ssn_format_valid(value) else (0.35 if cue else None)
    if etype == "PHONE":
        return 0.95 if cue else 0.75
    if etype == "DATE_TIME":
        return 0.6 if "/" in value else 0.9  # 03/04/2025: March 4 or 3 April?
    if etype == "ADDRESS":
        return 0.9 if "," in value else 0.7
    return 0.99  # EMAIL


def _names(text: str) -> list[dict[str, Any]]:
    """NAME candidates: a known first name, or a capitalised word after a title or cue."""
    found: list[dict[str, Any]] = []
    end_of_last = 0
    for m in re.finditer(rf"(?<![\w.])(?=({_CAP})((?: {_CAP}){{0,2}}))", text):
        first, rest = m.group(1), m.group(2)
        start, end = m.start(), m.start() + len(first) + len(rest)
        if start < end_of_last:
            continue
        before = text[max(0, start - 20):start]
        titled = any(before.rstrip().endswith(t) for t in TITLES)
        cued = re.search(rf"(?:{'|'.join(CUES)})\s*$", before, re.IGNORECASE) is not None
        if first in FIRST_NAMES and rest:
            score = 0.9 if titled or cued else 0.85
        elif first in FIRST_NAMES:
            score = 0.7 if cued else 0.55  # a lone first name ("Jordan") is weak evidence
        elif titled or cued:
            score = 0.65  # unknown word, but a title or cue says a name follows
        else:
            continue
        found.append({"Score": score, "Type": "NAME", "BeginOffset": start, "EndOffset": end})
        end_of_last = end
    return found


def detect_pii_entities(*, Text: str, LanguageCode: str) -> dict[str, Any]:  # noqa: N803
    """``{"Entities": [{"Score", "Type", "BeginOffset", "EndOffset"}, ...]}``, like Comprehend.

    Overlapping candidates keep the higher score (then the longer span).
    """
    if LanguageCode not in ("en", "es"):
        raise LabKitError(f"LanguageCode {LanguageCode!r} is not supported for PII.",
                          "DetectPiiEntities takes 'en' or 'es'; route other text elsewhere.")
    if not Text or len(Text.encode("utf-8")) > 100_000:
        raise LabKitError("Text must be 1 byte to 100 KB of UTF-8.",
                          "skip empty documents; split large ones or use a PII job.")
    candidates = _names(Text)
    for etype, pattern in RULES.items():
        for m in re.finditer(pattern, Text):
            score = _score(etype, m.group(0), Text[max(0, m.start() - 30):m.start()].lower())
            if score is not None:
                candidates.append({"Score": score, "Type": etype,
                                   "BeginOffset": m.start(), "EndOffset": m.end()})
    candidates.sort(key=lambda e: (-e["Score"], e["BeginOffset"] - e["EndOffset"]))
    kept: list[dict[str, Any]] = []
    for c in candidates:
        if all(c["EndOffset"] <= k["BeginOffset"] or c["BeginOffset"] >= k["EndOffset"]
               for k in kept):
            kept.append(c)
    return {"Entities": sorted(kept, key=lambda e: e["BeginOffset"])}


def contains_pii_entities(*, Text: str, LanguageCode: str) -> dict[str, Any]:  # noqa: N803
    """``{"Labels": [{"Name", "Score"}, ...]}``: each type found, with its best score."""
    if LanguageCode != "en":
        raise LabKitError(f"ContainsPiiEntities takes LanguageCode 'en' only, not "
                          f"{LanguageCode!r}.", "use DetectPiiEntities for Spanish text.")
    best: dict[str, float] = {}
    for e in detect_pii_entities(Text=Text, LanguageCode="en")["Entities"]:
        best[e["Type"]] = max(best.get(e["Type"], 0.0), e["Score"])
    return {"Labels": [{"Name": k, "Score": v} for k, v in sorted(best.items())]}


def load_messages(path: Path = MESSAGES_JSONL) -> list[dict[str, Any]]:
    """The labelled messages: ``[{"id", "language", "text", "entities"}, ...]``."""
    if not path.is_file():
        raise LabKitError(f"The support-messages data set is missing: {path}.",
                          "restore it with 'git checkout -- data/support-messages'.")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line]
