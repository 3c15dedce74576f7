"""Telegram Mini App launch data (initData), signed exactly as Telegram signs it: the fields'
"key=value" lines sorted by key, HMAC-SHA256 keyed by HMAC-SHA256("WebAppData", bot token),
the hash in hex."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from urllib.parse import quote, urlencode

QUERY_ID = "AAHdF6IQAAAAAN0XohDhrOrc"


def signed_init_data(user: dict[str, object], *, auth_date: datetime, token: str) -> str:
    fields = {
        "auth_date": str(int(auth_date.timestamp())),
        "query_id": QUERY_ID,
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
    }
    check_string = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields, quote_via=quote)
