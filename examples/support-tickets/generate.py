# python examples/support-tickets/generate.py  (rewrites this folder's data and ../support-tickets-dirty)
# ruff: noqa: E501  (phrase and data tables read better on long lines)
"""Make the demo task's data: Kestrel Home's support inbox turned into JSON tickets.

Deterministic (one seed, stdlib only): running it again reproduces every file byte for byte.
Writes, into this folder: docs/products.md, docs/policy.md, schema.json, data/train.jsonl,
data/test.jsonl; with the dirty copy (default on) into ../support-tickets-dirty: schema.json,
data/*.jsonl with planted problems and manifest.json counting them as `tunegate check` counts.

Labels are a function of the message plus the catalogue and policy (kestrel.py): the product a
nickname means, its tier, the urgency the policy gives that issue on that tier, and a summary
of the form "<product>: <issue>". No two rows are near-duplicates by the check's own rule
(Jaccard >= 0.8 on word bigrams), so every duplicate in the dirty copy is a planted one.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dirty  # noqa: E402
import kestrel as k  # noqa: E402
from textsim import NearIndex  # noqa: E402

SEED = 20240611
N_TRAIN, N_TEST = 1000, 240
STYLES = {"plain": 24, "formal": 14, "angry": 15, "terse": 17, "chatty": 16, "rambling": 14}
LANG_SHARE = 0.11
LANGS = ("es", "de", "fr", "pt")

FIRST = ("Anna", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kemi", "Liam",
         "Maya", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tomas", "Uma", "Victor", "Wei", "Yara",
         "Zoe", "Aisha", "Bruno", "Carmen", "Daniel", "Emma", "Felix", "Gabriela", "Hannah", "Ivan", "Julia",
         "Kai", "Lucia", "Marco", "Nora", "Omar", "Priya", "Rafael", "Sofia", "Theo", "Valentina", "Yusuf")  # fmt: skip
LAST = ("Okafor", "Schmidt", "Dubois", "Silva", "Garcia", "Novak", "Patel", "Kowalski", "Nguyen", "Rossi",
        "Jensen", "Haddad", "Murphy", "Tanaka", "Costa", "Meyer", "Lefebvre", "Fernandes", "Brown", "Ivanova")  # fmt: skip
COMPANIES = ("Marlow Dental", "Brightside Logistics", "Fenwick & Co Accountants", "Harbour Street Cafe",
             "Northgate Primary School", "Lumen Architects", "Ridgeway Vets", "Apex Print Studio")  # fmt: skip

GREET = {"plain": ("Hi,", "Hello,", "Hi team,", "Hey,", "Hello support,", "Good morning,"),
         "formal": ("Dear Kestrel Support,", "Good afternoon,", "To whom it may concern,", "Dear support team,"),
         "chatty": ("Hi there! Hope your day is going well :)", "Hey folks!", "Hello hello!",
                    "Hiya, quick one for you.", "Morning all! Hope you're well."),
         "es": ("Hola,", "Buenos días,", "Hola equipo de Kestrel,"), "de": ("Hallo,", "Guten Tag,", "Hallo Kestrel-Team,"),
         "fr": ("Bonjour,", "Bonjour à l'équipe Kestrel,", "Salut,"), "pt": ("Olá,", "Bom dia,", "Oi pessoal da Kestrel,")}  # fmt: skip
CLOSE = {"plain": ("Thanks.", "Thanks!", "Cheers.", "Thank you.", "Any help appreciated."),
         "formal": ("I would be grateful for your assistance.", "Thank you in advance for your help.",
                    "I look forward to your reply.", "Please let me know how to proceed."),
         "chatty": ("Thanks a million!", "Cheers!!", "You guys are great, thanks :)", "Thanks loads, have a good one!"),
         "es": ("Gracias.", "Saludos.", "Un saludo."), "de": ("Danke.", "Viele Grüße.", "Mit freundlichen Grüßen."),
         "fr": ("Merci.", "Cordialement.", "Bonne journée."), "pt": ("Obrigado.", "Abraços.", "Atenciosamente.")}  # fmt: skip
DETAIL_OTHER = {"es": "Ya lo reinicié dos veces.", "de": "Ich habe es schon zweimal neu gestartet.",
                "fr": "Je l'ai déjà redémarré deux fois.", "pt": "Já reiniciei duas vezes."}  # fmt: skip
ORDER_WORD = {"en": "Order", "es": "Pedido", "de": "Bestellung", "fr": "Commande", "pt": "Pedido"}
CONTEXT = ("We moved house last week.", "I've been a customer for three years.", "This started after the last app update.",
           "We have a fairly big house with thick walls.", "I work from home so this matters a lot.",
           "Nothing changed on our side.", "My son set everything up before he went back to uni.",
           "I'm not very technical, sorry.", "We had a power cut on Tuesday.", "I tried the help pages first.",
           "My neighbour has the same setup and no problems.", "We only got it last month.")  # fmt: skip
RAMBLE = ("So, long story short,", "Anyway,", "To cut a long story short,", "Basically,", "The thing is,",
          "Where was I. Right,")  # fmt: skip
ANGRY = ("This is unacceptable.", "Third time I'm writing about this!", "I pay good money for this.",
         "Absolutely ridiculous.", "Sort it out.", "Worst experience I've had with a gadget.",
         "I'm losing my patience here.", "Nobody has answered my last email.", "Seriously, again?")  # fmt: skip
GENERIC_DETAIL = {
    "outage": ("Already restarted it twice.", "Unplugged it for 30 seconds, no change.", "Started around {hour}.",
               "Everything else in the house works.", "The app shows no errors."),
    "hardware": ("It's only {n} months old.", "I think it's still under warranty.", "No idea what happened."),
    "setup": ("The app is up to date.", "Using the Android app.", "My phone is an iPhone 13.", "Tried twice now."),
    "billing": ("The amount was £{amount}.", "My account email is {email}.", "Can you check please?"),
    "account": ("My username is {email}.", "I tried on two different browsers.", "It worked fine last week."),
    "security": ("Please advise what to do.", "I've reset the password already.", "I'm quite worried."),
    "shipping": ("Tracking number {track}.", "The delivery address is correct in my account.", "Ordered on the {day}th."),
    "feedback": ("Just a thought.", "Keep up the good work.", "Happy to test a beta."),
}  # fmt: skip


def pick_alias(rng: random.Random, product: k.Product, english: bool, bare: bool) -> str:
    """How the customer names the product: full name, model code or a nickname."""
    forms = [product.name, product.code, *product.nicknames]
    if not english:
        forms = [f for f in forms if not f.startswith("the ")]
    alias = rng.choice(forms)
    if rng.random() < 0.15 and alias != product.name:
        alias = alias.lower() if rng.random() < 0.5 else alias.upper()
    if alias.lower().startswith("the "):
        noun = alias[4:]
        return noun if bare else f"{rng.choice(('the', 'my', 'our'))} {noun}"
    if bare or not english:
        return alias
    return rng.choice(("", "", "my ", "the ", "our ")) + alias


def fill(rng: random.Random, template: str, product: k.Product | None, english: bool) -> str:
    if product is None:
        return template
    text = template.replace("{P}", pick_alias(rng, product, english, bare=True))
    return text.replace("{p}", pick_alias(rng, product, english, bare=False))


def sentence(text: str) -> str:
    text = text.strip()
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


def order_no(rng: random.Random) -> str:
    n = rng.randint(10000, 99999)
    return rng.choice((f"#KH-{n}", f"KH{n}", f"KH-{n}", f"no. {n}"))


def signature(rng: random.Random, product: k.Product | None, formal: bool) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    if formal and product is not None and product.tier == "Enterprise":
        return f"{first} {last}\n{rng.choice(COMPANIES)}"
    return rng.choice(
        (first, f"{first} {last}", f"{first[0]}. {last}", f"— {first}\nSent from my phone")
    )


def detail(rng: random.Random, issue: k.Issue) -> str:
    pool = issue.details + GENERIC_DETAIL[issue.category]
    text = rng.choice(pool)
    first = rng.choice(FIRST).lower()
    return text.format(
        hour=f"{rng.randint(5, 11)}{rng.choice(('am', 'pm'))}",
        n=rng.randint(2, 11),
        amount=f"{rng.randint(4, 240)}.{rng.choice(('00', '99', '49'))}",
        email=f"{first}.{rng.choice(LAST).lower()}@{rng.choice(('gmail.com', 'outlook.com', 'proton.me'))}",
        track=f"1Z{rng.randint(10**9, 10**10 - 1)}",
        day=rng.randint(4, 28),
    )


def english(rng: random.Random, issue: k.Issue, product: k.Product | None, style: str) -> str:
    core = fill(rng, rng.choice(issue.en if product else issue.en_none), product, english=True)
    order = rng.random() < (0.5 if issue.category in ("shipping", "billing") else 0.08)
    if style == "terse":
        tail = rng.choice(
            ("", "", "", " pls", " - help", "??", " again", "!", " since yesterday", " pls advise")
        )
        text = core + tail
        if order:
            text += f" ({order_no(rng)})"
        return text if rng.random() < 0.5 else text[0].upper() + text[1:]
    parts: list[str] = []
    if style == "angry":
        body = sentence(core)
        if rng.random() < 0.35:
            body = body.upper()
        parts.append(body.rstrip(".") + rng.choice(("!", "!!", "!!!", ".")))
        parts += rng.sample(ANGRY, rng.randint(1, 2))
        if order:
            parts.append(f"{ORDER_WORD['en']} {order_no(rng)}.")
        text = " ".join(parts)
        return text + "\n" + signature(rng, product, False) if rng.random() < 0.3 else text
    greeting = ""
    if style == "formal":
        greeting = rng.choice(GREET["formal"])
        parts.append(
            rng.choice(
                (
                    "I am writing to report a problem.",
                    "I would like some help with the following.",
                    "I need assistance with one of your products.",
                    "Please see my query below.",
                )
            )
        )
    elif style == "chatty":
        greeting = rng.choice(GREET["chatty"])
    elif style == "rambling" or rng.random() < 0.6:
        greeting = rng.choice(GREET["plain"])
    if style == "rambling":
        parts += rng.sample(CONTEXT, 2)
        parts.append(
            rng.choice(RAMBLE)
            + " "
            + core[0].lower()
            + core[1:]
            + ("" if core[-1] in "?!." else ".")
        )
    else:
        parts.append(sentence(core))
    if style == "rambling" or rng.random() < (0.6 if style in ("formal", "chatty") else 0.35):
        parts.append(sentence(detail(rng, issue)))
    if (style == "rambling" and rng.random() < 0.6) or (
        style in ("chatty", "plain") and rng.random() < 0.2
    ):
        parts.append(rng.choice([c for c in CONTEXT if c not in parts]))
    if order:
        parts.append(f"{ORDER_WORD['en']} {order_no(rng)}.")
    close_style = style if style in ("formal", "chatty") else "plain"
    if style != "plain" or rng.random() < 0.6:
        parts.append(rng.choice(CLOSE[close_style]))
    text = ("\n" if style == "formal" else " ").join(parts)
    if greeting:
        text = greeting + ("\n" if style == "formal" or rng.random() < 0.4 else " ") + text
    if style in ("formal", "chatty", "rambling") or rng.random() < 0.4:
        text += "\n" + signature(rng, product, style == "formal")
    return text


def other_language(rng: random.Random, issue: k.Issue, product: k.Product | None, lang: str) -> str:
    phrasings = (issue.other if product else issue.other_none)[lang]
    parts = []
    if rng.random() < 0.7:
        parts.append(rng.choice(GREET[lang]))
    parts.append(sentence(fill(rng, rng.choice(phrasings), product, english=False)))
    if issue.category in ("outage", "hardware") and rng.random() < 0.4:
        parts.append(DETAIL_OTHER[lang])
    if rng.random() < (0.5 if issue.category in ("shipping", "billing") else 0.1):
        parts.append(f"{ORDER_WORD[lang]} {order_no(rng)}.")
    if rng.random() < 0.7:
        parts.append(rng.choice(CLOSE[lang]))
    text = " ".join(parts)
    return text + "\n" + signature(rng, product, False) if rng.random() < 0.5 else text


PROTECTED = {w.lower() for p in k.PRODUCTS for a in p.aliases for w in a.split()}


def typos(rng: random.Random, text: str) -> str:
    """1-2 seeded typos (swap, drop or double a letter) in longer words, never in a product name."""
    words = text.split(" ")
    spots = [
        i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha() and w.lower() not in PROTECTED
    ]
    for i in rng.sample(spots, min(len(spots), rng.randint(1, 2))):
        w = words[i]
        j = rng.randint(1, len(w) - 3)
        op = rng.choice(("swap", "drop", "double"))
        if op == "swap":
            w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        elif op == "drop":
            w = w[:j] + w[j + 1 :]
        else:
            w = w[:j] + w[j] + w[j:]
        words[i] = w
    return " ".join(words)


def pick_case(rng: random.Random, lang: str) -> tuple[k.Issue, k.Product | None]:
    """An issue and a product it applies to (or none), weighted by category."""
    cats = list(k.CATEGORY_WEIGHTS)
    while True:
        cat = rng.choices(cats, weights=[k.CATEGORY_WEIGHTS[c] for c in cats])[0]
        issue = rng.choice([i for i in k.ISSUES if i.category == cat])
        products = [p for p in k.PRODUCTS if k.applies(issue, p)]
        none_ok = k.applies(issue, None)
        product = None if not products or (none_ok and rng.random() < 0.5) else rng.choice(products)
        if lang == "en" or lang in (issue.other if product else issue.other_none):
            return issue, product


def make_row(rng: random.Random) -> dict[str, object]:
    lang = rng.choice(LANGS) if rng.random() < LANG_SHARE else "en"
    issue, product = pick_case(rng, lang)
    if lang == "en":
        style = rng.choices(list(STYLES), weights=list(STYLES.values()))[0]
        text = english(rng, issue, product, style)
    else:
        text = other_language(rng, issue, product, lang)
    if rng.random() < (0.22 if lang == "en" else 0.08):
        text = typos(rng, text)
    ticket = {
        "category": issue.category,
        "urgency": k.urgency(issue, product),
        "product": product.name if product else "none",
        "summary": k.summary(issue, product),
    }
    return {"message": text, "ticket": ticket}


def clean_rows(rng: random.Random) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Train and test rows; a candidate near-duplicate of an accepted row is drawn again."""
    index = NearIndex()
    rows: list[dict[str, object]] = []
    while len(rows) < N_TRAIN + N_TEST:
        row = make_row(rng)
        if index.closest(str(row["message"]))[1] >= 0.8:
            continue
        index.add(str(row["message"]))
        rows.append(row)
    test_idx = set(rng.sample(range(len(rows)), N_TEST))
    train = [r for i, r in enumerate(rows) if i not in test_idx]
    test = [r for i, r in enumerate(rows) if i in test_idx]
    return train, test


def jsonl(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out", type=Path, default=here, help="folder of the clean task (default: this one)"
    )
    ap.add_argument("--dirty-out", type=Path, default=here.parent / "support-tickets-dirty",
                    help="folder of the dirty copy (default: ../support-tickets-dirty)")  # fmt: skip
    ap.add_argument("--no-dirty", action="store_true", help="write the clean task only")
    args = ap.parse_args()

    rng = random.Random(SEED)
    train, test = clean_rows(rng)
    write(args.out / "docs" / "products.md", k.products_md())
    write(args.out / "docs" / "policy.md", k.policy_md())
    write(args.out / "schema.json", json.dumps(k.schema(k.CATEGORIES), indent=2) + "\n")
    write(args.out / "data" / "train.jsonl", jsonl(train))
    write(args.out / "data" / "test.jsonl", jsonl(test))
    print(f"{args.out}: {len(train)} train, {len(test)} test")
    if args.no_dirty:
        return
    d_train, d_test, manifest = dirty.plant(random.Random(SEED + 1), train, test)
    write(
        args.dirty_out / "schema.json",
        json.dumps(k.schema((*k.CATEGORIES, dirty.SINGLETON)), indent=2) + "\n",
    )
    write(args.dirty_out / "data" / "train.jsonl", jsonl(d_train))
    write(args.dirty_out / "data" / "test.jsonl", jsonl(d_test))
    write(
        args.dirty_out / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    )
    print(
        f"{args.dirty_out}: {len(d_train)} train, {len(d_test)} test, planted problems in manifest.json"
    )


if __name__ == "__main__":
    main()
