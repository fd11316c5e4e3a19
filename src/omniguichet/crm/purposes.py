"""Why a record is opened, chosen by the agent on every channel's console and written in the access log."""

from django.utils.translation import gettext_lazy

# Why a record is opened: written in the audit trail, which the person can read.
PURPOSES = [
    gettext_lazy("Incoming phone call"),
    gettext_lazy("Visit at the reception desk"),
    gettext_lazy("Processing of a file"),
    gettext_lazy("Reply to a message"),
    gettext_lazy("Call-back appointment"),
]
