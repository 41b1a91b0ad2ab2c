"""A/B statistics and the decision rule: pure functions (numpy, scipy, pydantic; no I/O).

The operator calls ``decide`` and ``status_fields``; the CLI and the demo call ``decide`` and
``leadscore.experiments.report.render_report`` (which alone imports matplotlib and jinja2).
See docs/experiments.md for the methods and what every status field means.
"""

from leadscore.experiments.decision import (
    ArmResult,
    Decision,
    ExperimentAnalysis,
    ValueResult,
    decide,
    status_fields,
)
from leadscore.experiments.power import (
    AdjustedPlan,
    ExperimentPlan,
    plan_adjusted,
    plan_experiment,
    plan_mean_experiment,
)
from leadscore.experiments.proportions import (
    Alternative,
    ArmCounts,
    Interval,
    ZTest,
    difference_interval,
    lift_interval,
    relative_lift,
    two_proportion_ztest,
    wilson_interval,
)
from leadscore.experiments.settings import ExperimentSettings, Metric, parse_duration
from leadscore.experiments.simulation import LeadPool, Procedure, SimulationResult, simulate_designs, simulate_peeking
from leadscore.experiments.srm import srm_p_value
from leadscore.experiments.value import ValueAggregate, WelchTest, bootstrap_difference_interval, welch_test

__all__ = [
    "AdjustedPlan",
    "Alternative",
    "ArmCounts",
    "ArmResult",
    "Decision",
    "ExperimentAnalysis",
    "ExperimentPlan",
    "ExperimentSettings",
    "Interval",
    "LeadPool",
    "Metric",
    "Procedure",
    "SimulationResult",
    "ValueAggregate",
    "ValueResult",
    "WelchTest",
    "ZTest",
    "bootstrap_difference_interval",
    "decide",
    "difference_interval",
    "lift_interval",
    "parse_duration",
    "plan_adjusted",
    "plan_experiment",
    "plan_mean_experiment",
    "relative_lift",
    "simulate_designs",
    "simulate_peeking",
    "srm_p_value",
    "status_fields",
    "two_proportion_ztest",
    "welch_test",
    "wilson_interval",
]
