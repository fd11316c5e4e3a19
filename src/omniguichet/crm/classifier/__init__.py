"""The motive classifier: suggests a contact motive of the referential for a message that came without one.

It owns the shipped French corpus (`crm/data/classifier/`), the script that generates its training part
(`corpus`), and the model trained from it at first use (`model`): TF-IDF over words and characters with a
logistic regression (scikit-learn, imported inside the functions so that Django's start-up never loads it).
"""

from omniguichet.crm.classifier.model import (
    Suggestion,
    get_model,
    needs_triage,
    reset_model,
    suggest_many,
    suggest_motive,
)

__all__ = ["Suggestion", "get_model", "needs_triage", "reset_model", "suggest_many", "suggest_motive"]
