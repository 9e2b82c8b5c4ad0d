#!/usr/bin/env python3
"""A consumer of the migrated pair's API in another language, with nothing from this
repository: Python's standard library, the services' OpenAPI documents and their links.

    python3 scripts/api_client.py --customers http://127.0.0.1:8101 --orders http://127.0.0.1:8102

Prints what it did, one line a step; exits non-zero at the first surprise.
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

# Talk to the services directly, never through a proxy from the environment.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(method, url, body=None, accept="application/json", headers=None):
    """Returns (status, headers, body); the headers are looked up case-insensitively."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", accept)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def expect(condition, message):
    if not condition:
        print(f"FAILED: {message}")
        sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", required=True, help="base URL of the customers API")
    parser.add_argument("--orders", required=True, help="base URL of the orders API")
    args = parser.parse_args()

    for name, base in (("customers", args.customers), ("orders", args.orders)):
        status, _, body = call("GET", f"{base}/openapi.json")
        expect(status == 200, f"{name} serves its OpenAPI document ({status})")
        document = json.loads(body)
        expect(document["openapi"].startswith("3.1"), f"{name} document is OpenAPI 3.1")
        print(f"openapi {name}: {document['info']['title']} v{document['info']['version']}, "
              f"{len(document['paths'])} paths")
        if name == "orders":
            expect("/v1/orders/{id}" in document["paths"], "orders documents /v1/orders/{id}")

    status, _, body = call("GET", f"{args.orders}/v1/orders/1")
    expect(status == 200, f"GET order 1 ({status})")
    order = json.loads(body)
    print(f"order 1: {order['status']} {order['total']} for {order['customer']['name']}")

    # Follow the link the owner gave instead of building the URL.
    status, _, body = call("GET", order["_links"]["customer"]["href"])
    expect(status == 200, f"follow the customer link ({status})")
    customer = json.loads(body)
    print(f"customer link: {customer['name']} <{customer['email']}>")

    key = str(uuid.uuid4())
    new = {"customer_id": customer["id"], "total": "12.30"}
    first = call("POST", f"{args.orders}/v1/orders", new, headers={"Idempotency-Key": key})
    again = call("POST", f"{args.orders}/v1/orders", new, headers={"Idempotency-Key": key})
    expect(first[0] == 201 and again[0] == 201, f"place an order twice with one key ({first[0]}, {again[0]})")
    expect(json.loads(first[2])["id"] == json.loads(again[2])["id"], "a retry returns the same order")
    print(f"idempotent order: {json.loads(first[2])['id']} (retried once, one order)")

    status, headers, body = call("POST", f"{args.orders}/v1/orders", {"customer_id": 1, "total": "-1"})
    problem = json.loads(body)
    expect(status == 422 and headers.get("Content-Type") == "application/problem+json",
           f"a negative total is a 422 problem ({status})")
    print(f"problem: {status} {problem['type']}")

    status, headers, body = call("GET", f"{args.orders}/v1/orders/1", accept="application/xml")
    expect(status == 200 and headers.get("Content-Type", "").startswith("application/xml"),
           f"GET order 1 as XML ({status})")
    root = ET.fromstring(body)
    links = {link.get("rel"): link.get("href") for link in root.iter("link")}
    print(f"order 1 as XML: <{root.tag}> total {root.findtext('total')}, links {sorted(links)}")

    status, _, _ = call("GET", f"{args.orders}/v1/orders/1", accept="text/csv")
    expect(status == 406, f"an unsupported media type is refused with 406 ({status})")
    print("text/csv: 406")


if __name__ == "__main__":
    main()
