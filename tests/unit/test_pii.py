"""Lab 18: the Comprehend PII stand-in (validators, response shape) and the notebook's
#@save redaction and evaluation code, against hand-worked values."""

from __future__ import annotations

import pytest

from labkit import LabKitError, lessons
from labkit.standins import comprehend_pii as pii

lesson = lessons.load("18-comprehend-pii")


def detect(text: str, language: str = "en") -> list[dict]:
    return pii.detect_pii_entities(Text=text, LanguageCode=language)["Entities"]


# ---------------------------------------------------------------- the stand-in
@pytest.mark.parametrize("number", ["4111 1111 1111 1111", "5555-5555-5555-4444",
                                    "378282246310005", "6011111111111117"])
def test_luhn_accepts_published_test_cards(number):
    assert pii.luhn_valid(number)


@pytest.mark.parametrize("number", ["4111 1111 1111 1112", "1234567812345678", "12a4", "7"])
def test_luhn_rejects_wrong_check_digits_and_junk(number):
    assert not pii.luhn_valid(number)


def test_iban_check_digits():
    assert pii.iban_valid("GB82 WEST 1234 5698 7654 32")
    assert pii.iban_valid("DE89370400440532013000")
    assert not pii.iban_valid("GB83 WEST 1234 5698 7654 32")  # check digits off by one
    assert not pii.iban_valid("GB82 WEST")


@pytest.mark.parametrize("ssn,ok", [("078-05-1120", True), ("000-12-3456", False),
                                    ("666-12-3456", False), ("912-12-3456", False),
                                    ("123-00-4567", False), ("123-45-0000", False),
                                    ("123456789", False)])
def test_ssn_format_rules(ssn, ok):
    assert pii.ssn_format_valid(ssn) is ok


def test_detect_returns_comprehend_shape_and_slices():
    text = "Hello Mary Carter, your card 4111 1111 1111 1111 and mail mary@example.com."
    entities = detect(text)
    found = {e["Type"]: text[e["BeginOffset"]:e["EndOffset"]] for e in entities}
    assert found == {"NAME": "Mary Carter", "CREDIT_DEBIT_NUMBER": "4111 1111 1111 1111",
                     "EMAIL": "mary@example.com"}
    assert [e["Score"] for e in entities] == [0.85, 0.95, 0.99]
    for e in entities:
        assert set(e) == {"Score", "Type", "BeginOffset", "EndOffset"}


def test_spanish_cue_and_offsets_are_code_points():
    text = "Soy Lucía García, teléfono +34 612 345 678."
    got = [(e["Type"], text[e["BeginOffset"]:e["EndOffset"]]) for e in detect(text, "es")]
    assert got == [("NAME", "Lucía García"), ("PHONE", "+34 612 345 678")]


def test_luhn_failure_needs_a_card_cue_and_scores_low():
    assert detect("ref 4111 1111 1111 1112") == []
    [e] = detect("my card is 4111 1111 1111 1112")
    assert e["Type"] == "CREDIT_DEBIT_NUMBER" and e["Score"] == 0.4


def test_lone_first_name_scores_by_cue():
    assert [e["Score"] for e in detect("Ask Jordan about it")] == [0.55]
    assert [e["Score"] for e in detect("my name is Jordan")] == [0.7]
    assert [e["Score"] for e in detect("Regards, Oluwaseun")] == [0.65]
    assert detect("Oluwaseun wrote this") == []  # unknown name, no cue: missed


def test_contains_pii_keeps_best_score_per_type_and_english_only():
    labels = pii.contains_pii_entities(Text="Call 206-555-0100 or email a@example.org",
                                       LanguageCode="en")["Labels"]
    assert labels == [{"Name": "EMAIL", "Score": 0.99}, {"Name": "PHONE", "Score": 0.95}]
    with pytest.raises(LabKitError, match="'en' only"):
        pii.contains_pii_entities(Text="Llame al +34 612 345 678", LanguageCode="es")


def test_unsupported_language_and_empty_text_raise():
    with pytest.raises(LabKitError, match="'fr'"):
        detect("Bonjour", "fr")
    with pytest.raises(LabKitError, match="1 byte to 100 KB"):
        detect("")


def test_data_set_labels_are_inside_texts_and_both_languages_present():
    rows = pii.load_messages()
    assert len(rows) == 150 and {r["language"] for r in rows} == {"en", "es"}
    for row in rows:
        for e in row["entities"]:
            value = row["text"][e["BeginOffset"]:e["EndOffset"]]
            assert value and value == value.strip()
            if e["Type"] == "INTERNATIONAL_BANK_ACCOUNT_NUMBER":
                assert pii.iban_valid(value)


# ---------------------------------------------------------------- the notebook's lesson
def test_redact_both_modes_and_type_filter():
    text = "Jane Doe, 4111 1111 1111 1111"
    ents = [{"Type": "NAME", "BeginOffset": 0, "EndOffset": 8, "Score": 0.9},
            {"Type": "CREDIT_DEBIT_NUMBER", "BeginOffset": 10, "EndOffset": 29, "Score": 0.9}]
    assert lesson.redact(text, ents) == "[NAME], [CREDIT_DEBIT_NUMBER]"
    assert lesson.redact(text, ents, mask_mode="MASK", mask_character="#") == (
        "#### ###, #### #### #### ####")
    assert lesson.redact(text, ents, entity_types=["NAME"]) == "[NAME], 4111 1111 1111 1111"


def test_redact_rejects_bad_config_and_overlaps():
    ents = [{"Type": "NAME", "BeginOffset": 0, "EndOffset": 4}]
    with pytest.raises(LabKitError, match="MaskCharacter"):
        lesson.redact("Jane", ents, mask_mode="MASK", mask_character="x")
    with pytest.raises(LabKitError, match="MaskMode"):
        lesson.redact("Jane", ents, mask_mode="HASH")
    with pytest.raises(LabKitError, match="overlaps"):
        lesson.redact("Jane Doe", ents + [{"Type": "NAME", "BeginOffset": 2, "EndOffset": 8}])


def test_evaluate_counts_by_hand():
    gold = [[{"Type": "NAME", "BeginOffset": 0, "EndOffset": 10},
             {"Type": "EMAIL", "BeginOffset": 20, "EndOffset": 30}]]
    pred = [[{"Type": "NAME", "BeginOffset": 0, "EndOffset": 4, "Score": 0.9},  # 4/10 < half
             {"Type": "EMAIL", "BeginOffset": 20, "EndOffset": 30, "Score": 0.9},
             {"Type": "PHONE", "BeginOffset": 40, "EndOffset": 50, "Score": 0.9}]]
    counts = lesson.evaluate(pred, gold)
    assert (counts["NAME"].tp, counts["NAME"].fp, counts["NAME"].fn) == (0, 1, 1)
    assert (counts["EMAIL"].tp, counts["EMAIL"].fp, counts["EMAIL"].fn) == (1, 0, 0)
    assert counts["PHONE"].precision == 0.0 and counts["PHONE"].recall == 1.0
    total = lesson.micro_average(counts)
    assert (total.tp, total.fp, total.fn) == (1, 2, 1)
    with pytest.raises(LabKitError):
        lesson.evaluate(pred, [])


def test_match_rules_half_overlap_same_type_and_one_match_per_gold():
    gold = [{"Type": "NAME", "BeginOffset": 0, "EndOffset": 10}]
    half = {"Type": "NAME", "BeginOffset": 5, "EndOffset": 12, "Score": 0.5}  # 5 of 10
    wrong_type = {"Type": "ADDRESS", "BeginOffset": 0, "EndOffset": 10, "Score": 0.99}
    assert lesson.match([half], gold) == [("tp", half)]
    assert lesson.match([wrong_type], gold) == [("fp", wrong_type), ("fn", gold[0])]
    # two predictions for one name: the more confident one matches, the other is a FP
    strong = {"Type": "NAME", "BeginOffset": 0, "EndOffset": 10, "Score": 0.9}
    assert lesson.match([half, strong], gold) == [("tp", strong), ("fp", half)]
    # a detector that finds nothing has recall 0, not "no errors"
    counts = lesson.evaluate([[]], [gold])
    assert counts["NAME"].recall == 0.0 and counts["NAME"].fn == 1
