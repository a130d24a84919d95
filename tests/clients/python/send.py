"""Drives the official amplitude-analytics (Python) SDK against a server_url
and prints what the SDK itself reported for every event, as one JSON line.

    python send.py SERVER_URL SCENARIO

Scenarios: basic (track, identify, revenue, flush), unicode (a Japanese
greeting and an English one), retry (six events in one batch; the SDK
retries or splits on its own).
"""
import json
import sys
import threading

from amplitude import Amplitude, BaseEvent, Config, EventOptions, Identify, Revenue

server_url, scenario = sys.argv[1], sys.argv[2]
results = []
done = threading.Condition()


def callback(event, code, message=None):
    with done:
        results.append({"event_type": event.event_type, "insert_id": event.insert_id, "code": code, "message": message})
        done.notify_all()


config = Config(
    server_url=server_url,
    flush_interval_millis=200,
    flush_queue_size=6 if scenario == "retry" else 200,
    callback=callback,
)
client = Amplitude("FAKE_API_KEY_PYTHON_0123456789", config)
user = {"user_id": "user-python-1", "device_id": "device-python-1"}

if scenario == "basic":
    client.track(BaseEvent("Button Clicked", event_properties={"color": "blue", "count": 3}, **user))
    client.track(BaseEvent("Page Viewed", event_properties={"page": "/home"}, **user))
    client.track(BaseEvent("Item Added", event_properties={"sku": "SKU-1", "price": 9.99}, **user))
    client.identify(Identify().set("plan", "premium").set_once("signup", "2024-01-01"), EventOptions(**user))
    client.revenue(Revenue(price=19.99, quantity=3, product_id="prod-42", revenue_type="purchase"), EventOptions(**user))
    expected = 5
elif scenario == "unicode":
    # The SDK serialises with json.dumps: every non-ASCII character leaves as \uXXXX.
    client.track(BaseEvent("Greeting Sent", event_properties={"text": "こんにちは", "lang": "ja"}, **user))
    client.track(BaseEvent("Greeting Sent", event_properties={"text": "hello", "lang": "en"}, **user))
    expected = 2
elif scenario == "retry":
    for i in range(6):
        client.track(BaseEvent(f"Retry Event {i}", event_properties={"i": i}, **user))
    expected = 6
else:
    raise SystemExit(f"unknown scenario {scenario}")

client.flush()
with done:
    done.wait_for(lambda: len(results) >= expected, timeout=60)
client.shutdown()
print(json.dumps({"results": results}))
