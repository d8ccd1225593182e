"""The race player's data as sent: JSON bytes, the payload encoded once per race."""

from __future__ import annotations

import json

import pytest

from optviz.scene import Scenario
from optviz.ui import player
from optviz.views import landscape_for, simulate_scenario


@pytest.fixture(scope="module")
def payload() -> dict:
    from optviz.ui.build import player_payload

    scene, _ = Scenario.from_query({"run": "sgd;adam", "steps": "30"})
    return player_payload(scene, simulate_scenario(scene),
                          landscape_for(scene.resolve_surface()), classroom=False)


def test_bytes_round_trip_with_and_without_the_landscape(payload: dict) -> None:
    data = player.encode(payload)
    assert isinstance(data, bytes)
    got = player.decode(data)
    assert got == {**payload, "inspect": None}
    json.loads(data)  # valid JSON as the browser parses it (no NaN)
    without = dict(payload, base=None)
    assert player.decode(player.encode(without)) == {**without, "inspect": None}
    assert len(player.encode(without)) < len(data)


def test_the_payload_is_encoded_once_per_race_and_the_inspector_part_per_call(
    payload: dict, monkeypatch: pytest.MonkeyPatch,
) -> None:
    player.ENCODED.clear()
    calls = []
    real = json.dumps

    def counting(obj, *args, **kwargs):
        calls.append(obj is not None and isinstance(obj, dict) and "tracks" in obj)
        return real(obj, *args, **kwargs)

    monkeypatch.setattr(player.json, "dumps", counting)
    first = player.encode(payload)
    step = {"track": 0, "step": 3, "glyphs": None, "label": "SGD"}
    second = player.encode(dict(payload, inspect=step))
    assert calls.count(True) == 1  # the big part: once
    assert player.decode(second)["inspect"] == step
    assert player.decode(first)["inspect"] is None
    assert second.startswith(first[: -len(b',"inspect":null}')])


def test_a_non_finite_glyph_number_drops_the_glyphs_not_the_page(payload: dict) -> None:
    step = {"track": 0, "step": 3, "label": "SGD",
            "glyphs": {"arrows": [{"scale": float("inf")}]}}
    data = player.encode(dict(payload, inspect=step))
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    got = json.loads(data, parse_constant=refuse)  # strict, as the browser's JSON.parse
    assert got["inspect"] == {"track": 0, "step": 3, "label": "SGD", "glyphs": None}
