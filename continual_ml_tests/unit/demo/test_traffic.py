"""The traffic generator sends a request again until it gets a 2xx, and records what it got."""

import json

import httpx
import pytest

from continual_ml.demo.traffic import TrafficGenerator


def test_a_request_is_sent_again_through_an_outage_and_only_its_2xx_is_recorded(tmp_path, config):
    answers = iter(
        [httpx.ConnectError("refused"), httpx.Response(503), httpx.Response(200, json={})]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    record = tmp_path / "acknowledged.jsonl"
    generator = TrafficGenerator(config, "http://service", tmp_path, 0, acknowledged_path=record)
    with httpx.Client(base_url="http://service", transport=httpx.MockTransport(handler)) as client:
        response = generator.post(client, "/predict_batch", {"rows": [{}, {}]})
    assert response.status_code == 200
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert lines == [{"kind": "unanswered", "endpoint": "/predict_batch", "rows": 2}] * 2


def test_a_client_error_is_raised_not_retried(tmp_path, config):
    generator = TrafficGenerator(config, "http://service", tmp_path, 0)
    transport = httpx.MockTransport(lambda request: httpx.Response(422))
    with httpx.Client(base_url="http://service", transport=transport) as client:
        with pytest.raises(httpx.HTTPStatusError):
            generator.post(client, "/feedback", {"items": [{}]})
