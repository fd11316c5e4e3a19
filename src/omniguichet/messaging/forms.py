"""The pages' forms of secure messaging (django-dsfr rendering; the message field is the model's own, with its
length and emptiness validators)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from omniguichet.core.forms import PlatformForm, files_field
from omniguichet.messaging.models import MAX_ATTACHMENTS, MAX_BODY, Message, ThreadOutcome


def _body_field(label: Any) -> forms.Field:
    field = Message._meta.get_field("body").formfield(
        label=label,
        help_text=gettext_lazy("At most %(n)d characters.") % {"n": MAX_BODY},
        widget=forms.Textarea(attrs={"rows": 8, "maxlength": MAX_BODY}),
    )
    assert field is not None
    return field


def _files_field() -> forms.Field:
    return files_field(
        gettext_lazy("Files (optional)"),
        gettext_lazy("At most %(n)d files: PDF, JPEG or PNG.") % {"n": MAX_ATTACHMENTS},
    )


class NewMessageForm(PlatformForm):
    motive = forms.ChoiceField(label=gettext_lazy("Subject of your message"), required=False)
    subject = forms.CharField(label=gettext_lazy("Title (optional)"), required=False, max_length=150)
    link = forms.ChoiceField(label=gettext_lazy("About (optional)"), required=False)
    body = _body_field(gettext_lazy("Your message"))
    files = _files_field()

    def __init__(self, *args: Any, motives: list, linkables: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["motive"].choices = [("", gettext_lazy("Choose a subject"))] + [
            (m.pk, m.label) for m in motives
        ]
        self.fields["link"].choices = [("", gettext_lazy("Nothing in particular"))] + [
            (item.value, item.label) for item in linkables
        ]


class FollowUpForm(PlatformForm):
    body = _body_field(gettext_lazy("Your message"))
    files = _files_field()


class AnswerForm(PlatformForm):
    body = _body_field(gettext_lazy("Answer"))


class CloseForm(PlatformForm):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"), choices=[("", "—"), *ThreadOutcome.choices], required=False
    )


class AttachForm(PlatformForm):
    """Attach an unknown sender's e-mail to a person of the caisse (the record is opened: the purpose is logged)."""

    person_id = forms.IntegerField(label=gettext_lazy("Person (number in the register)"), min_value=1)
    purpose = forms.CharField(
        label=gettext_lazy("Why you open this person's record"),
        max_length=200,
        initial=gettext_lazy("Identify the sender of an e-mail"),
    )


class MotiveForm(PlatformForm):
    """The agent's correction of the conversation's motive (kept as a labelled example for the classifier)."""

    motive = forms.ChoiceField(label=gettext_lazy("Right subject"), required=False)

    def __init__(self, *args: Any, motives: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["motive"].choices = [(m.pk, m.label) for m in motives]
