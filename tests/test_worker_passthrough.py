"""Every module the worker passes through its sandbox exists: a stale name silently costs every saga a re-import."""

from __future__ import annotations

import importlib

import pytest

from workers.worker import PASSTHROUGH


@pytest.mark.parametrize("module", PASSTHROUGH)
def test_each_passed_through_module_exists(module):
    importlib.import_module(module)
