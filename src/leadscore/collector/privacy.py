"""Personal data in logged lead records: per model, listed fields are dropped or hashed before
anything is stored, and the export applies the same rules (to rows stored before a rule existed).

Rules come from ``LEADSCORE_PRIVACY`` (JSON), keyed by ``<namespace>/<model>`` (the inference
service) or ``<namespace>/*`` for every model of a namespace; a model's own entry wins::

    {"sales/pc-leads": {"drop": ["email", "phone"], "hash": ["contact.name"]}}

A field is a top-level key or a dotted path into nested objects. Hashing is HMAC-SHA256 with the
key in ``LEADSCORE_PRIVACY_KEY`` (a plain hash of a phone number is reversed by trying every
number); equal values still hash equal, so a hashed column can be joined or counted, not read.
Hashed values carry the ``hmac-sha256:`` prefix and are never hashed twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import NoDecode, SettingsConfigDict

from leadscore.settings import JSON_TEXT, EnvSettings

HASH_PREFIX = "hmac-sha256:"
_ALL_MODELS = "*"


class FieldRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    drop: list[str] = Field(default_factory=list, description="Fields never stored.")
    hash: list[str] = Field(default_factory=list, description="Fields stored as a keyed hash.")


class PrivacySettings(EnvSettings):
    """``LEADSCORE_PRIVACY`` (JSON rules by ``<namespace>/<model>``) and ``LEADSCORE_PRIVACY_KEY``."""

    model_config = SettingsConfigDict(env_ignore_empty=True)
    secrets: ClassVar[frozenset[str]] = frozenset({"privacy_key"})

    privacy: Annotated[dict[str, FieldRules], NoDecode, JSON_TEXT] = Field(
        default_factory=dict, description='{"<namespace>/<model>" or "<namespace>/*": {"drop": [...], "hash": [...]}}')
    privacy_key: SecretStr = Field(SecretStr(""), description="HMAC key of hashed fields; at least 16 characters.")

    @field_validator("privacy")
    @classmethod
    def _keyed_by_model(cls, rules: dict[str, FieldRules]) -> dict[str, FieldRules]:
        for name in rules:
            if name.count("/") != 1 or not all(name.split("/")):
                raise PydanticCustomError("model_key", "key '{name}' must be <namespace>/<model> or <namespace>/*",
                                          {"name": name})
        return rules

    @field_validator("privacy_key")
    @classmethod
    def _long_enough_to_hash(cls, key: SecretStr, info: ValidationInfo) -> SecretStr:
        rules: dict[str, FieldRules] = info.data.get("privacy", {})
        if any(r.hash for r in rules.values()) and len(key.get_secret_value()) < 16:
            raise PydanticCustomError("key_too_short", "hashing fields needs a secret key of at least 16 characters")
        return key


class Privacy(BaseModel):
    """The rules of every model, and the hashing key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: dict[str, FieldRules] = Field(default_factory=dict)
    key: bytes = b""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Privacy:
        settings = PrivacySettings.from_env(env)
        return cls(rules=settings.privacy, key=settings.privacy_key.get_secret_value().encode())

    def for_model(self, namespace: str, model: str) -> FieldRules | None:
        return self.rules.get(f"{namespace}/{model}") or self.rules.get(f"{namespace}/{_ALL_MODELS}")

    def hash_value(self, value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        return HASH_PREFIX + hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def apply(self, namespace: str, model: str, record: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``record`` with ``model``'s fields dropped or hashed (the record itself when none apply)."""
        rules = self.for_model(namespace, model)
        if rules is None:
            return record
        out = json.loads(json.dumps(record))  # a deep copy of plain JSON
        for path in rules.drop:
            _edit(out, path.split("."), None)
        for path in rules.hash:
            _edit(out, path.split("."), self)
        return out


def _edit(record: dict[str, Any], path: list[str], hasher: Privacy | None) -> None:
    """Drop (``hasher`` None) or hash the value at ``path``; a missing path changes nothing."""
    parent: Any = record
    for part in path[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    if not isinstance(parent, dict) or path[-1] not in parent:
        return
    if hasher is None:
        del parent[path[-1]]
        return
    value = parent[path[-1]]
    if value is not None and not (isinstance(value, str) and value.startswith(HASH_PREFIX)):
        parent[path[-1]] = hasher.hash_value(value)
