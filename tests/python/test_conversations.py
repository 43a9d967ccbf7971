"""Multi-turn conversations (``loadgen.Conversations``, docs/load-models.md): the exact schedule
an in-process SUT sees for fixed seeds (which samples, in which order), each turn issued only
after the previous turn of its conversation was answered and its think time passed, the users
held; the chat history the endpoint client actually sends (captured by the fault server: the
earlier user messages and the answers the server gave); the conversation dataset formats; and
bad input refused before any load (a malformed line with its number, zero users, a QSL without
conversations)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import loadgen
import pytest
from delayed_sut import DelayedSut, run_with_delayed_sut
from loadgen.__main__ import main as cli_main
from loadgen.net.datasets import DatasetError, load_conversations
from loadgen.net.endpoint import Endpoint, EndpointSut, endpoint_qsl
from loadgen.net.requests import build_bodies
from servers.fault_server import FaultServer
from servers.fixtures import LlamaServer

pytestmark = pytest.mark.usefixtures("hang_watchdog")

SERVER = loadgen.Settings(
    scenario=loadgen.Scenario.SERVER, schedule_rng_seed=7, sample_index_rng_seed=11
)
# Conversation c's turns are samples 10c .. 10c + turns - 1 (the QSL holds 64 samples, all
# loaded: every turn must be).
TURNS = (3, 1, 4, 2, 2, 3)
CONVERSATIONS = tuple(tuple(range(10 * c, 10 * c + n)) for c, n in enumerate(TURNS))


def run_conversations(
    load: loadgen.Conversations, tmp_path: Path, latency_s: float = 0.002
) -> tuple[loadgen.RunResult, DelayedSut]:
    return run_with_delayed_sut(SERVER, loadgen.InMemoryQsl(64, 64), load, tmp_path, latency_s)


def planned_order(load: loadgen.Conversations) -> list[int]:
    """The conversations in the order the plan starts them (its turns, conversation-major)."""
    plan = loadgen.plan(SERVER, 64, 64, load=load)
    firsts = [int(s) for s in plan["sample_index"] if int(s) % 10 == 0]
    return [s // 10 for s in firsts]


def test_one_user_gets_the_planned_turns_in_order_each_after_its_answer_and_think(
    tmp_path: Path,
) -> None:
    think = 0.01
    load = loadgen.Conversations(users=1, think_time_s=think, conversations=CONVERSATIONS)
    plan = loadgen.plan(SERVER, 64, 64, load=load)
    result, sut = run_conversations(load, tmp_path)
    # Exactly the plan: which samples, in which order (one user runs them one after another).
    assert [s for s, _ in sut.issued] == [int(s) for s in plan["sample_index"]]
    assert sorted(s for s, _ in sut.issued) == sorted(s for c in CONVERSATIONS for s in c)
    assert sut.max_in_flight == 1
    for (previous, _), (sample, at) in zip(sut.issued, sut.issued[1:]):
        gap = at - sut.answered[previous]
        # Within a conversation the think time passes after the answer; a new conversation
        # starts once the previous one's last answer is in.
        assert gap >= (think if sample // 10 == previous // 10 else 0.0), sample
    (stage,) = result.stages
    assert stage.kind == "conversations" and stage.concurrency == 1
    assert stage.queries_issued == stage.samples_completed == sum(TURNS)
    assert stage.conversations_planned == stage.conversations_started == len(TURNS)
    assert stage.conversations_completed == len(TURNS)


def test_users_run_that_many_conversations_at_once_in_the_seeded_order(tmp_path: Path) -> None:
    think = 0.005
    load = loadgen.Conversations(users=3, think_time_s=think, conversations=CONVERSATIONS)
    order = planned_order(load)
    assert sorted(order) == list(range(len(TURNS)))
    result, sut = run_conversations(load, tmp_path)
    issued_at = dict(sut.issued)
    assert len(issued_at) == sum(TURNS)
    # Conversations start in the seeded order; each turn follows its predecessor's answer.
    assert [s // 10 for s, _ in sut.issued if s % 10 == 0] == order
    for sample, at in sut.issued:
        if sample % 10:
            assert at - sut.answered[sample - 1] >= think, sample
    assert sut.max_in_flight == 3  # three users: reached, never exceeded
    spans = [(issued_at[c[0]], sut.answered[c[-1]]) for c in CONVERSATIONS]
    for _, at in sut.issued:
        assert sum(first <= at < last for first, last in spans) <= 3
    (stage,) = result.stages
    assert stage.conversations_completed == len(TURNS)
    # The same seeds give the same order; another schedule seed gives another one (6! orders).
    assert planned_order(load) == order
    other = loadgen.plan(SERVER.replace(schedule_rng_seed=8), 64, 64, load=load)["sample_index"]
    assert [int(s) // 10 for s in other if int(s) % 10 == 0] != order


def test_a_count_runs_the_first_conversations_of_the_order(tmp_path: Path) -> None:
    everything = planned_order(loadgen.Conversations(2, conversations=CONVERSATIONS))
    load = loadgen.Conversations(2, count=3, conversations=CONVERSATIONS)
    assert planned_order(load) == everything[:3]
    result, sut = run_conversations(load, tmp_path)
    assert {s // 10 for s, _ in sut.issued} == set(everything[:3])
    assert result.stages[0].conversations_completed == 3


def test_exponential_think_times_come_from_the_seed() -> None:
    load = loadgen.Conversations(
        1, think_time_s=0.5, think_time="exponential", conversations=CONVERSATIONS
    )
    a = loadgen.plan(SERVER, 64, 64, load=load)
    b = loadgen.plan(SERVER, 64, 64, load=load)
    assert bytes(a["sample_index"]) == bytes(b["sample_index"])


def test_bad_conversations_are_refused_before_any_load(tmp_path: Path) -> None:
    with pytest.raises(loadgen.SettingsError, match="users must be an int >= 1"):
        loadgen.Conversations(0, conversations=CONVERSATIONS)
    with pytest.raises(loadgen.SettingsError, match="think_time_s must be >= 0"):
        loadgen.Conversations(1, think_time_s=-1, conversations=CONVERSATIONS)
    with pytest.raises(loadgen.SettingsError, match="conversation 1 has no turns"):
        loadgen.Conversations(1, conversations=[[0], []])
    with pytest.raises(loadgen.SettingsError, match="only 6 conversations"):
        loadgen.Conversations(1, count=7, conversations=CONVERSATIONS)
    sut = DelayedSut()
    try:
        # The QSL has no conversations, and none were given.
        with pytest.raises(loadgen.SettingsError, match="no conversations"):
            loadgen.run(
                sut,
                loadgen.InMemoryQsl(64, 64),
                SERVER,
                log_dir=tmp_path,
                load=loadgen.Conversations(2),
            )
        # A turn whose sample is not loaded (16 of 64 are).
        with pytest.raises(loadgen.SettingsError, match="not in the loaded set"):
            loadgen.run(
                sut,
                loadgen.InMemoryQsl(64, 16),
                SERVER,
                log_dir=tmp_path,
                load=loadgen.Conversations(2, conversations=CONVERSATIONS),
            )
    finally:
        sut.close()
    assert sut.issued == []  # nothing reached the SUT


# --------------------------------------------------------------------------------- datasets


def test_conversation_files_load_in_both_forms_and_bad_lines_name_their_number(
    tmp_path: Path,
) -> None:
    path = tmp_path / "conversations.jsonl"
    path.write_text(
        json.dumps({"turns": ["hello", {"content": "more", "max_tokens": 5}], "system": "be brief"})
        + "\n\n"
        + json.dumps(
            {
                "id": "x1",
                "conversations": [
                    {"from": "system", "value": "sys"},
                    {"from": "human", "value": "q1"},
                    {"from": "gpt", "value": "recorded answer"},
                    {"from": "human", "value": "q2"},
                    {"from": "gpt", "value": "another"},
                ],
            }
        )
        + "\n"
    )
    data = load_conversations(path, max_tokens=9)
    assert data.conversations == ((0, 1), (2, 3))
    assert [s.turn for s in data] == [0, 1, 0, 1]
    assert [s.conversation for s in data] == [0, 0, 1, 1]
    assert data[0].messages == (
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
    )
    assert [s.max_tokens for s in data] == [9, 5, 9, 9]
    assert data[3].messages == (
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "q2"},
    )
    for bad, why in (
        ('{"turns": "not a list"}', "'turns' must be a list"),
        ('{"turns": []}', "no user turn"),
        ('{"conversations": [{"from": "alien", "value": "x"}]}', "unknown speaker"),
        ('{"turns": ["a"], "colour": 1}', "unknown key"),
        ('{"turns": ["a"', "not valid JSON"),
    ):
        path.write_text('{"turns": ["fine"]}\n' + bad + "\n")
        with pytest.raises(DatasetError, match=rf"conversations.jsonl:2: .*{why}"):
            load_conversations(path)


def test_a_chat_body_locates_each_turns_user_message(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"turns": ['caf\u00e9 "1"', "two"], "system": "s"}) + "\n")
    data = load_conversations(path)
    bodies = build_bodies("openai-chat", data, model="m")
    assert len(bodies.conversation_turns) == 2
    for sample, conversation, turn, begin, end in bodies.conversation_turns:
        assert (conversation, turn) == (0, sample)
        message = json.loads(bodies.bodies[sample][begin:end])
        assert message == {"role": "user", "content": data[sample].messages[-1]["content"]}
    # Other apis send each turn alone.
    assert (
        build_bodies("triton-generate", load_conversations_as_prompts(data)).conversation_turns
        == ()
    )


def load_conversations_as_prompts(data: Any) -> list[Any]:
    from loadgen.net.datasets import Sample

    return [Sample(prompt=s.messages[-1]["content"], conversation=s.conversation) for s in data]


# --------------------------------------------------------------------------- the chat history


def write_conversations(path: Path) -> Path:
    # max_tokens differ per turn, so the fault server's answers ("t0 t1 ...") differ per turn.
    lines = [
        {
            "turns": [
                {"content": "a0", "max_tokens": 2},
                {"content": "a1", "max_tokens": 3},
                {"content": "a2", "max_tokens": 1},
            ],
            "system": "sys",
        },
        {"turns": [{"content": "b0", "max_tokens": 4}, {"content": "b1", "max_tokens": 2}]},
        {"turns": [{"content": "c0", "max_tokens": 1}]},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def answer(tokens: int) -> str:
    return "".join(f"t{i} " for i in range(tokens))  # what the fault server sends back


@pytest.mark.parametrize("stream", [True, False])
def test_later_turns_carry_the_history_with_the_servers_answers(
    fault_server: FaultServer, tmp_path: Path, stream: bool
) -> None:
    data = load_conversations(write_conversations(tmp_path / "c.jsonl"))
    before = len(fault_server.requests)
    endpoint = Endpoint(fault_server.url, api="openai-chat", model="ok", stream=stream)
    with EndpointSut(endpoint, data) as sut:
        qsl = endpoint_qsl(data)
        result = loadgen.run(
            sut,
            qsl,
            SERVER,
            log_dir=tmp_path,
            load=loadgen.Conversations(users=2, think_time_s=0.001),
            progress=False,
        )
        qsl.close()
    sent = {
        tuple(m["content"] for m in r["messages"] if m["role"] == "user")[-1]: r["messages"]
        for r in fault_server.requests[before:]
    }
    assert len(sent) == 6 == result.stages[0].samples_completed
    assert result.stages[0].conversations_completed == 3
    sys = {"role": "system", "content": "sys"}

    def user(text: str) -> dict[str, str]:
        return {"role": "user", "content": text}

    def assistant(tokens: int) -> dict[str, str]:
        return {"role": "assistant", "content": answer(tokens)}

    assert sent["a0"] == [sys, user("a0")]
    assert sent["a1"] == [sys, user("a0"), assistant(2), user("a1")]
    assert sent["a2"] == [sys, user("a0"), assistant(2), user("a1"), assistant(3), user("a2")]
    assert sent["b1"] == [user("b0"), assistant(4), user("b1")]
    assert sent["c0"] == [user("c0")]


def test_bench_runs_conversations_from_the_command_line(
    fault_server: FaultServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_conversations(tmp_path / "c.jsonl")
    argv = ["bench", fault_server.url, "--api", "openai-chat", "--model", "ok", "--no-report"]
    rc = cli_main(
        [
            *argv,
            "--dataset",
            str(path),
            "--conversations",
            "2",
            "--think-time-s",
            "0.001",
            "--log-dir",
            str(tmp_path / "run"),
        ]
    )
    out = capsys.readouterr().out
    assert rc in (0, 1)  # Server's verdict on 6 queries is not the question
    assert "conversations 3/3 completed of 3" in out
    # Zero users: refused before anything is sent.
    before = len(fault_server.requests)
    rc = cli_main(
        [*argv, "--dataset", str(path), "--conversations", "0", "--log-dir", str(tmp_path / "r2")]
    )
    assert rc == 2 and "users must be an int >= 1" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"turns": ["a"]}\n{"turns": 5}\n')
    rc = cli_main(
        [*argv, "--dataset", str(bad), "--conversations", "2", "--log-dir", str(tmp_path / "r3")]
    )
    assert rc == 2 and "bad.jsonl:2:" in capsys.readouterr().err
    assert len(fault_server.requests) == before


def test_conversations_against_llama_cpp(llama_server: LlamaServer, tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        "".join(
            json.dumps({"turns": [f"question {c}.{t}" for t in range(3)], "max_tokens": 4}) + "\n"
            for c in range(3)
        )
    )
    data = load_conversations(path)
    endpoint = Endpoint(llama_server.url, api="openai-chat", model=llama_server.model)
    with EndpointSut(endpoint, data) as sut:
        qsl = endpoint_qsl(data)
        result = loadgen.run(
            sut, qsl, SERVER, log_dir=tmp_path, load=loadgen.Conversations(2), progress=False
        )
        qsl.close()
        stats = sut.stats()
    assert stats["failed"] == 0, stats.get("last_failure")
    (stage,) = result.stages
    assert stage.samples_completed == 9 and stage.conversations_completed == 3
