"""Credential vault: Fernet keys that never live in the database.

Keys come, first match wins, from the environment variable ``IPAI_VAULT_KEYS``, the
``keys`` entry of the ``[ipai_vault]`` section of odoo.conf (or the older ``[options]``
entry ``ipai_vault_keys``), or a key file named by ``IPAI_VAULT_KEYS_FILE``, by
``keys_file`` in ``[ipai_vault]`` (or by ``ipai_vault_keys_file`` in ``[options]``).
Several keys are comma- or newline-separated: the first encrypts, all of them decrypt
(``MultiFernet``), so a new key can be put first while older secrets still decrypt until
re-encrypted.

The section is read as queue_job reads ``[queue_job]``: with configparser, from the file
Odoo was started with. Odoo 19 warns at every start about an unknown entry of
``[options]``; it ignores other sections.
"""

import configparser
import os
import re
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENV_KEYS = "IPAI_VAULT_KEYS"
ENV_KEYS_FILE = "IPAI_VAULT_KEYS_FILE"
CONF_KEYS = "ipai_vault_keys"
CONF_KEYS_FILE = "ipai_vault_keys_file"
SECTION = "ipai_vault"
SECTION_KEYS = "keys"
SECTION_KEYS_FILE = "keys_file"


class VaultError(Exception):
    """Base of the vault errors; messages never contain key material."""


class VaultKeyMissing(VaultError):
    """No key is configured."""


class VaultKeyInvalid(VaultError):
    """A configured key is not a valid Fernet key."""


class VaultDecryptError(VaultError):
    """A secret cannot be decrypted with any configured key."""


def _split(text):
    return [k.strip() for k in re.split(r"[,\s]+", text or "") if k.strip()]


def read_section(conf_path, section=SECTION):
    """The ``[ipai_vault]`` section of an odoo.conf as a dict ({} without file or section).

    An unreadable or malformed file reads as empty: Odoo itself reported it at start.
    """
    if not conf_path:
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(conf_path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return {}
    return dict(parser[section]) if parser.has_section(section) else {}


def load_keys(config=None, environ=None, section=None):
    """Return the configured keys, the encrypting one first.

    :param config: a mapping like ``odoo.tools.config`` (``get`` is used); its
        ``config`` entry names the file whose ``[ipai_vault]`` section is read
        unless ``section`` is given
    :param environ: the process environment (defaults to ``os.environ``)
    :param section: the ``[ipai_vault]`` entries, as a dict
    :return: ``(keys, source)`` where source names where they came from
    """
    environ = os.environ if environ is None else environ
    config = config or {}
    if section is None:
        section = read_section(config.get("config"))
    if environ.get(ENV_KEYS):
        return _split(environ[ENV_KEYS]), f"environment variable {ENV_KEYS}"
    if section.get(SECTION_KEYS):
        return _split(section[SECTION_KEYS]), f"{SECTION_KEYS} in [{SECTION}]"
    if config.get(CONF_KEYS):
        return _split(config.get(CONF_KEYS)), f"option {CONF_KEYS}"
    for path, source in (
        (environ.get(ENV_KEYS_FILE), f"file named by {ENV_KEYS_FILE}"),
        (section.get(SECTION_KEYS_FILE), f"file named by {SECTION_KEYS_FILE} in [{SECTION}]"),
        (config.get(CONF_KEYS_FILE), f"file named by option {CONF_KEYS_FILE}"),
    ):
        if path:
            try:
                return _split(Path(path).expanduser().read_text()), source
            except OSError as exc:
                raise VaultKeyMissing(f"cannot read the vault key file ({source}): {exc}") from exc
    return [], None


class Vault:
    """Encrypts and decrypts secrets with MultiFernet."""

    def __init__(self, keys):
        if not keys:
            raise VaultKeyMissing("no vault key is configured")
        try:
            self._fernets = [Fernet(k.encode() if isinstance(k, str) else k) for k in keys]
        except (ValueError, TypeError) as exc:
            raise VaultKeyInvalid(
                "a vault key is not a valid Fernet key (32 url-safe base64-encoded bytes)"
            ) from exc
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, plaintext):
        return self._multi.encrypt(plaintext.encode()).decode()

    def decrypt(self, token):
        return self._with_keys(self._multi.decrypt, token)

    def rotate(self, token):
        """Re-encrypt ``token`` with the first key (MultiFernet.rotate)."""
        return self._with_keys(self._multi.rotate, token)

    @staticmethod
    def _with_keys(operation, token):
        """``operation`` (MultiFernet decrypt or rotate) on ``token``; a token no key
        opens is a VaultDecryptError."""
        try:
            return operation(token.encode()).decode()
        except InvalidToken as exc:
            raise VaultDecryptError(
                "a stored secret cannot be decrypted with the configured vault keys"
            ) from exc

    def is_current(self, token):
        """True when the first (encrypting) key decrypts ``token``."""
        try:
            self._fernets[0].decrypt(token.encode())
        except InvalidToken:
            return False
        return True


def looks_encrypted(value):
    """A Fernet token: version byte 0x80, url-safe base64 ('gAAAAA...')."""
    return bool(value) and value.startswith("gAAAAA")
