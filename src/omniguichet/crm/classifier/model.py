"""The model: TF-IDF over words (1-2) and characters (2-5, within words), accents stripped and lower-cased,
and a multinomial logistic regression (scikit-learn). Trained at first use from the shipped corpus and kept in
memory; a copy is kept under `VAR_DIR/classifier/`, signed with the secret key and named after a hash of the
corpus and of this model's parameters, so that a process never loads a pickle it did not write itself.

scikit-learn (and numpy, scipy) are imported inside the functions: Django's start-up never loads them.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import os
import pickle
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omniguichet.crm.classifier.corpus import TRAIN_PATH, motive_codes, read_jsonl

log = logging.getLogger(__name__)

# Bump when the features or the estimator change: the file cache is keyed on it.
MODEL_VERSION = "tfidf-word12-char25-logreg-v1"
RANDOM_STATE = 0
# The text read from one message, at most: a person's request is at the top; quoted mail and signatures follow.
MAX_CHARS = 5000
# Below this many words of new text (a "any news?" reply), the quoted earlier mail is read too.
SHORT_REPLY_WORDS = 15
DEFAULT_THRESHOLD = 0.5

QUOTE_HEADER = re.compile(
    r"^(le .{3,80}a (é|e)crit ?:|on .{3,80}wrote:"
    r"|-+ ?(message d'origine|original message|message transf(é|e)r(é|e)) ?-+)",
    re.IGNORECASE,
)
REPLY_PREFIX = re.compile(r"^\s*((re|tr|fw|fwd|réf)\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class Suggestion:
    """A suggested motive (a code of `crm/data/motives.csv`) and the model's confidence in it, in [0, 1]."""

    motive: str
    confidence: float


def split_reply(body: str) -> tuple[str, str]:
    """The new text of a message and the earlier mail it quotes (lines starting with '>', or everything after a
    "Le ... a écrit :" line)."""
    new: list[str] = []
    quoted: list[str] = []
    in_quote = False
    for line in body.splitlines():
        stripped = line.strip()
        if in_quote or stripped.startswith(">"):
            quoted.append(stripped.lstrip("> "))
        elif QUOTE_HEADER.match(stripped):
            in_quote = True
        else:
            new.append(line)
    return "\n".join(new), "\n".join(quoted)


def message_text(subject: str, body: str) -> str:
    """The text the model reads: the subject (without RE:/TR:) twice, the new text, and the quoted mail only when
    the new text is a short reply."""
    subject = REPLY_PREFIX.sub("", subject[:MAX_CHARS])
    new, quoted = split_reply(body[: MAX_CHARS * 4])
    text = new[:MAX_CHARS]
    if len(new.split()) < SHORT_REPLY_WORDS:
        text = f"{text}\n{quoted}"[:MAX_CHARS]
    return f"{subject}\n{subject}\n{text}"


def build_pipeline() -> Any:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    common = {"strip_accents": "unicode", "lowercase": True, "sublinear_tf": True, "dtype": np.float32}
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, **common)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, **common)),
        ]
    )
    classifier = LogisticRegression(C=20.0, max_iter=3000, random_state=RANDOM_STATE)
    return Pipeline([("features", features), ("classifier", classifier)])


def train(rows: Iterable[Mapping[str, str]]) -> Any:
    """A fitted pipeline from labelled rows {"subject", "body", "motive"}."""
    rows = list(rows)
    unknown = {row["motive"] for row in rows} - set(motive_codes())
    if unknown:
        raise ValueError(f"motives not in the referential: {sorted(unknown)}")
    pipeline = build_pipeline()
    pipeline.fit([message_text(r["subject"], r["body"]) for r in rows], [r["motive"] for r in rows])
    return pipeline


def predict(pipeline: Any, rows: Iterable[Mapping[str, str]]) -> list[Suggestion]:
    texts = [message_text(r.get("subject") or "", r.get("body") or "") for r in rows]
    if not texts:
        return []
    linear = _linear_of(pipeline)
    if linear is None:  # not the shape `build_pipeline` makes: scikit-learn's own path
        probabilities = pipeline.predict_proba(texts)
        classes = pipeline.classes_
    else:
        probabilities = [linear.probabilities(text) for text in texts]
        classes = linear.classes
    out = []
    for p in probabilities:
        best = int(p.argmax())
        out.append(Suggestion(motive=str(classes[best]), confidence=min(1.0, max(0.0, float(p[best])))))
    return out


class LinearModel:
    """The fitted pipeline as what it computes for one text, without scikit-learn's per-call machinery (input
    checks, sparse matrices, the feature union's stacking): each vectorizer's own analyzer gives the terms, their
    counts (sublinear tf) times the weights `idf * coefficients` precomputed per term are summed and divided by
    the L2 norm of the tf-idf vector, the intercepts added and a softmax taken, as `predict_proba` does for a
    multinomial logistic regression (the same probabilities to float rounding: tests/crm/test_classifier.py).
    About 3 times faster for one message (bench/RESULTS.md)."""

    def __init__(self, pipeline: Any) -> None:
        import numpy as np

        union = pipeline.named_steps["features"]
        classifier = pipeline.named_steps["classifier"]
        coefficients = np.asarray(classifier.coef_, dtype=np.float64)
        if coefficients.shape[0] != len(classifier.classes_) or coefficients.shape[0] < 3:
            raise ValueError("not a multinomial model of three classes or more")
        self.classes = classifier.classes_
        self.intercept = np.asarray(classifier.intercept_, dtype=np.float64)
        self.parts: list[tuple[Any, dict[str, int], Any, Any, bool]] = []
        offset = 0
        for _name, vectorizer in union.transformer_list:
            if vectorizer.norm != "l2" or not vectorizer.use_idf:
                raise ValueError("a vectorizer without idf or L2 norm")
            idf = np.asarray(vectorizer.idf_, dtype=np.float64)
            size = len(idf)
            # weights[term] = idf[term] * coefficients[:, term]: the contribution of a term of tf 1 before the norm
            weights = np.ascontiguousarray((coefficients[:, offset : offset + size] * idf).T)
            self.parts.append(
                (
                    vectorizer.build_analyzer(),
                    vectorizer.vocabulary_,
                    weights,
                    idf,
                    bool(vectorizer.sublinear_tf),
                )
            )
            offset += size
        if offset != coefficients.shape[1]:
            raise ValueError("the features do not match the coefficients")

    def probabilities(self, text: str) -> Any:
        import numpy as np

        scores = self.intercept.copy()
        for analyze, vocabulary, weights, idf, sublinear in self.parts:
            counts: dict[int, int] = {}
            for term in analyze(text):
                column = vocabulary.get(term)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            if sublinear:
                tf = 1.0 + np.log(tf)
            norm = float(np.sqrt(np.dot(tf * idf[columns], tf * idf[columns])))
            scores += (tf @ weights[columns]) / norm
        scores -= scores.max()
        exp = np.exp(scores)
        return exp / exp.sum()


_linear: dict[int, tuple[Any, LinearModel | None]] = {}


def _linear_of(pipeline: Any) -> LinearModel | None:
    """The pipeline's LinearModel, made once per pipeline object (None: the pipeline is not of that shape)."""
    found = _linear.get(id(pipeline))
    if found is not None and found[0] is pipeline:
        return found[1]
    try:
        linear: LinearModel | None = LinearModel(pipeline)
    except (AttributeError, KeyError, TypeError, ValueError):
        linear = None
    if len(_linear) > 8:  # tests train several pipelines: keep a few
        _linear.clear()
    _linear[id(pipeline)] = (pipeline, linear)
    return linear


# --- the model of this process: trained once, cached in memory and in a signed file --------------------------------

_lock = threading.Lock()
_model: Any = None


def _fingerprint(corpus: bytes) -> str:
    import sklearn

    digest = hashlib.sha256()
    for part in (MODEL_VERSION.encode(), sklearn.__version__.encode(), corpus):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def _cache_path(fingerprint: str) -> Path | None:
    from django.conf import settings

    var_dir = getattr(settings, "VAR_DIR", None) if settings.configured else None
    return Path(var_dir) / "classifier" / f"model-{fingerprint}.pickle" if var_dir else None


def _signing_key() -> bytes:
    from django.conf import settings

    return f"omniguichet.crm.classifier:{settings.SECRET_KEY}".encode()


def _load(path: Path) -> Any:
    """The pipeline in `path` if its signature is ours, else None (the file is then ignored)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    signature, payload = raw[:32], raw[32:]
    if not hmac.compare_digest(signature, hmac.new(_signing_key(), payload, hashlib.sha256).digest()):
        log.warning("classifier cache %s: bad signature, ignored", path)
        return None
    return pickle.loads(payload)  # signed with this platform's secret key: checked just above


def _store(path: Path, pipeline: Any) -> None:
    buffer = io.BytesIO()
    pickle.dump(pipeline, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    payload = buffer.getvalue()
    signature = hmac.new(_signing_key(), payload, hashlib.sha256).digest()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_bytes(signature + payload)
        temporary.replace(path)
    except OSError as exc:  # a read-only var/ only costs a training per process
        log.warning("classifier cache %s not written: %s", path, exc)


def get_model(*, use_file_cache: bool = True) -> Any:
    """The fitted pipeline of this process: from memory, else from the signed file cache, else trained from the
    shipped corpus (a few seconds) and stored."""
    global _model
    if _model is not None:
        return _model
    with _lock:
        if _model is not None:
            return _model
        corpus = TRAIN_PATH.read_bytes()
        path = _cache_path(_fingerprint(corpus)) if use_file_cache else None
        model = _load(path) if path is not None and path.exists() else None
        if model is None:
            model = train(read_jsonl(TRAIN_PATH))
            if path is not None:
                _store(path, model)
        _model = model
        return model


def reset_model() -> None:
    """Forget the model of this process (tests; a retrained corpus)."""
    global _model
    with _lock:
        _model = None


def suggest_motive(*, subject: str, body: str) -> Suggestion:
    """The motive suggested for one message, with its confidence."""
    return predict(get_model(), [{"subject": subject, "body": body}])[0]


def suggest_many(rows: Iterable[Mapping[str, str]]) -> list[Suggestion]:
    """The motives suggested for rows {"subject", "body"} (missing fields read as empty), in one pass."""
    return predict(get_model(), list(rows))


def threshold() -> float:
    from django.conf import settings

    return float(getattr(settings, "OMNIGUICHET_CLASSIFIER_THRESHOLD", DEFAULT_THRESHOLD))


def needs_triage(suggestion: Suggestion) -> bool:
    """Whether a suggestion is too unsure to route on: below `OMNIGUICHET_CLASSIFIER_THRESHOLD`, the item goes
    to a triage basket."""
    return suggestion.confidence < threshold()
