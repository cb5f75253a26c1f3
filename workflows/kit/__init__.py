"""A saga kit that names no business: steps declared with their options and undo, run keyed and recorded;
compensation in reverse, shielded from cancellation; a workbench that parks a step for a person; every
operator decision recorded, refused ones with the reason. A business saga has a `Saga` and configures it.
"""

from workflows.kit.config import Config, Ledger, Versions, ask_at_start
from workflows.kit.options import Patience, Retry
from workflows.kit.saga import COMPENSATION_FAILED, TERMINAL, Saga, SagaStopped
from workflows.kit.shield import shielded
from workflows.kit.step import Call, Later, Step, describe

__all__ = [
    "COMPENSATION_FAILED",
    "TERMINAL",
    "Call",
    "Config",
    "Later",
    "Ledger",
    "Patience",
    "Retry",
    "Saga",
    "SagaStopped",
    "Step",
    "Versions",
    "ask_at_start",
    "describe",
    "shielded",
]
