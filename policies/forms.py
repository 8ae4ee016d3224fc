from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from policies.services.drafts import KeptFile

PROTOCOLS = [("TCP", "TCP"), ("UDP", "UDP"), ("SCTP", "SCTP")]
PASTED_FILE_NAME = "pasted.yaml"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one <input type=file multiple> (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".yaml,.yml,.json", "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class UploadForm(forms.Form):
    """Manifests as files, as pasted text, or both. Files that were read by an earlier, failed
    attempt stay on the server (``services.keep_files``); the form carries only their token
    (``draft``) and offers them by name and size (``keep``: untick one to remove it)."""

    name = forms.CharField(
        max_length=200,
        required=False,
        help_text="Optional. Defaults to the file names.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. production, 27 November"}),
    )
    team = forms.CharField(max_length=100, required=False, help_text="The team the snapshot belongs to.")
    files = MultipleFileField(  # type: ignore[assignment]  # a form field named like BaseForm.files
        required=False, help_text="YAML or JSON; several at once."
    )
    manifests = forms.CharField(
        required=False,
        label="Or paste YAML",
        help_text="One or more documents separated by ---.",
        widget=forms.Textarea(
            attrs={
                "rows": 14,
                "spellcheck": "false",
                "placeholder": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n...",
            }
        ),
    )
    draft = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    keep = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Files from your last try"
    )

    def __init__(self, *args: Any, kept: Sequence[KeptFile] | None = (), **kwargs: Any) -> None:
        """``kept``: the files of the draft the form names; None when it names one that is gone
        (expired, used, or not this user's)."""
        super().__init__(*args, **kwargs)
        self.kept = kept
        keep = self.fields["keep"]
        assert isinstance(keep, forms.MultipleChoiceField)
        keep.choices = [(f.name, f"{f.name} ({filesizeformat(f.size)})") for f in kept or ()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("draft") and self.kept is None:
            raise ValidationError("The files of your last try are no longer kept; choose them again.")
        ticked = set(data.get("keep") or [])
        data["kept_files"] = [(f.name, f.text) for f in self.kept or () if f.name in ticked]
        if not data.get("files") and not (data.get("manifests") or "").strip() and not data["kept_files"]:
            raise ValidationError("Choose at least one file, or paste some YAML.")
        return data


class FlowForm(forms.Form):
    """The flow check's question. Works as a plain GET form."""

    src = forms.CharField(
        label="Source",
        max_length=300,
        help_text="namespace/pod, namespace/Kind/name, or an IP address",
        widget=forms.TextInput(
            attrs={"list": "endpoint-names", "autocomplete": "off", "placeholder": "shop/Deployment/web"}
        ),
    )
    dst = forms.CharField(
        label="Destination",
        max_length=300,
        help_text="namespace/pod, namespace/Kind/name, or an IP address",
        widget=forms.TextInput(attrs={"list": "endpoint-names", "autocomplete": "off", "placeholder": "10.0.0.1"}),
    )
    port = forms.IntegerField(
        min_value=1,
        max_value=65535,
        widget=forms.NumberInput(attrs={"placeholder": "8080"}),
    )
    protocol = forms.ChoiceField(choices=PROTOCOLS, initial="TCP")


KUBECONFIG_MAX_BYTES = 1024 * 1024


class ClusterForm(forms.Form):
    """A new cluster connection: an uploaded kubeconfig (stored encrypted, never shown again in
    full) or netpol's own in-cluster service account."""

    name = forms.SlugField(max_length=100, help_text="Lower-case letters, digits, '-' and '_'.")
    team = forms.CharField(
        max_length=100, required=False, help_text="The team whose members see it; a member of one team may omit it."
    )
    kubeconfig = forms.FileField(required=False, help_text="A kubeconfig file; netpol keeps it encrypted.")
    in_cluster = forms.BooleanField(
        required=False, label="Use netpol's in-cluster service account instead",
        help_text="When netpol runs inside the cluster it reads (deploy/ grants the account list and watch).",
    )
    context = forms.CharField(max_length=200, required=False, help_text="Optional: the kubeconfig's current one.")
    interval_minutes = forms.IntegerField(min_value=1, max_value=7 * 24 * 60, initial=60, label="Sync every (minutes)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("kubeconfig")
        if upload and data.get("in_cluster"):
            raise ValidationError("Choose one: a kubeconfig file or the in-cluster service account.")
        if not upload and not data.get("in_cluster"):
            self.add_error("kubeconfig", "Upload a kubeconfig file, or choose the in-cluster service account.")
        if upload:
            data["kubeconfig_text"] = read_kubeconfig(upload, self)
        return data


def read_kubeconfig(upload: Any, form: forms.Form) -> str | None:
    """The uploaded kubeconfig as text, or None with the form's error set."""
    if upload.size > KUBECONFIG_MAX_BYTES:
        limit = KUBECONFIG_MAX_BYTES // 1024
        form.add_error("kubeconfig", f"{upload.name}: larger than {limit} KiB; not a kubeconfig?")
        return None
    try:
        return str(upload.read().decode("utf-8"))
    except UnicodeDecodeError as exc:
        form.add_error("kubeconfig", f"{upload.name}: not UTF-8 text (byte {exc.start})")
        return None


class DriftForm(forms.Form):
    """Which uploaded snapshot (the manifests in git) to compare a synced one with."""

    against = forms.IntegerField()


class ProposalForm(forms.Form):
    """A change of a snapshot's policies: YAML pasted or in files (added or replacing the policy of
    the same kind, namespace and name), and policies to delete, one NAMESPACE/NAME a line."""

    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"placeholder": "e.g. let ops reach db"}))
    manifests = forms.CharField(
        required=False,
        label="Policies added or replaced (YAML)",
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false",
                                     "placeholder": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n..."}),
    )
    files = MultipleFileField(  # type: ignore[assignment]  # a form field named like BaseForm.files
        required=False, help_text="Or YAML files of policies added or replaced."
    )
    delete = forms.CharField(
        required=False, label="Policies deleted", help_text="One NAMESPACE/NAME a line (NAME for cluster-wide ones).",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )


class RevisionForm(forms.Form):
    """The next revision of a proposal: its whole change again against the same base, as on ProposalForm."""

    manifests = ProposalForm.base_fields["manifests"]
    files = MultipleFileField(  # type: ignore[assignment]  # a form field named like BaseForm.files
        required=False, help_text="Or YAML files of policies added or replaced."
    )
    delete = ProposalForm.base_fields["delete"]
    body = forms.CharField(required=False, max_length=20000, label="What changed (for the reviewers)",
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[
        ("comment", "Comment"), ("approve", "Approve"), ("request_changes", "Request changes"),
        ("close", "Close"), ("reopen", "Reopen"), ("apply", "Mark applied"),
    ])
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), max_length=20000)
    flow = forms.CharField(required=False, max_length=500)
    override = forms.BooleanField(required=False)
    revision = forms.IntegerField(required=False, min_value=1)  # the revision the reviewer read
