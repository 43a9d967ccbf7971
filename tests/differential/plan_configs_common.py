"""What the plan_configs_*.py modules share: the official seeds and the configuration format
record_plan.py runs."""

from __future__ import annotations

Q_SEED = 2085463073848966840
S_SEED = 2747215439041700203
C_SEED = 16159082839903944936
TV6_ACC_SEED = 720381539243781796


def cfg(name: str, scenario: str, mode: str, total: int, perf: int, **settings: object) -> dict:
    return {
        "name": name,
        "scenario": scenario,
        "mode": mode,
        "total": total,
        "perf": perf,
        "settings": settings,
    }


def official_seeds(**extra: object) -> dict:
    return dict(
        qsl_rng_seed=Q_SEED, sample_index_rng_seed=S_SEED, schedule_rng_seed=C_SEED, **extra
    )
