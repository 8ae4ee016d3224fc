"""Request fields stricter than DRF's: text is text. DRF's CharField turns a JSON number or boolean
into its string; these refuse it (400), as the schema's ``type: string`` says."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class Text(serializers.CharField):
    default_error_messages = {"not_text": "Give text (a JSON string), not {kind}."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text", kind=type(data).__name__)
        return str(super().to_internal_value(data))


class Slug(serializers.SlugField):
    default_error_messages = {"not_text": "Give text (a JSON string), not {kind}."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text", kind=type(data).__name__)
        return str(super().to_internal_value(data))
