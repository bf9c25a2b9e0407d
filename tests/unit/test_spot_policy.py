"""The spot interruption policy: what the labcloud tags ask for, and when SpotPolicy says capacity is lost."""

from __future__ import annotations

import pytest

from labcloud.runtime.training.spot import (AFTER_SECONDS_TAG, INTERRUPTIONS_TAG, InvalidSpotTag, SpotPolicy,
                                            TaggedInterruptions, tagged_interruptions)


def tags(**values) -> list[dict]:
    keys = {"count": INTERRUPTIONS_TAG, "after": AFTER_SECONDS_TAG}
    return [{"Key": "team", "Value": "ml"}] + [{"Key": keys[k], "Value": v} for k, v in values.items()]


@pytest.mark.parametrize("given, asked", [
    ({}, TaggedInterruptions(0, None)),
    ({"count": "2"}, TaggedInterruptions(2, None)),
    ({"count": "0"}, TaggedInterruptions(0, None)),
    ({"after": "1"}, TaggedInterruptions(1, 1.0)),  # the time alone: one interruption
    ({"after": "0.25", "count": "3"}, TaggedInterruptions(3, 0.25)),
    ({"after": "2", "count": "0"}, TaggedInterruptions(0, 2.0)),
])
def test_what_the_tags_ask_for(given, asked):
    assert tagged_interruptions(tags(**given)) == asked


SECONDS = "must be a positive number of seconds"
COUNT = "must be a whole number of interruptions, 0 or more"


@pytest.mark.parametrize("given, tag, expected, value", [
    ({"after": "soon"}, AFTER_SECONDS_TAG, SECONDS, "soon"),
    ({"after": "0"}, AFTER_SECONDS_TAG, SECONDS, "0"),
    ({"after": "-1.5"}, AFTER_SECONDS_TAG, SECONDS, "-1.5"),
    ({"after": "nan"}, AFTER_SECONDS_TAG, SECONDS, "nan"),
    ({"after": "inf"}, AFTER_SECONDS_TAG, SECONDS, "inf"),
    ({"after": ""}, AFTER_SECONDS_TAG, SECONDS, ""),
    ({"count": "two"}, INTERRUPTIONS_TAG, COUNT, "two"),
    ({"count": "-1"}, INTERRUPTIONS_TAG, COUNT, "-1"),
    ({"count": "1.5"}, INTERRUPTIONS_TAG, COUNT, "1.5"),
    ({"count": "x", "after": "1"}, INTERRUPTIONS_TAG, COUNT, "x"),
])
def test_a_value_the_tag_cannot_mean_is_refused_naming_the_tag(given, tag, expected, value):
    with pytest.raises(InvalidSpotTag) as info:
        tagged_interruptions(tags(**given))
    assert str(info.value).startswith(f"The value of tag {tag} {expected}")
    assert str(info.value).endswith(f"not {value!r}.")


def policy(count=0, after=None, done=0, rate=0.0) -> SpotPolicy:
    return SpotPolicy("job", TaggedInterruptions(count, after), done, rate, seed=0)


def test_without_the_time_tag_each_tagged_interruption_follows_a_checkpoint():
    spot = policy(count=2)
    assert not spot.interrupt_while_running(1e6)
    assert [spot.interrupt_after_checkpoint() for _ in range(3)] == [True, True, False]


def test_with_the_time_tag_interruptions_come_by_time_not_by_checkpoint():
    spot = policy(count=2, after=1.0)
    assert not spot.interrupt_after_checkpoint()  # a checkpoint no longer triggers a tagged one
    assert not spot.interrupt_while_running(0.99)
    assert spot.interrupt_while_running(1.0)  # the first attempt, T seconds in
    assert not spot.interrupt_while_running(0.2)  # the second attempt, just started
    assert spot.interrupt_while_running(1.3)
    assert not spot.interrupt_while_running(60.0)  # two done: the third attempt runs to its end


def test_interruptions_already_done_count_against_the_tag():
    spot = policy(count=2, after=0.5, done=1)  # e.g. labcloud restarted after the first one
    assert spot.interrupt_while_running(0.5)
    assert not spot.interrupt_while_running(0.5)
    assert not policy(count=1, done=1).interrupt_after_checkpoint()


def test_the_random_rate_still_follows_checkpoints_with_the_time_tag_and_leaves_the_count_alone():
    spot = policy(count=1, after=1.0, rate=1.0)
    assert spot.interrupt_after_checkpoint()
    assert spot.interrupt_while_running(1.0)  # the tagged interruption is still to come
