"""The classifier's training corpus: a seeded generator of French messages labelled with a contact motive.

Each motive has subjects and sentences with slots; a message is assembled from them and then roughened the way
people write: greetings and signatures, no accents, typos, SMS abbreviations, everything in lower case, a second
topic in the same message (the label stays the main one), a reply quoting an earlier mail, an empty subject, a
subject with no body. The same seed gives the same file.

    python -m omniguichet.crm.classifier.corpus            # rewrites crm/data/classifier/train.jsonl
    python -m omniguichet.crm.classifier.corpus --count 4000 --seed 7 --out /tmp/train.jsonl

The held-out file next to it (`heldout.jsonl`) is not generated: it was written by hand, in other words.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import unicodedata
from functools import cache
from pathlib import Path

from omniguichet.crm.classifier.templates import EXTRA_SLOTS, SLOTS, TOPICS, Topic

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
CLASSIFIER_DIR = DATA_DIR / "classifier"
TRAIN_PATH = CLASSIFIER_DIR / "train.jsonl"
HELDOUT_PATH = CLASSIFIER_DIR / "heldout.jsonl"
DEFAULT_COUNT = 3900
DEFAULT_SEED = 20261204


@cache
def motive_codes() -> tuple[str, ...]:
    """The referential's contact motives (`crm/data/motives.csv`), in the file's order."""
    with (DATA_DIR / "motives.csv").open(encoding="utf-8") as f:
        return tuple(row["code"] for row in csv.DictReader(f))


GREETINGS = (
    "Bonjour,",
    "Bonjour",
    "Madame, Monsieur,",
    "Bonjour madame, monsieur,",
    "Bonsoir,",
    "Bjr",
    "Bonjour à vous,",
    "Madame, Monsieur",
    "Salut",
    "Bonjour, ",
    "Bonjour Madame,",
    "Hello,",
    "A l'attention de l'assurance maladie,",
    "",
    "",
    "",
)
INTROS = (
    "Je me permets de vous écrire car",
    "Je vous contacte au sujet de ma situation.",
    "Je suis assurée chez vous.",
    "J'espère que vous allez bien.",
    "Je vous écris de la part de {proche}.",
    "Petite question :",
    "Suite à mon appel de ce matin,",
    "Je reviens vers vous.",
    "",
    "",
    "",
    "",
)
CLOSINGS = (
    "Cordialement",
    "Cordialement,",
    "Merci d'avance",
    "Merci de votre réponse.",
    "Bien à vous",
    "Dans l'attente de votre réponse, cordialement",
    "Bonne journée",
    "Merci beaucoup",
    "Salutations",
    "Veuillez agréer, Madame, Monsieur, l'expression de mes salutations distinguées.",
    "Merci",
    "cdt",
    "Merci pour votre aide",
    "",
    "",
)
NAMES = (
    "Marie Dupont",
    "J. Martin",
    "Sophie",
    "Karim Benali",
    "Mme Lefebvre",
    "Nathalie R.",
    "Thomas Petit",
    "M. et Mme Moreau",
    "Fatou Diallo",
    "Kevin",
    "Isabelle Garnier",
    "Luc Fontaine",
    "Amina",
    "Jean-Pierre Roux",
)
FOOTERS = (
    "Envoyé de mon iPhone",
    "Envoyé depuis mon smartphone Samsung Galaxy",
    "Tél : {tel}",
    "N° sécu : {nir}",
    "Provenance : Courrier pour Windows",
    "",
    "",
    "",
    "",
    "",
)
CONNECTORS = ("Par ailleurs,", "Autre chose :", "PS :", "Aussi,", "Et", "Au passage,", "Enfin,", "P.S.")
GENERIC_SUBJECTS = (
    "",
    "",
    "",
    "Demande",
    "Question",
    "urgent",
    "Mon dossier",
    "(sans objet)",
    "Bonjour",
    "Demande d'aide",
    "URGENT !!!",
    "Suite",
    "Ma situation",
    "Relance",
    "dossier {nir}",
)
REPLY_PREFIXES = ("RE: ", "Re: ", "TR: ", "Fwd: ", "RE : ", "re: ")
ACKNOWLEDGEMENTS = (
    "Bonjour,\nNous avons bien reçu votre message et nous y répondrons dans les meilleurs délais.\n"
    "Votre référence : {ref}.\nL'assurance maladie",
    "Madame, Monsieur,\nVotre demande a été transmise au service concerné.\nCordialement,\nVotre conseiller",
    "Bonjour,\nPour toute démarche, utilisez la messagerie de votre compte en ligne.\nRéférence {ref}",
)
FOLLOW_UPS = (
    "Toujours pas de réponse ?",
    "Je relance ma demande ci-dessous.",
    "Des nouvelles ?",
    "Je me permets de vous relancer.",
    "Je n'ai toujours rien reçu.",
    "relance svp",
    "???",
    "Pouvez-vous me répondre s'il vous plaît ?",
    "Je renvoie mon message.",
)
ABBREVIATIONS = (
    ("bonjour", "bjr"),
    ("s'il vous plaît", "svp"),
    ("s'il vous plait", "svp"),
    ("pourquoi", "pq"),
    ("beaucoup", "bcp"),
    ("rendez-vous", "rdv"),
    ("aujourd'hui", "auj"),
    ("toujours", "tjrs"),
    ("avec", "avc"),
    ("quand", "qd"),
    ("je suis", "jsuis"),
    ("c'est", "c"),
    ("vous", "vs"),
    ("quelque", "qq"),
    ("merci", "mci"),
    ("que", "ke"),
    ("est-ce que", "est ce ke"),
    ("sécurité sociale", "sécu"),
    ("maintenant", "mtn"),
    ("rien", "r1"),
    ("pour", "pr"),
    ("nouvelle", "nvelle"),
    ("nouveau", "nvo"),
    ("message", "msg"),
    ("cordialement", "cdlt"),
    ("d'accord", "dac"),
    ("tout", "tt"),
    ("beaucoup", "bcp"),
    ("numéro", "n°"),
)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _fill(rng: random.Random, template: str) -> str:
    out = template
    for name, values in (*SLOTS.items(), *EXTRA_SLOTS.items()):
        while "{" + name + "}" in out:
            out = out.replace("{" + name + "}", rng.choice(values), 1)
    if "{nir}" in out:
        out = out.replace("{nir}", f"{rng.choice('12')}{rng.randrange(10**12):012d}")
    if "{ref}" in out:
        out = out.replace("{ref}", f"CPAM-{rng.randrange(10**6):06d}")
    return out


def _typos(rng: random.Random, text: str, rate: float) -> str:
    chars = list(text)
    out: list[str] = []
    i = 0
    while i < len(chars):
        c = chars[i]
        if c.isalpha() and rng.random() < rate:
            kind = rng.randrange(4)
            if kind == 0:  # dropped
                i += 1
                continue
            if kind == 1:  # doubled
                out.extend((c, c))
            elif kind == 2 and i + 1 < len(chars) and chars[i + 1].isalpha():  # swapped
                out.extend((chars[i + 1], c))
                i += 2
                continue
            else:  # a neighbour key
                out.append(rng.choice("azertyuiopqsdfghjklmwxcvbn"))
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _abbreviate(rng: random.Random, text: str) -> str:
    for long, short in ABBREVIATIONS:
        if long in text and rng.random() < 0.6:
            text = text.replace(long, short)
    return text


def _roughen(rng: random.Random, text: str, *, sloppy: bool) -> str:
    if not sloppy:
        return text
    if rng.random() < 0.5:
        text = strip_accents(text)
    if rng.random() < 0.4:
        text = text.lower()
    if rng.random() < 0.35:
        text = _abbreviate(rng, text.lower())
    if rng.random() < 0.5:
        text = _typos(rng, text, rng.choice((0.01, 0.02, 0.04)))
    if rng.random() < 0.2:
        text = text.replace(".", "").replace(",", "").replace("?", " ?")
    return text


def _new_text(rng: random.Random, motive: str, topic: Topic) -> str:
    parts: list[str] = []
    parts.append(_fill(rng, rng.choice(INTROS)))
    core = [_fill(rng, s) for s in rng.sample(topic.sentences, k=rng.choice((1, 1, 1, 2)))]
    if topic.details and rng.random() < 0.5:
        detail = _fill(rng, rng.choice(topic.details))
        core.insert(rng.randrange(len(core) + 1), detail)
    parts.extend(core)
    if rng.random() < 0.22:  # a second, lesser topic: the label stays the main one
        other = rng.choice([m for m in TOPICS if m != motive])
        aside = _fill(rng, rng.choice(TOPICS[other].aside))
        parts.append(f"{rng.choice(CONNECTORS)} {aside}.")
    sep = rng.choice((" ", " ", "\n", "\n\n"))
    return sep.join(p for p in parts if p)


def _envelope(rng: random.Random, text: str) -> str:
    greeting = rng.choice(GREETINGS)
    closing = rng.choice(CLOSINGS)
    name = rng.choice(NAMES) if rng.random() < 0.6 else ""
    footer = _fill(rng, rng.choice(FOOTERS))
    head = f"{greeting}\n\n" if greeting and rng.random() < 0.7 else (f"{greeting} " if greeting else "")
    tail = "\n\n".join(p for p in ("\n".join(p for p in (closing, name) if p), footer) if p)
    return f"{head}{text}\n\n{tail}".strip()


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _wrote_line(rng: random.Random, sender: str) -> str:
    day = f"{rng.choice(EXTRA_SLOTS['jour'])} {rng.choice(SLOTS['mois'])} 2026"
    return rng.choice(
        (
            f"Le {day} à {rng.randrange(8, 19)}:{rng.randrange(60):02d}, {sender} a écrit :",
            f"Le mer. {day}, {sender} a écrit :",
            f"-----Message d'origine-----\nDe : {sender}\nEnvoyé : {day}\nObjet : {{subject}}",
            f"On {day}, {sender} wrote:",
        )
    )


def generate_message(rng: random.Random, motive: str) -> dict[str, str]:
    """One labelled message {"subject", "body", "motive"} about `motive`."""
    topic = TOPICS[motive]
    sloppy = rng.random() < 0.6
    specific_subject = _fill(rng, rng.choice(topic.subjects))
    roll = rng.random()
    if roll < 0.05:  # subject only
        text = _fill(rng, rng.choice(topic.sentences))
        return {"subject": _roughen(rng, text, sloppy=sloppy), "body": "", "motive": motive}
    subject = specific_subject if roll < 0.6 else _fill(rng, rng.choice(GENERIC_SUBJECTS))
    body = _envelope(rng, _roughen(rng, _new_text(rng, motive, topic), sloppy=sloppy))
    if rng.random() < 0.18:  # a reply: new text on top, the earlier mail quoted below
        if rng.random() < 0.5:  # the person's own earlier request, answered by a short follow-up
            earlier, sender = body, "moi"
            body = _envelope(rng, _roughen(rng, rng.choice(FOLLOW_UPS), sloppy=sloppy))
        else:  # the caisse's acknowledgement, answered by the request
            earlier, sender = (
                _fill(rng, rng.choice(ACKNOWLEDGEMENTS)),
                "Assurance Maladie <ne-pas-repondre@ameli.fr>",
            )
        wrote = _wrote_line(rng, sender).replace("{subject}", subject)
        body = f"{body}\n\n{wrote}\n{_quote(earlier)}"
        subject = rng.choice(REPLY_PREFIXES) + subject
    if rng.random() < 0.1:
        subject = subject.upper()
    return {"subject": subject, "body": body, "motive": motive}


def generate(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> list[dict[str, str]]:
    """`count` labelled messages, the motives in turn (balanced), from one seeded random stream."""
    rng = random.Random(seed)
    codes = motive_codes()
    assert set(codes) == set(TOPICS), "every motive of motives.csv needs a topic, and no other"
    return [generate_message(rng, codes[i % len(codes)]) for i in range(count)]


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=TRAIN_PATH)
    args = parser.parse_args(argv)
    rows = generate(args.count, args.seed)
    write_jsonl(rows, args.out)
    print(f"{len(rows):,} messages written to {args.out}")


if __name__ == "__main__":
    main()
