"""schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

They change only what depends on the server's state, which no document can state and the
generator cannot know; every other part of a generated request is sent as drawn.

A new order names an existing, active customer: any other id is refused with 422
(/problems/unknown-customer, /problems/customer-not-active), which the Rust tests check.
A well-formed customer_id is therefore mapped onto the seed's active customers 1 to 9 (every
tenth is suspended), keeping its JSON form (7 or 7.0); a malformed one is sent as drawn.
The script runs orders first, so the customers run cannot have suspended them yet.

An Idempotency-Key names one order: sent again with another body it is refused (422,
/problems/idempotency-key-reused, as draft-ietf-httpapi-idempotency-key-header asks), and
sent again after its order was deleted it is answered 410 (/problems/order-deleted). The
generator draws keys from the document's pattern and sometimes draws one it already sent,
not knowing what became of it. Every key already sent is therefore replaced by a fresh
one of the same form before the call; replays are the Rust tests' business
(tests/migrated.rs, tests/reliability.rs).
"""

import itertools
import re

import schemathesis

VALID_KEY = re.compile(r"^[!-~]([ -~]*[!-~])?$")
_sent: set[str] = set()
_fresh = itertools.count()


def _header(headers, name):
    for key in headers or {}:
        if key.lower() == name:
            return key
    return None


def _known_customer(body):
    if not isinstance(body, dict):
        return
    value = body.get("customer_id")
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        body["customer_id"] = 1 + abs(value) % 9
    elif isinstance(value, float) and value.is_integer() and abs(value) <= 2**53 - 1:
        body["customer_id"] = float(1 + int(abs(value)) % 9)


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.operation.method.upper() != "POST" or case.operation.path != "/v1/orders":
        return
    _known_customer(case.body)
    name = _header(case.headers, "idempotency-key")
    if name is None:
        return
    key = case.headers[name]
    if not isinstance(key, str) or len(key) > 200 or not VALID_KEY.match(key):
        return  # an invalid key: the service must refuse it, untouched
    if key in _sent:
        key = f"{key[:180]}~{next(_fresh)}"
        case.headers[name] = key
    _sent.add(key)
