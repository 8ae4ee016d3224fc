"""The files of a failed upload, kept on the server for the next try.

The upload page names them (with their sizes) and carries only a token; a token works for the user
who made it, once, for NETPOL_UPLOAD_DRAFT_MINUTES. A user has at most one draft (a new failure
replaces the old one), and a draft holds at most what one upload may (NETPOL_MAX_UPLOAD_BYTES), so
the store is bounded by the number of users who failed an upload in the last hour.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from policies.models import UploadDraft, UploadDraftFile

__all__ = ["KeptFile", "drop_draft", "keep_files", "kept_files"]

AnyUser = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class KeptFile:
    name: str
    text: str

    @property
    def size(self) -> int:
        return len(self.text.encode())


def _lifetime() -> timedelta:
    return timedelta(minutes=settings.NETPOL_UPLOAD_DRAFT_MINUTES)


@transaction.atomic
def keep_files(*, user: AnyUser, files: Sequence[tuple[str, str]]) -> str | None:
    """Keep ``files`` for ``user``'s next try; the token, or None when there is nothing to keep (or
    more than one upload may hold). Replaces the user's earlier draft; expired drafts are deleted."""
    UploadDraft.objects.filter(created__lt=timezone.now() - _lifetime()).delete()
    if not user.is_authenticated:
        return None
    UploadDraft.objects.filter(user_id=user.pk).delete()
    size = sum(len(text.encode()) for _, text in files)
    if not files or size > settings.NETPOL_MAX_UPLOAD_BYTES or len(files) > settings.DATA_UPLOAD_MAX_NUMBER_FILES:
        return None
    draft = UploadDraft.objects.create(token=secrets.token_urlsafe(32), user_id=user.pk)
    UploadDraftFile.objects.bulk_create(
        UploadDraftFile(draft=draft, name=name, text=text, position=i) for i, (name, text) in enumerate(files)
    )
    return draft.token


def kept_files(*, user: AnyUser, token: str) -> list[KeptFile] | None:
    """The files kept under ``token`` for ``user``; None when the token is not theirs or expired."""
    if not user.is_authenticated or not token:
        return None
    draft = UploadDraft.objects.filter(
        token=token, user_id=user.pk, created__gte=timezone.now() - _lifetime()
    ).first()
    if draft is None:
        return None
    return [KeptFile(f.name, f.text) for f in draft.files.all()]


def drop_draft(*, user: AnyUser, token: str) -> None:
    """Forget a draft once its files are stored (or no longer wanted)."""
    if user.is_authenticated and token:
        UploadDraft.objects.filter(token=token, user_id=user.pk).delete()
