"""Customer data at rest: what the state keeps of CRM and bank records, sealed (compressed, then AES-GCM).

The state store keeps the raw source records (for ``crmsync remap``), quarantined records
(for ``crmsync retry``), the vouchers of the outbox (for posting, reversals and reports) and
summarised shares. They carry customer names, bank accounts and amounts, so each is stored
as one sealed blob: deflate with a preset dictionary of the field names every such record
repeats (a payment of 300 bytes of JSON becomes about 150), then AES-256-GCM with a random
nonce and the table's name as associated data (a blob moved to another table does not open).

The key never sits in the database. It comes from ``state.key`` (the secrets file or an
``${ENV}`` reference), from ``CRMSYNC_STATE_KEY``, or, for the embedded SQLite default, from a
key file created beside the state with mode 0600. The store remembers only the key's id
(``control``: ``seal_key_id``) so that a wrong or missing key is refused when the store is
opened, before anything is read or written, instead of failing record by record.

Blob layout (version 1): ``0x01 | key id (4 bytes) | nonce (12) | AES-GCM(deflate(text))``.
The dictionary below is part of that format: never edit it; add a version 2 instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from sync.errors import ConfigurationError, StateError

__all__ = [
    "KEY_ENV",
    "PREVIOUS_KEY_ENV",
    "Sealer",
    "key_id",
    "new_key_text",
    "parse_key",
]

KEY_ENV: Final = "CRMSYNC_STATE_KEY"
PREVIOUS_KEY_ENV: Final = "CRMSYNC_STATE_KEY_PREVIOUS"
_VERSION: Final = 1
_NONCE: Final = 12
_HEADER: Final = 1 + 4 + _NONCE
_VERSION_BYTE: Final = bytes([_VERSION])

#: what vouchers and Fxiaoke / bank records repeat; format version 1, frozen
_DICTIONARY: Final = (
    '"amount_foreign":null,"rate":null,"dims":[],"memo":"","reversal_of":null,"extra_revision":""'
    '{"key":"","revision":"","book":"001","date":"2026-","period":"2026-","group":"记","summary":"'
    '","currency":"CNY","lines":[{"account":"1002.01","side":"debit","amount":"","currency":"CNY",'
    '"dims":[["customer","CUST0"]],"side":"credit","account":"1122","account":"6001",'
    '"sources":[{"system":"crm","stream":"PaymentObj","record_id":"","name":"PAY-","amount":"'
    '"mapping":{"name":"payment_received","file":"/mappings/fxiaoke-kingdee/payment_received.yaml",'
    '"line":4,"version":""}'
    '{"_id":"","account_id":"","account_id__r":"","create_time":17,"last_modified_time":17,'
    '"life_status":"normal","name":"","object_describe_api_name":"SalesOrderObj","owner":["1000"],'
    '"order_amount":"","order_time":17,"payment_amount":"","payment_term":"","payment_time":17,'
    '"is_deleted":false,"RefundObj","refund_amount":"","InvoiceObj","invoice_amount":"",'
    '"booking_date":"","value_date":"","counterparty":"","counterparty_account":"","reference":"",'
    '"remittance":"","bank_account":"","credit_debit":"CRDT","entry_ref":"",'
    "回款 销售订单 退款 发票 有限公司 科技 信息 贸易 上海 北京 深圳 杭州 广州 成都 "
)
_ZDICT: Final = _DICTIONARY.encode()


def parse_key(text: str, where: str) -> bytes:
    """A 256-bit key from its text form (base64, standard or URL-safe, or 64 hex digits)."""
    value = text.strip()
    raw: bytes | None = None
    if len(value) == 64:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            raw = b""
    if len(raw) != 32:
        raise ConfigurationError(
            f"{where} is not a 256-bit key (expected 32 bytes as base64 or 64 hex digits)",
            hint="generate one with `crmsync state new-key` and keep it in the secrets file",
        )
    return raw


def new_key_text() -> str:
    """A fresh random key in the text form ``parse_key`` reads."""
    return base64.b64encode(os.urandom(32)).decode()


def key_id(key: bytes) -> str:
    """A short public name of a key (8 hex digits): stored, logged and shown; reveals nothing."""
    return hashlib.sha256(b"crmsync state key id\x00" + key).hexdigest()[:8]


@dataclass
class Sealer:
    """Seals and opens blobs with the primary key; opens blobs of any key in ``keys``."""

    primary: bytes | None
    #: every key this process may open with (primary, previous, a rotation's next), by key id
    keys: dict[str, bytes] = field(default_factory=dict)
    #: where the primary key came from, for messages (never the key itself)
    source: str = ""

    def __post_init__(self) -> None:
        if self.primary is not None:
            self.keys.setdefault(key_id(self.primary), self.primary)
        self._ciphers: dict[str, object] = {}
        #: computed once: every seal writes it, and a SHA-256 per record is measurable
        self._key_id = key_id(self.primary) if self.primary is not None else ""
        self._kid_bytes = bytes.fromhex(self._key_id)

    @property
    def key_id(self) -> str:
        return self._key_id

    def _cipher(self, kid: str) -> object:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            cipher = self._ciphers[kid] = AESGCM(self.keys[kid])
        return cipher

    def seal(self, text: str, table: str) -> bytes:
        """``text`` compressed and encrypted under the primary key, bound to ``table``."""
        if self.primary is None:
            raise StateError(
                "the state store's encryption key is not available, so nothing can be stored",
                hint=f"configure state.key or {KEY_ENV}, or run a command that may write the state",
            )
        kid = self._key_id
        # a 4 KB window holds the dictionary and a record; it sets up in half the time of the
        # default 32 KB one and compresses these records as well (any window reads it back)
        packer = zlib.compressobj(6, zlib.DEFLATED, -12, 5, zlib.Z_DEFAULT_STRATEGY, _ZDICT)
        packed = packer.compress(text.encode()) + packer.flush()
        nonce = os.urandom(_NONCE)
        head = _VERSION_BYTE + self._kid_bytes + nonce
        sealed: bytes = self._cipher(kid).encrypt(nonce, packed, table.encode())  # type: ignore[attr-defined]
        return head + sealed

    def open(self, blob: bytes | memoryview, table: str) -> str:
        """The text of a blob ``seal`` made; a wrong key or a damaged blob is a StateError."""
        from cryptography.exceptions import InvalidTag

        data = bytes(blob)
        if len(data) < _HEADER + 16 or data[0] != _VERSION:
            raise StateError(
                f"a record in table {table} is not in a format this crmsync reads",
                hint="upgrade crmsync, or restore the state from a backup",
            )
        kid = data[1:5].hex()
        if kid not in self.keys:
            raise StateError(
                f"a record in table {table} was encrypted with key {kid}, which is not the state key "
                f"{self.key_id or '(none)'} from {self.source or 'nowhere'}",
                hint=f"configure the key {kid} (state.key, {KEY_ENV}, or the key file it was made with); "
                "nothing was changed",
            )
        try:
            packed = self._cipher(kid).decrypt(data[5:_HEADER], data[_HEADER:], table.encode())  # type: ignore[attr-defined]
        except InvalidTag:
            raise StateError(
                f"a record in table {table} does not decrypt with key {kid}: it was altered or damaged",
                hint="restore the state from a backup; `crmsync audit verify` shows what changed",
            ) from None
        unpacker = zlib.decompressobj(-15, _ZDICT)
        return (unpacker.decompress(packed) + unpacker.flush()).decode()

    def digest(self, text: str) -> str:
        """A keyed fingerprint of ``text`` (to see that a record changed without opening it)."""
        if self.primary is None:
            return ""
        mac = hmac.new(self.primary, b"crmsync digest\x00" + text.encode(), hashlib.sha256)
        return mac.hexdigest()[:16]

    def knows(self, kids: Iterable[str]) -> bool:
        return all(k in self.keys for k in kids)
