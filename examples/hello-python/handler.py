"""Hello, Swiftlet! (python3-http contract, same as the OpenFaaS template)

Try:
    curl 'http://HOST/function/hello-python?name=Ada'
    curl -d 'Grace' http://HOST/function/hello-python
"""
import json
import time
from urllib.parse import quote


def handle(event, context):
    # A name from the query string (?name=...), else from the request body
    # (a JSON object {"name": ...} or plain text), else "world".
    name = event.query.get("name")
    if not name and event.body:
        text = event.body.decode("utf-8", errors="replace").strip()
        if "json" in (event.headers.get("Content-Type") or ""):
            try:
                name = json.loads(text).get("name")
            except (ValueError, AttributeError):
                name = None
        else:
            name = text[:100]
    name = name or "world"

    return {
        "statusCode": 200,
        "body": {
            "message": "Hello, %s!" % name,
            "method": event.method,
            "path": event.path,
            "query": dict(event.query),
            "body_bytes": len(event.body),
            "user_agent": event.headers.get("User-Agent"),
            "hostname": context.hostname,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "headers": {
            "X-Greeted": quote(name),
            "Cache-Control": "no-store",
        },
    }
