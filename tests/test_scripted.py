"""The scripted handover baseline succeeds in at least 18 of 20 seeds."""
from __future__ import annotations

from simulator.policies import make_policy
from tests.conftest import run_policy


def test_scripted_handover_succeeds_in_18_of_20_seeds(handover_env):
    policy = make_policy("scripted", handover_env)
    outcomes = {}
    for seed in range(20):
        steps, info, _ = run_policy(handover_env, policy, seed)
        outcomes[seed] = (info["success"], info["phase"], round(info["time"], 2))
    print("seed: (success, final phase, time s)", outcomes)
    successes = sum(v[0] for v in outcomes.values())
    assert successes >= 18, outcomes
