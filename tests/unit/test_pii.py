"""Unit tests of labkit.pii: validators, detector output shape, redaction, evaluation."""

from __future__ import annotations

import pytest

from labkit import LabKitError, pii


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
    entities = pii.detect_pii_entities(text)["Entities"]
    found = {e["Type"]: text[e["BeginOffset"]:e["EndOffset"]] for e in entities}
    assert found == {"NAME": "Mary Carter", "CREDIT_DEBIT_NUMBER": "4111 1111 1111 1111",
                     "EMAIL": "mary@example.com"}
    for e in entities:
        assert set(e) == {"Score", "Type", "BeginOffset", "EndOffset"}
        assert 0 < e["Score"] <= 1


def test_spanish_cue_and_offsets_are_code_points():
    text = "Soy Lucía García, teléfono +34 612 345 678."
    entities = pii.detect_pii_entities(text, "es")["Entities"]
    got = [(e["Type"], text[e["BeginOffset"]:e["EndOffset"]]) for e in entities]
    assert got == [("NAME", "Lucía García"), ("PHONE", "+34 612 345 678")]


def test_luhn_failure_needs_a_card_cue_and_scores_low():
    assert pii.detect_pii_entities("ref 4111 1111 1111 1112")["Entities"] == []
    [e] = pii.detect_pii_entities("my card is 4111 1111 1111 1112")["Entities"]
    assert e["Type"] == "CREDIT_DEBIT_NUMBER" and e["Score"] < 0.5
    assert pii.detect_pii_entities("my card is 4111 1111 1111 1112", min_score=0.5) == {
        "Entities": []}


def test_contains_pii_keeps_best_score_per_type():
    labels = pii.contains_pii_entities("Call 206-555-0100 or email a@example.org")["Labels"]
    assert [lab["Name"] for lab in labels] == ["EMAIL", "PHONE"]
    assert all(set(lab) == {"Name", "Score"} for lab in labels)
    with pytest.raises(LabKitError, match="'en' only"):
        pii.contains_pii_entities("Llame al +34 612 345 678", "es")


def test_unsupported_language_and_empty_text_raise():
    with pytest.raises(LabKitError, match="'en'"):
        pii.detect_pii_entities("Bonjour", "fr")
    with pytest.raises(LabKitError, match="empty"):
        pii.detect_pii_entities("")


def test_redact_both_modes_and_type_filter():
    text = "Jane Doe, 4111 1111 1111 1111"
    ents = [{"Type": "NAME", "BeginOffset": 0, "EndOffset": 8, "Score": 0.9},
            {"Type": "CREDIT_DEBIT_NUMBER", "BeginOffset": 10, "EndOffset": 29, "Score": 0.9}]
    assert pii.redact(text, ents) == "[NAME], [CREDIT_DEBIT_NUMBER]"
    assert pii.redact(text, ents, mask_mode="MASK", mask_character="#") == (
        "#### ###, #### #### #### ####")
    assert pii.redact(text, ents, entity_types=["NAME"]) == "[NAME], 4111 1111 1111 1111"


def test_redact_rejects_bad_config_and_overlaps():
    ents = [{"Type": "NAME", "BeginOffset": 0, "EndOffset": 4}]
    with pytest.raises(LabKitError, match="MaskCharacter"):
        pii.redact("Jane", ents, mask_mode="MASK", mask_character="x")
    with pytest.raises(LabKitError, match="MaskMode"):
        pii.redact("Jane", ents, mask_mode="HASH")
    with pytest.raises(LabKitError, match="overlaps"):
        pii.redact("Jane Doe", ents + [{"Type": "NAME", "BeginOffset": 2, "EndOffset": 8}])


def test_evaluate_counts_by_hand():
    gold = [[{"Type": "NAME", "BeginOffset": 0, "EndOffset": 10},
             {"Type": "EMAIL", "BeginOffset": 20, "EndOffset": 30}]]
    pred = [[{"Type": "NAME", "BeginOffset": 0, "EndOffset": 4, "Score": 0.9},  # 4/10 < half
             {"Type": "EMAIL", "BeginOffset": 20, "EndOffset": 30, "Score": 0.9},
             {"Type": "PHONE", "BeginOffset": 40, "EndOffset": 50, "Score": 0.9}]]
    counts = pii.evaluate(pred, gold)
    assert (counts["NAME"].tp, counts["NAME"].fp, counts["NAME"].fn) == (0, 1, 1)
    assert (counts["EMAIL"].tp, counts["EMAIL"].fp, counts["EMAIL"].fn) == (1, 0, 0)
    assert counts["PHONE"].precision == 0.0 and counts["PHONE"].recall == 1.0
    total = pii.micro_average(counts)
    assert (total.tp, total.fp, total.fn) == (1, 2, 1)
    assert total.f1 == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    with pytest.raises(LabKitError):
        pii.evaluate(pred, [])


def test_data_set_labels_are_inside_texts_and_both_languages_present():
    rows = pii.load_messages()
    assert len(rows) == 150 and {r["language"] for r in rows} == {"en", "es"}
    for row in rows:
        for e in row["entities"]:
            value = row["text"][e["BeginOffset"]:e["EndOffset"]]
            assert value == value.strip() and e["Type"] in pii.DETECTED_TYPES
            if e["Type"] == "INTERNATIONAL_BANK_ACCOUNT_NUMBER":
                assert pii.iban_valid(value)


def test_validate_request_uses_botocore_model():
    pii.validate_request("comprehend", "DetectPiiEntities", {"Text": "x", "LanguageCode": "en"})
    with pytest.raises(LabKitError, match="Text"):
        pii.validate_request("comprehend", "DetectPiiEntities", {"LanguageCode": "en"})
    with pytest.raises(LabKitError, match="MaskMode"):
        pii.validate_request("comprehend", "StartPiiEntitiesDetectionJob", {
            "InputDataConfig": {"S3Uri": "s3://b/in"},
            "OutputDataConfig": {"S3Uri": "s3://b/out"},
            "Mode": "ONLY_REDACTION", "DataAccessRoleArn": "arn:aws:iam::1:role/r" * 2,
            "LanguageCode": "en",
            "RedactionConfig": {"PiiEntityTypes": ["ALL"], "MaskMode": "HASH"},
        })
    with pytest.raises(LabKitError, match="no operation"):
        pii.validate_request("comprehend", "DetectPii", {})
