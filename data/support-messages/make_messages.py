"""Build messages.jsonl: synthetic customer-support messages with labelled PII spans.

Every value is made up: names are drawn from short lists, e-mail domains are the reserved
example.com / example.org / example.net, US phone numbers use the fictional 555-01xx range,
card numbers are the public test numbers card networks publish, SSNs are well-known
never-issued or retired numbers, IBANs are the published example IBANs. The labels are the
character offsets where the generator inserted each value (end exclusive, as a Python slice).

Run:  .venv/bin/python data/support-messages/make_messages.py   (deterministic, seed 18)
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 18

FIRST_EN = ["James", "Mary", "Robert", "Linda", "Michael", "Sarah", "David", "Emily",
            "Daniel", "Laura", "Thomas", "Karen", "Kevin", "Rachel", "Brian", "Megan"]
FIRST_RARE = ["Zbigniew", "Oluwaseun", "Thandiwe", "Ximena", "Keoni", "Saoirse"]
LAST = ["Carter", "Nguyen", "Patel", "Okafor", "Brennan", "Whitfield", "Lindqvist",
        "Moreau", "Hayes", "Sorensen", "Abernathy", "Castellano"]
FIRST_ES = ["Lucía", "Javier", "Carmen", "Alejandro", "Elena", "Pablo", "Marta", "Sergio"]
LAST_ES = ["García", "Fernández", "López", "Martínez", "Sánchez", "Romero", "Navarro"]
STREETS = ["Elm", "Maple", "Oak", "Cedar", "Lakeview", "Hillcrest", "Pine", "Willow"]
SUFFIXES = ["Street", "Avenue", "Road", "Lane", "Drive", "Boulevard"]
CITIES = [("Springfield", "IL", "62704"), ("Riverton", "WY", "82501"),
          ("Fairview", "OR", "97024"), ("Madison", "WI", "53703"),
          ("Greenville", "SC", "29601")]
CALLES = ["Calle Mayor", "Calle de Alcalá", "Avenida de la Constitución",
          "Calle Real", "Paseo del Prado"]
CIUDADES = [("28013", "Madrid"), ("41001", "Sevilla"), ("46002", "Valencia"),
            ("08002", "Barcelona")]
CARDS = ["4111 1111 1111 1111", "5555 5555 5555 4444", "4012 8888 8888 1881",
         "3782 822463 10005", "6011 1111 1111 1117", "5105 1051 0510 5100",
         "4111-1111-1111-1111", "4012888888881881"]
SSNS = ["078-05-1120", "219-09-9999", "123-45-6789", "111-22-3333"]
IBANS = ["GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00",
         "ES91 2100 0418 4502 0005 1332", "FR14 2004 1010 0505 0001 3M02 606"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
MESES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
         "septiembre", "octubre", "noviembre", "diciembre"]
PRODUCTS = ["Jordan trail runner", "Madison desk lamp", "Harper tote bag",
            "Austin coffee grinder"]

# {SLOT} is labelled PII; {slot} (lower case) is filler that is not PII.
TEMPLATES_EN = [
    "Hi, this is {NAME}. My card {CREDIT_DEBIT_NUMBER} was charged twice on {DATE_TIME}.",
    "Please update my email to {EMAIL} and my phone to {PHONE}. Thanks, {NAME}",
    "My name is {NAME} and I moved to {ADDRESS}. Please send the replacement there.",
    "Can someone call me back at {PHONE}? It's about order {order}.",
    "I was asked for my SSN {SSN} on the phone. Is that normal? {NAME}",
    "Refund to IBAN {INTERNATIONAL_BANK_ACCOUNT_NUMBER} please, account holder {NAME}.",
    "The {product} I ordered on {DATE_TIME} arrived broken. Contact: {EMAIL}",
    "Ship to {NAME}, {ADDRESS}. Phone {PHONE}.",
    "Hello, my card number is {CREDIT_DEBIT_NUMBER_TYPO}, I think I typed it wrong earlier.",
    "Order {order} still says processing. I paid with the card ending in {last4}.",
    "Dear support, {NAME} here. Your agent promised a call on {DATE_TIME} that never came.",
    "Tracking number {tracking} shows delivered but nothing is at {ADDRESS}.",
    "I love the {product}! Five stars. No need to reply.",
    "Please close my account. Reach me at {EMAIL} or {PHONE}.",
    "my name is {NAME_LOWER} and i cant log in, my email is {EMAIL}",
    "Is the {product} back in stock? Asking for my friend {NAME}.",
    "Social security number for the tax form: {SSN}. Regards, {NAME}",
    "Invoice {invoice} dated {DATE_TIME} is wrong; bill {NAME} instead.",
    "Call {PHONE} between 9 and 5. Ask for {NAME}.",
    "The courier left my parcel near the old mill, not at my door.",
]
TEMPLATES_ES = [
    "Hola, me llamo {NOMBRE}. Mi tarjeta {CREDIT_DEBIT_NUMBER} tiene un cargo duplicado.",
    "Por favor, cambien mi correo a {EMAIL}. Mi teléfono es {TELEFONO}.",
    "Envíen el pedido a {DIRECCION}, a nombre de {NOMBRE}.",
    "Devuelvan el importe a la cuenta {INTERNATIONAL_BANK_ACCOUNT_NUMBER}. Gracias, {NOMBRE}",
    "El pedido {order} del {FECHA} llegó roto. Llámenme al {TELEFONO}.",
    "Soy {NOMBRE} y nadie me ha llamado desde el {FECHA}.",
]


def luhn_check_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return str((10 - total % 10) % 10)


def make_value(slot: str, rng: random.Random) -> tuple[str, str | None]:
    """(text, Comprehend type or None for filler)."""
    if slot == "NAME":
        first = rng.choice(FIRST_RARE if rng.random() < 0.2 else FIRST_EN)
        return (f"{first} {rng.choice(LAST)}" if rng.random() < 0.8 else first), "NAME"
    if slot == "NAME_LOWER":
        return f"{rng.choice(FIRST_EN)} {rng.choice(LAST)}".lower(), "NAME"
    if slot == "NOMBRE":
        return f"{rng.choice(FIRST_ES)} {rng.choice(LAST_ES)}", "NAME"
    if slot == "EMAIL":
        user = rng.choice(FIRST_EN + FIRST_ES).lower().replace("í", "i").replace("ú", "u")
        sep = rng.choice([".", "_", ""])
        domain = rng.choice(["example.com", "example.org", "example.net"])
        return f"{user}{sep}{rng.choice(LAST).lower()}{rng.randint(1, 99)}@{domain}", "EMAIL"
    if slot == "PHONE":
        area, line = rng.randint(201, 989), f"01{rng.randint(0, 99):02d}"
        fmt = rng.choice(["({a}) 555-{l}", "{a}-555-{l}", "+1 {a} 555 {l}", "{a}.555.{l}"])
        return fmt.format(a=area, l=line), "PHONE"
    if slot == "TELEFONO":
        digits = f"{rng.choice([6, 9])}{rng.randint(10, 99)} {rng.randint(100, 999)} "
        return f"+34 {digits}{rng.randint(100, 999)}", "PHONE"
    if slot == "CREDIT_DEBIT_NUMBER":
        return rng.choice(CARDS), "CREDIT_DEBIT_NUMBER"
    if slot == "CREDIT_DEBIT_NUMBER_TYPO":
        card = rng.choice(CARDS[:3])
        i = rng.choice([j for j, c in enumerate(card) if c.isdigit()][4:-1])
        typo = str((int(card[i]) + 1) % 10)
        return card[:i] + typo + card[i + 1:], "CREDIT_DEBIT_NUMBER"
    if slot == "SSN":
        return rng.choice(SSNS), "SSN"
    if slot == "INTERNATIONAL_BANK_ACCOUNT_NUMBER":
        return rng.choice(IBANS), "INTERNATIONAL_BANK_ACCOUNT_NUMBER"
    if slot == "ADDRESS":
        city, state, zip_code = rng.choice(CITIES)
        street = f"{rng.randint(10, 9999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}"
        return f"{street}, {city}, {state} {zip_code}", "ADDRESS"
    if slot == "DIRECCION":
        cp, ciudad = rng.choice(CIUDADES)
        return f"{rng.choice(CALLES)} {rng.randint(1, 120)}, {cp} {ciudad}", "ADDRESS"
    if slot == "DATE_TIME":
        y, m, d = rng.randint(2023, 2025), rng.randint(1, 12), rng.randint(1, 28)
        fmt = rng.choice(["{M} {d}, {y}", "{y}-{m:02d}-{d:02d}", "{m:02d}/{d:02d}/{y}"])
        return fmt.format(M=MONTHS[m - 1], d=d, y=y, m=m), "DATE_TIME"
    if slot == "FECHA":
        return f"{rng.randint(1, 28)} de {rng.choice(MESES)} de {rng.randint(2023, 2025)}", \
            "DATE_TIME"
    if slot == "order":
        body = f"{rng.randint(4, 5)}{rng.randint(10**13, 10**14 - 1)}"  # 15 digits
        num = body + luhn_check_digit(body)  # passes Luhn: a trap for card detectors
        return " ".join(num[i:i + 4] for i in range(0, 16, 4)), None
    if slot == "tracking":
        return f"1Z{rng.randint(10**9, 10**10 - 1)}", None
    if slot == "invoice":
        return f"INV-{rng.randint(1000, 9999)}", None
    if slot == "last4":
        return f"{rng.randint(1000, 9999)}", None
    if slot == "product":
        return rng.choice(PRODUCTS), None
    raise ValueError(slot)


def fill(template: str, rng: random.Random) -> tuple[str, list[dict]]:
    text, entities, pos = "", [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        text += template[pos:m.start()]
        value, etype = make_value(m.group(1), rng)
        if etype is not None:
            entities.append({"Type": etype, "BeginOffset": len(text),
                             "EndOffset": len(text) + len(value)})
        text += value
        pos = m.end()
    return text + template[pos:], entities


def main() -> None:
    rng = random.Random(SEED)
    rows = []
    for i in range(150):
        spanish = i % 5 == 4  # 30 of 150 in Spanish
        template = rng.choice(TEMPLATES_ES if spanish else TEMPLATES_EN)
        text, entities = fill(template, rng)
        rows.append({"id": f"msg-{i:03d}", "language": "es" if spanish else "en",
                     "text": text, "entities": entities})
    out = HERE / "messages.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                   encoding="utf-8")
    print(out, hashlib.sha256(out.read_bytes()).hexdigest())


if __name__ == "__main__":
    main()
