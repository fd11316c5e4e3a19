"""The motive classifier: suggests a contact motive of the referential for a message that came without one.

It owns the shipped French corpus (`crm/data/classifier/`), the script that generates its training part
(`corpus`, from the templates of `templates`), and the model trained from it at first use (`model`): TF-IDF over
words and characters with a logistic regression (scikit-learn, imported inside the functions so that Django's
start-up never loads it). See docs/classifier.md.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omniguichet.crm.classifier.model import (
        Suggestion,
        get_model,
        needs_triage,
        reset_model,
        suggest_many,
        suggest_motive,
    )

__all__ = ["Suggestion", "get_model", "needs_triage", "reset_model", "suggest_many", "suggest_motive"]


def __getattr__(name: str) -> Any:
    # The public names come from `model`, imported on first use so that `python -m ...corpus` runs the corpus
    # module once (an eager import here would load it before runpy does).
    if name in __all__:
        from omniguichet.crm.classifier import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
