"""The rules that decide which ABExperiment a model serves (leadscore.operator.claims), pure."""

from __future__ import annotations

from leadscore.api.abexperiment import ServingClaim
from leadscore.api.leadscoringmodel import ExperimentBinding
from leadscore.operator.claims import ExperimentIntent, intent_of, out_of_step, released, waiting

CLAIM = ServingClaim(assignment="sticky", control="v1", treatment="v2", traffic_percent=20)


def intent(name, created="2026-03-01T00:00:00Z", claim=CLAIM, winner=None):
    return ExperimentIntent(name=name, created=created, claim=claim, winner_version=winner)


def bound(name):
    return ExperimentBinding(name=name, **CLAIM.model_dump())


def test_intent_is_read_from_the_experiments_metadata_and_status():
    found = intent_of({"name": "x", "creationTimestamp": "2026-03-01T00:00:00Z"},
                      {"claim": CLAIM.to_wire(), "winnerVersion": None})
    assert found == intent("x")
    assert intent_of({"name": "y"}, {"winnerVersion": "v2"}) == intent("y", created="", claim=None, winner="v2")


def test_claims_are_served_oldest_first_then_by_name():
    claims = [intent("b", "2026-03-02T00:00:00Z"), intent("c", "2026-03-01T00:00:00Z"),
              intent("a", "2026-03-02T00:00:00Z"), intent("done", claim=None)]
    assert [i.name for i in waiting(claims)] == ["c", "a", "b"]


def test_the_bound_experiment_is_released_with_its_winner_once_its_claim_is_withdrawn():
    assert released(bound("x"), [intent("x")]) is None  # still running
    assert released(bound("x"), [intent("x", claim=None, winner="v2")]).winner_version == "v2"
    assert released(None, [intent("x", claim=None)]) is None


def test_a_deleted_bound_experiment_is_released_without_a_winner():
    gone = released(bound("x"), [intent("other")])
    assert gone is not None and (gone.name, gone.winner_version) == ("x", None)


def test_model_is_out_of_step_only_when_there_is_a_claim_to_serve_or_one_to_let_go():
    assert not out_of_step(None, [])
    assert not out_of_step(None, [intent("x", claim=None, winner="v2")])  # ended before it was served
    assert out_of_step(None, [intent("x")])
    assert not out_of_step(bound("x"), [intent("x"), intent("y")])  # y waits for x
    assert out_of_step(bound("x"), [intent("x", claim=None)])
    assert out_of_step(bound("x"), [])
