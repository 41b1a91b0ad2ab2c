"""``LEADSCORE_*`` environment settings: pydantic-settings models whose errors name the variable.

Each component's deployer settings are one ``EnvSettings`` subclass: the field ``max_batch``
is the variable ``<env_prefix>MAX_BATCH`` (pydantic-settings reads, prefixes and decodes them,
JSON for dicts, lists and models), and ``from_env`` turns a bad value into a ``ConfigError``
that starts with the variable's name, the way the deployer wrote it. ``from_env`` also reads
a given mapping instead of the process environment (a rendered ConfigMap, a test).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import pydantic
from pydantic import AfterValidator, BeforeValidator, SecretStr
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from leadscore.errors import ConfigError, Location, dotted, one_line

ENV_PREFIX = "LEADSCORE_"


def _json_text(value: object) -> object:
    """A variable's JSON text decoded (other values, such as defaults, pass through)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise PydanticCustomError("json_invalid", "not valid JSON ({reason})", {"reason": exc.msg}) from None


JSON_TEXT = BeforeValidator(_json_text)
"""Put on a dict or list field with ``NoDecode``: bad JSON is then an error naming the variable
(pydantic-settings' own decoding raises one that names neither the variable nor the problem)."""


def secret_of_at_least(length: int) -> AfterValidator:
    """Put on a ``SecretStr`` field: shorter is refused with a message that does not repeat it."""

    def check(value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < length:
            raise PydanticCustomError("secret_too_short", "a secret of at least {length} characters is needed",
                                      {"length": length})
        return value

    return AfterValidator(check)


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over ``env`` (default: the process's), skipping
    the fields the settings class takes from elsewhere (``not_from_env``)."""

    def __init__(self, settings_cls: type[EnvSettings], env: Mapping[str, str] | None) -> None:
        self._env = os.environ if env is None else env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        if field_name in getattr(self.settings_cls, "not_from_env", ()):
            return None, field_name, False
        return super().get_field_value(field, field_name)


@dataclass(frozen=True)
class _Unquoted:
    """A validation error whose secret fields' values are left out of the message."""

    error: pydantic.ValidationError
    secrets: frozenset[str]

    def errors(self) -> list[dict[str, Any]]:
        shown = []
        for error in self.error.errors():
            entry = dict(error)
            if error["loc"] and str(error["loc"][0]) in self.secrets:
                entry.pop("input", None)
            shown.append(entry)
        return shown


class EnvSettings(BaseSettings):
    """The base of every ``LEADSCORE_*`` settings model: the environment only (no ``.env`` file, no
    secrets directory), read by ``from_env`` alone (constructing one gives the defaults and the
    values passed, as with any model), values frozen once read."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    not_from_env: ClassVar[frozenset[str]] = frozenset()
    """Fields given only by the caller of ``from_env`` (a command-line option), never by a variable."""
    secrets: ClassVar[frozenset[str]] = frozenset()
    """Fields whose bad value an error must not repeat (tokens, keys)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # the environment is read where asked for: ``from_env``

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of ``field``: ``LEADSCORE_MAX_BATCH`` for ``max_batch``."""
        return str(cls.model_config.get("env_prefix", "")) + field.upper()

    @classmethod
    def environment(cls, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The raw values the variables in ``env`` (default: the process's) set, by field name."""
        return _Environment(cls, env)()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: Any) -> Self:
        """The settings from ``env`` (default: the process's environment), ``given`` values winning;
        a bad value raises ``ConfigError`` naming its variable (or ``--option`` for a given one)."""
        values = {**cls.environment(env), **given}
        try:
            return cls.model_validate(values)
        except pydantic.ValidationError as exc:
            raise ConfigError(one_line(_Unquoted(exc, cls.secrets), lambda loc: cls.where(loc, given))) from None

    @classmethod
    def where(cls, location: Location, given: Mapping[str, Any]) -> str:
        """How the user set the value at ``location``: a command-line option or a variable."""
        if not location:
            return "settings"
        field = str(location[0])
        if field in given:
            return "--" + field.replace("_", "-")
        return dotted(location[1:], cls.variable(field)) if field in cls.model_fields else dotted(location)
