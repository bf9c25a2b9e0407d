"""Every LABCLOUD_* variable is read in labcloud/core/settings.py and documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labcloud.core import settings

REPO = Path(__file__).resolve().parents[2]
LABCLOUD = REPO / "labcloud"


def test_the_readme_lists_every_setting_as_the_module_does():
    assert settings.table() in (REPO / "README.md").read_text()


def test_no_module_but_settings_reads_a_labcloud_variable():
    reads = re.compile(r"(environ(\.get)?\(|getenv\(|environ\[)\s*[\"']LABCLOUD_")
    offenders = [str(path.relative_to(REPO)) for path in LABCLOUD.rglob("*.py")
                 if path.name != "settings.py" and reads.search(path.read_text())]
    assert offenders == []


def test_every_labcloud_variable_named_in_the_code_is_a_setting():
    named = {m for path in LABCLOUD.rglob("*.py") for m in re.findall(r"LABCLOUD_[A-Z_]+", path.read_text())}
    assert named - set(settings.VARIABLES) == set()


def test_values_are_parsed_when_settings_are_made_and_bad_ones_say_what_to_fix():
    made = settings.Settings.from_environ({"LABCLOUD_STOP_GRACE_SECONDS": "5", "LABCLOUD_LAUNCHER": "0"})
    assert made.stop_grace_seconds == 5.0 and made.launcher is False
    assert settings.Settings.from_environ({}).spot_price_ratio == 0.3
    with pytest.raises(ValueError, match="LABCLOUD_SPOT_SEED='x' is not valid"):
        settings.Settings.from_environ({"LABCLOUD_SPOT_SEED": "x"})
