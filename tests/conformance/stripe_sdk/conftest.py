"""The package's fixtures, from fixtures.py (where tests outside the package import them from too)."""

from tests.conformance.stripe_sdk.fixtures import _no_faults_left, client, recorder, spec, stripe_sim

__all__ = ["_no_faults_left", "client", "recorder", "spec", "stripe_sim"]
