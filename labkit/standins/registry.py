"""Stand-in for EventBridge's ``TestEventPattern`` on the local backend (lab 10).

moto never emits SageMaker's "Model Package State Change" events, and its
``TestEventPattern`` returns no result. moto does route events with its own pattern engine,
so locally :func:`pattern_matches` asks that engine; on AWS it calls the real API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def pattern_matches(
    events: Any, pattern: Mapping[str, Any], event: Mapping[str, Any], *, local: bool
) -> bool:
    """Whether EventBridge would route ``event`` to a rule with ``pattern``."""
    if local:
        from moto.events.models import EventPattern

        engine = EventPattern(json.dumps(pattern), dict(pattern))
        return bool(engine.matches_event(dict(event)))  # type: ignore[arg-type]
    answer = events.test_event_pattern(EventPattern=json.dumps(pattern),
                                       Event=json.dumps(event))
    return bool(answer["Result"])
